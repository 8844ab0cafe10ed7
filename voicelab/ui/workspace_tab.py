"""What each tab of the main window is given, and the one question its "…" menu asks.

The Dataset, Training and Generate tabs are each made from the workspace they show, the
window's `JobManager` (their work runs as jobs there, so the status bar, Cancel and the
close prompt see it) and the window's one `AudioOutput` (playing in one tab stops what
plays in another); a tab made alone, as tests and bench/ make them, plays on the system's
output. The tabs' mixins (clip actions, transfers, live training, voice imports) rely on
these attributes, so they are set in one place. A tab's item menu (widgets/item_menu.py)
refuses to rename or delete what one of this window's jobs holds; `job_holding` answers it.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from voicelab.core.workspace import Workspace
from voicelab.ui.audio_out import AudioOutput, default_output
from voicelab.ui.workers import JobManager


class WorkspaceTab(QWidget):
    """A main-window tab: `workspace`, `jobs` and `output` (see the module docstring)."""

    def __init__(self, workspace: Workspace, jobs: JobManager, audio_output: AudioOutput | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.jobs = jobs
        self.output = audio_output if audio_output is not None else default_output()

    def job_holding(self, kind: str, name: str) -> str | None:
        """The title of this window's job that holds the item (`kind`, `name`), if any."""
        job = self.jobs.holder(kind, name)
        return job.title if job is not None else None
