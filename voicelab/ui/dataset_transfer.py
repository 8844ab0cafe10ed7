"""What goes into a dataset and out of it: recordings, and LJSpeech folders.

A mixin of `DatasetTab`, kept apart so the tab module holds the layout, the datasets and the
clips' state, and this one the ways in and out: recordings dropped on the tab or added with
the file dialog (a background job slices and transcribes them; with no dataset shown the
user names the new one first), an LJSpeech folder imported as a new dataset, and the
dataset exported as one. It uses the tab's workspace, jobs, prepare panel, pages and the
`job` it shows the progress of, and its dataset methods (`new_dataset`, `reload_datasets`,
`_free_name`, `show_banner`, `_update_summary`, `_update_buttons`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog

from voicelab.core.dataset.store import dataset_folder
from voicelab.core.errors import VoiceLabError
from voicelab.core.names import inside
from voicelab.ui.error_dialog import show_error
from voicelab.ui.widgets.name_prompt import ask_name
from voicelab.ui.workers import Job


def local_paths(mime) -> list[Path]:
    """The local files and folders in a drop."""
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []


class DatasetTransfer:
    """Recordings in, LJSpeech folders in and out (see the module docstring)."""

    # -- adding recordings ------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    def _add_clicked(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Add recordings", str(Path.home()),
            "Audio and video (*.wav *.flac *.ogg *.mp3 *.m4a *.aac *.opus *.webm *.mp4 *.mkv);;All files (*)")
        if files:
            self.add_paths([Path(f) for f in files])

    def add_paths(self, paths: list[Path]) -> Job | None:
        """Import recordings (none: continue unfinished ones) into the shown dataset.

        Nothing is made before it can work and is wanted: a Whisper model that cannot
        transcribe the language stops here with the advice row's way out, and with no
        dataset shown the user names the new one first (`ask_dataset_name`), then the
        import goes on. Returns the job, or None when it did not start (yet)."""
        if self.job is not None:
            self.show_banner("Recordings are already being processed; wait for them or cancel first.")
            return None
        options = self.panel.options(self.workspace.settings)
        if options.mode == "transcribe":
            advice = self.asr_choice.check()
            if advice.blocking:
                self.show_banner("Nothing was imported: the Whisper model cannot transcribe these "
                                 "recordings yet (the note above says why). Use its button, then add "
                                 "the recordings again.")
                return None
        if self.dataset is None:
            if paths:
                self.ask_dataset_name(paths)
            return None
        from voicelab.core.dataset.pipeline import add_recordings

        self.banner.setVisible(False)
        self.pages.setCurrentIndex(1)
        job = self.jobs.run(f"Preparing dataset '{self.dataset.name}'", add_recordings,
                            self.dataset, list(paths), options, workspace=self.workspace,
                            holds=[("dataset", self.dataset.name)])
        self._track(job, "Reading recordings…")
        job.finished.connect(self._prepared)
        return job

    def ask_dataset_name(self, paths: list[Path]) -> QInputDialog:
        """Propose a name from the recordings; the dataset is made only when the user accepts,
        and then the import goes on (a drop returns at once: see `name_prompt`)."""
        if self.name_dialog is not None and self.name_dialog.isVisible():
            return self.name_dialog
        stem = paths[0].stem if paths[0].is_file() else paths[0].name
        dialog = ask_name(self, "New dataset", "These recordings start a new dataset. Its name:",
                          self._free_name(stem or "My voice"), "Create and add",
                          lambda name: self._named(name, paths), "newDatasetName")
        dialog.destroyed.connect(lambda: self.name_dialog is dialog and setattr(self, "name_dialog", None))
        self.name_dialog = dialog
        return dialog

    def _named(self, name: str, paths: list[Path]) -> None:
        if self.new_dataset(name) is not None:  # a bad name was said in an error box
            self.add_paths(paths)

    def _track(self, job: Job, message: str) -> None:
        self.job = job
        self.panel.start(message)
        job.progress.connect(self.panel.update)
        job.failed.connect(lambda message, details: show_error(self, "Dataset", message, details))
        job.cancelled.connect(lambda: self.show_banner("Cancelled. Everything finished so far is kept; "
                                                       "“Process remaining” continues."))
        job.ended.connect(self._job_ended)
        self._update_buttons()

    def _prepared(self, report) -> None:
        problems = getattr(report, "files_skipped", None) or []
        warnings = getattr(report, "warnings", None) or []
        if problems:
            lines = "\n".join(f"• {Path(p.path).name}: {p.reason}" for p in problems[:8])
            more = f"\n…and {len(problems) - 8} more" if len(problems) > 8 else ""
            self.show_banner(f"{len(problems)} file(s) skipped:\n{lines}{more}")
        elif warnings:
            self.show_banner("\n".join(f"⚠ {w}" for w in warnings[:4]))

    def _job_ended(self) -> None:
        self.job = None
        self.panel.stop()
        self.model.refresh()
        self._update_summary()
        self._update_buttons()
        self.datasetsChanged.emit()  # its clip count and length changed

    # -- LJSpeech folders -------------------------------------------------------------------
    def _export_clicked(self) -> None:
        if self.dataset is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export as an LJSpeech folder", str(Path.home()))
        if folder:
            try:  # the dataset's name becomes a folder inside the one chosen, never elsewhere
                self.export_to(inside(Path(folder), self.dataset.name, "dataset"))
            except VoiceLabError as exc:
                show_error(self, "Cannot export dataset", str(exc))

    def export_to(self, folder: Path) -> Job:
        from voicelab.core.dataset.ljspeech import export_ljspeech

        job = self.jobs.run(f"Exporting '{self.dataset.name}'", export_ljspeech, self.dataset, folder,
                            holds=[("dataset", self.dataset.name)])
        job.finished.connect(lambda _r: self.show_banner(f"Exported to {folder}"))
        job.failed.connect(lambda message, details: show_error(self, "Export failed", message, details))
        return job

    def _import_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import an LJSpeech folder (wavs/ + metadata.csv)",
                                                  str(Path.home()))
        if folder:
            self.import_from(Path(folder))

    def import_from(self, folder: Path) -> Job | None:
        from voicelab.core.dataset.ljspeech import import_ljspeech

        name = self._free_name(folder.name)
        try:
            target = dataset_folder(self.workspace, name)
        except VoiceLabError as exc:
            show_error(self, "Cannot import dataset", f"{exc}\n\nRename the folder {folder} and import it again.")
            return None
        job = self.jobs.run(f"Importing {folder.name}", import_ljspeech, folder,
                            target, name=name, holds=[("dataset", name)])
        job.finished.connect(lambda _r: (self.reload_datasets(select=name), self.datasetsChanged.emit()))
        job.failed.connect(lambda message, details: show_error(self, "Import failed", message, details))
        return job
