"""The base voice of a new run: list what is on disk, download more, and check the choice.

Ties the form's base-voice fields to the model manager. The list of downloaded Piper
checkpoints (and registered local .ckpt files) and of the workspace's voices (.onnx, rebuilt
into a trainable model when chosen) is read off the UI thread; a download runs
as a job with its progress bar in the form. A chosen base is inspected once in a job
(`inspect_base` loads it safely and checksums it: seconds for a real checkpoint), then
`check_base_quality` says, each time the quality changes, whether it fits — and if not,
which quality to pick. When the base fits exactly one quality, that quality is chosen.
A base that fits is described in a person's words by `base_summary.summarize_base`, under
the name the list gives it; the technical facts go behind the form's Details button.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QWidget

from voicelab.core.workspace import Workspace
from voicelab.ui import training_jobs as tj
from voicelab.ui.widgets.train_form import TrainForm
from voicelab.ui.workers import Job, JobManager

SCRATCH_NOTE = ("From scratch: needs hours of speech and days of GPU time. A base voice gets "
                "there with minutes of speech.")


def find_bases_and_voices(workspace: Workspace, dataset: Path | None = None, *, progress: Any,
                          cancel: Any) -> tuple[list, list, Path | None, dict[str, str]]:
    """Downloaded checkpoints, then every voice of the workspace (joe, downloaded, exported):
    a voice's .onnx is rebuilt into a trainable model when it is chosen. Then the base a new
    run on `dataset` starts from unless the user picks another (`default_base`), and the
    name of each base (path → "Joe (US English)"), to speak of it."""
    from voicelab.core.voice_bases import checkpoint_bases, default_base, voice_bases

    checkpoints, missing = checkpoint_bases(workspace)
    found = [(base.label, base.path, base.name) for base in checkpoints]
    found += [(base.label, base.path, base.name) for base in voice_bases(workspace)]
    return ([(label, path) for label, path, _name in found], missing, default_base(workspace, dataset),
            {str(path): name for _label, path, name in found})


class BaseChooser(QObject):
    def __init__(self, workspace: Workspace, jobs: JobManager, form: TrainForm,
                 run_quietly: Callable[..., Job], parent: QWidget) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.jobs = jobs
        self.form = form
        self._quietly = run_quietly
        self._window = parent
        self.infos: dict[str, Any] = {}  # checkpoint path -> BaseInfo
        self.names: dict[str, str] = {}  # checkpoint path -> what the list calls it
        self._select: Path | None = None  # choose this base once the list is read again
        form.dataset_combo.currentIndexChanged.connect(lambda _index: form.base_explicit or self.reload())
        form.baseChanged.connect(self._changed)
        form.qualityChanged.connect(lambda _q: self.check())
        form.changed.connect(self.check)  # the warm-up and speaker the check speaks of
        form.downloadRequested.connect(self.download)
        form.modelsDialogRequested.connect(self.open_models)

    def reload(self) -> None:
        self._quietly(find_bases_and_voices, self.workspace, self.form.dataset_path(), then=self._found)

    def _found(self, found: tuple[list, list, Path | None, dict[str, str]]) -> None:
        present, missing, default, names = found
        self.names.update(names)
        self.form.set_bases(present, missing)
        if self._select is not None:
            self.form.choose_base(self._select)
            self._select = None
        elif default is not None and not self.form.base_explicit:
            self.form.choose_base(default)  # the built-in voice of the dataset's language

    def download(self, entry: Any) -> Job:
        job = self.jobs.run(f"Downloading {entry.name}", tj.download_base, self.workspace, entry)
        self.form.show_download(0, 0, f"Downloading {entry.name}…")
        job.progress.connect(self.form.show_download)
        job.finished.connect(lambda path: setattr(self, "_select", Path(path)))
        job.failed.connect(lambda message, _d: self.form.set_base_status(message, ok=False))
        job.ended.connect(lambda: (self.form.hide_download(), self.reload()))
        return job

    def open_models(self) -> None:
        from voicelab.ui.models_dialog import ModelsDialog

        dialog = ModelsDialog(self.workspace, self.jobs, self._window)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: self.reload())
        dialog.show()

    def _changed(self, path: Path | None) -> None:
        if path is None:
            self.form.set_base_status(SCRATCH_NOTE)
            return
        if str(path) in self.infos:
            self.check()
            return
        self.form.set_base_status(f"Checking {path.name}…")
        # A quick read: off the status bar, and never a reason to ask before quitting.
        self._quietly(tj.inspect_base, path, then=lambda info, p=path: self._inspected(p, info),
                      otherwise=lambda message, p=path: self.form.base_path() == p
                      and self.form.set_base_status(message, ok=False))

    def _inspected(self, path: Path, info: Any) -> None:
        self.infos[str(path)] = info
        if self.form.base_path() != path:
            return
        if info.quality and info.quality != self.form.quality():
            self.form.set_quality(info.quality)  # the only quality this base can seed
        self.check()

    def check(self) -> None:
        """Say whether the chosen base fits the chosen quality (and the run's model shape)."""
        from voicelab.core.training.bases.base import check_base_quality
        from voicelab.core.training.bases.base_summary import summarize_base
        from voicelab.core.training.bases.errors import BaseCheckpointError

        path = self.form.base_path()
        info = self.infos.get(str(path)) if path else None
        if info is None:
            return
        try:
            check_base_quality(info, self.form.quality(), overrides=self.form.extra.get("model"))
        except BaseCheckpointError as error:
            self.form.set_base_status(str(error), ok=False)
            return
        settings = self.form.settings()
        warmup, speaker = (settings.get(key) for key in ("base_warmup_steps", "base_speaker"))
        summary = summarize_base(info, self.names.get(str(path)),  # bad values: the form says so
                                 warmup_steps=warmup if isinstance(warmup, int) else None,
                                 speaker=speaker if isinstance(speaker, int) else None)
        self.form.set_base_status(f"✓ {summary.text}", ok=True, details=summary.details)
