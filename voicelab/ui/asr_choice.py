"""The Whisper model and language: one setting, shown the same in the Dataset tab and Settings.

A change in the Dataset tab's panel is written to the settings file at once; the Settings
dialog edits the same two values, and `show_settings` puts them back into the panel after it
saves. So there is never a "Settings says base.en, the tab uses tiny.en".

Beside them the panel's advice row says what `models_whisper.advise` says: transcribing with
the included tiny.en, with base.en offered in one click and its size; or a model that is not
downloaded; or a language the model cannot hear. The advice is read off the UI thread (the
lookup imports huggingface_hub and reads model folders), except `check`, which an import
calls once the user asked for it, so the answer comes before anything starts. A choice with
a download runs as a job (progress and Cancel in the status bar), then becomes the setting.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, QTimer

from voicelab.core.models_whisper import ModelChoice, WhisperAdvice
from voicelab.core.workspace import Workspace
from voicelab.ui.error_dialog import show_error
from voicelab.ui.widgets.language_combo import fill_languages
from voicelab.ui.widgets.prepare_panel import PreparePanel
from voicelab.ui.workers import Job, JobManager

log = logging.getLogger(__name__)


def read_advice(workspace: Workspace, model: str, language: str, *, progress, cancel) -> tuple:
    """(model, language, advice) for a job: the advice says which choice it answers."""
    from voicelab.core.models import ModelManager
    from voicelab.core.models_whisper import advise

    return model, language, advise(ModelManager(workspace), model, language)


class AsrChoice(QObject):
    """Ties the panel's model and language to the settings and to the advice row."""

    def __init__(self, workspace: Workspace, jobs: JobManager, panel: PreparePanel,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.jobs = jobs
        self.panel = panel
        self.download_job: Job | None = None
        self._reads: set[Job] = set()
        self._shown = False
        panel.model_combo.currentTextChanged.connect(self._picked)
        panel.language_combo.currentIndexChanged.connect(self._picked)
        panel.choiceTaken.connect(self.take)
        panel.installEventFilter(self)  # the first advice is read when the panel first shows

    def eventFilter(self, watched, event) -> bool:
        if watched is self.panel and event.type() == QEvent.Show and not self._shown:
            self._shown = True
            QTimer.singleShot(0, self, self.refresh)  # after the window is up, not before
        return False

    def chosen(self) -> tuple:
        return self.panel.model_combo.currentText(), self.panel.language_combo.currentData()

    # -- the setting ----------------------------------------------------------------------
    def _picked(self, *_args) -> None:
        model, language = self.chosen()
        settings = self.workspace.settings
        if language is not None and (model, language) != (settings.asr_model, settings.asr_language):
            settings.asr_model, settings.asr_language = model, language
            self.workspace.save_settings()
        self.refresh()

    def show_settings(self) -> None:
        """Show the saved setting (after the Settings dialog changed it)."""
        settings = self.workspace.settings
        for combo in (self.panel.model_combo, self.panel.language_combo):
            combo.blockSignals(True)
        self.panel.model_combo.setCurrentText(settings.asr_model)
        fill_languages(self.panel.language_combo, settings.asr_language)
        for combo in (self.panel.model_combo, self.panel.language_combo):
            combo.blockSignals(False)
        self.refresh()

    # -- the advice -----------------------------------------------------------------------
    def refresh(self) -> Job:
        """Read the advice for the shown choice off the UI thread; shown when it arrives."""
        model, language = self.chosen()
        job = Job("whisper advice", read_advice, self.workspace, model, language)
        self._reads.add(job)
        job.finished.connect(self._advised)
        job.failed.connect(lambda message, details: log.warning("Whisper advice: %s\n%s", message, details))
        job.ended.connect(lambda: self._reads.discard(job))
        return job.start()

    def _advised(self, result: tuple) -> None:
        model, language, advice = result
        if (model, language) == self.chosen() and self.download_job is None:
            self.panel.show_advice(advice)

    def check(self) -> WhisperAdvice:
        """The advice for the shown choice, now: an import asks before it starts."""
        from voicelab.core.models import ModelManager
        from voicelab.core.models_whisper import advise

        model, language = self.chosen()
        advice = advise(ModelManager(self.workspace), model, language)
        if self.download_job is None:
            self.panel.show_advice(advice)
        return advice

    # -- one click ------------------------------------------------------------------------
    def take(self, choice: ModelChoice) -> Job | None:
        """Use the choice's model, downloading it first when it needs that."""
        if choice.download is None:
            self.panel.model_combo.setCurrentText(choice.model)  # saved and advised by _picked
            return None
        if self.download_job is not None:
            return None
        from voicelab.core.models import ModelManager

        entry = choice.download
        job = self.jobs.run(f"Downloading {entry.name}", ModelManager(self.workspace).download, entry)
        self.download_job = job
        self.panel.advice_busy(f"Downloading {choice.model}… (progress and Cancel in the status bar)")
        job.finished.connect(lambda _path: self.panel.model_combo.setCurrentText(choice.model))
        job.failed.connect(lambda message, details: show_error(self.panel, "Download failed", message, details))
        job.ended.connect(self._downloaded)
        return job

    def _downloaded(self) -> None:
        self.download_job = None
        self.refresh()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Wait for the advice reads (a download is the job manager's to stop)."""
        for job in list(self._reads):
            job.wait(timeout_ms)
