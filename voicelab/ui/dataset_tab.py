"""The Dataset tab: drop recordings, watch them become clips, review and fix each one.

Thin by design: the store (`voicelab.core.dataset.store`) holds and saves everything, the
pipeline makes clips in a background job, `DatasetEditor` puts edits on the undo stack, and
the clip table is a model over the store. This module lays those out and wires the
buttons, keys and drops to them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from voicelab.core.dataset.store import Dataset, dataset_folder, list_datasets, summarize
from voicelab.core.errors import VoiceLabError
from voicelab.core.names import inside
from voicelab.core.progress import format_duration
from voicelab.core.workspace import Workspace
from voicelab.ui.asr_choice import AsrChoice
from voicelab.ui.audio_out import AudioOutput, default_output
from voicelab.ui.dataset_clip_actions import ClipActions
from voicelab.ui.dataset_edits import DatasetEditor
from voicelab.ui.error_dialog import show_error
from voicelab.ui.guide import GuidePage
from voicelab.ui.widgets.clip_review import ClipReviewPanel
from voicelab.ui.widgets.clip_table import (
    FILTERS,
    TEXT,
    ClipFilterProxy,
    ClipTableModel,
    DoubtfulWordsDelegate,
)
from voicelab.ui.widgets.item_menu import DatasetMenu
from voicelab.ui.widgets.name_prompt import ask_name
from voicelab.ui.widgets.prepare_panel import PreparePanel
from voicelab.ui.workers import Job, JobManager

log = logging.getLogger(__name__)


def local_paths(mime) -> list[Path]:
    """The local files and folders in a drop."""
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []


class DatasetTab(ClipActions, QWidget):
    datasetChanged = Signal(str)  # name of the dataset now shown ("" for none)
    datasetsChanged = Signal()  # made, renamed, deleted or its clips changed: others list them

    def __init__(self, workspace: Workspace, jobs: JobManager, audio_output: AudioOutput | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.jobs = jobs
        self.output = audio_output if audio_output is not None else default_output()
        self.dataset: Dataset | None = None
        self.job: Job | None = None
        self.editor = DatasetEditor(self)
        self.model = ClipTableModel(self)
        self.model.text_editor = lambda clip_id, text: self._edit(self.editor.set_text, clip_id, text)
        self.proxy = ClipFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.audio_input = None  # the studio's microphone; None: the system's (tests set a double)
        self.studio = None
        self.setAcceptDrops(True)
        self._build()
        self.reload_datasets(select=workspace.settings.last_dataset)

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.dataset_combo = QComboBox()
        self.dataset_combo.setMinimumWidth(200)
        self.dataset_combo.currentIndexChanged.connect(self._dataset_chosen)
        label = QLabel("&Dataset")
        label.setBuddy(self.dataset_combo)
        self.new_button = QPushButton("&New…")
        self.new_button.clicked.connect(lambda: self.new_dataset())
        self.add_button = QPushButton("&Add recordings…")
        self.add_button.clicked.connect(self._add_clicked)
        self.record_button = QPushButton("&Record…")
        self.record_button.setToolTip("Read prompts into your microphone; each take is checked at once")
        self.record_button.clicked.connect(self.open_studio)
        self.import_button = QPushButton("Import LJSpeech…")
        self.import_button.clicked.connect(self._import_clicked)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self._export_clicked)
        self.dataset_menu = DatasetMenu(self.workspace, lambda: self.dataset.name if self.dataset else None,
                                        self)
        self.dataset_menu.setObjectName("datasetMenuButton")
        self.dataset_menu.busy = self._dataset_holder
        self.dataset_menu.changed.connect(self._dataset_renamed)
        top = QHBoxLayout()
        for widget in (label, self.dataset_combo, self.dataset_menu, self.new_button, self.add_button,
                       self.record_button, self.import_button, self.export_button):
            top.addWidget(widget)
        top.addStretch(1)

        settings = self.workspace.settings
        self.panel = PreparePanel(settings.asr_model, settings.asr_language)
        self.asr_choice = AsrChoice(self.workspace, self.jobs, self.panel, self)
        self.name_dialog = None  # open while the user names a dataset for dropped recordings
        self.panel.cancelRequested.connect(self.cancel_job)
        self.panel.processRequested.connect(lambda: self.add_paths([]))
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setObjectName("datasetBanner")
        self.banner.setStyleSheet("QLabel#datasetBanner { color: #b45309; }")
        self.banner.setVisible(False)

        self.filter_combo = QComboBox()
        self.filter_combo.addItems(FILTERS)
        self.filter_combo.currentTextChanged.connect(self.proxy.set_mode)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search text or id")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self.proxy.set_search)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Show"))
        filters.addWidget(self.filter_combo)
        filters.addWidget(self.search_edit, 1)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        # Start in recording order (the store's); a click on a header sorts by that column.
        self.table.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)
        self.proxy.sort(-1)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed
                                   | QAbstractItemView.AnyKeyPressed)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(TEXT, QHeaderView.Stretch)
        self.table.setItemDelegateForColumn(TEXT, DoubtfulWordsDelegate(self.table))
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_selected())

        self.review = ClipReviewPanel(self.output, self.editor.stack)
        lower = self.review
        self.source_view = self.review.source_view
        self.play_button, self.split_button = self.review.play_button, self.review.split_button
        self.player_note = self.review.player_note
        self.source_view.boundsEdited.connect(self._bounds_edited)
        for button, slot in ((self.review.play_button, self.toggle_play),
                             (self.review.split_button, self.split_selected),
                             (self.review.merge_button, self.merge_selected),
                             (self.review.retranscribe_button, self.retranscribe_selected),
                             (self.review.exclude_button, self.toggle_excluded),
                             (self.review.delete_button, self.delete_selected)):
            button.clicked.connect(slot)

        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addLayout(filters)
        upper_layout.addWidget(self.table)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(upper)
        splitter.addWidget(lower)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)

        editor_page = QWidget()
        editor_layout = QVBoxLayout(editor_page)
        editor_layout.setContentsMargins(0, 0, 0, 0)
        editor_layout.addWidget(splitter, 1)
        editor_layout.addWidget(self.summary_label)
        self.guide = GuidePage(
            "Build a dataset",
            "Start with recordings of the one voice you want to clone: any common audio or video "
            "format, any length.",
            ["Drop recordings or a folder anywhere on this window.",
             "VoiceLab slices them into utterances and transcribes them with Whisper.",
             "Review each clip: listen (Space), fix the text, exclude bad takes.",
             "Aim for at least 10 minutes of clean speech."],
            [("Add recordings…", self._add_clicked), ("Record your voice…", self.open_studio),
             ("Import an LJSpeech folder…", self._import_clicked)])
        self.pages = QStackedWidget()
        self.pages.addWidget(self.guide)
        self.pages.addWidget(editor_page)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.panel)
        layout.addWidget(self.banner)
        layout.addWidget(self.pages, 1)
        self._shortcuts()
        self._update_buttons()

    def _shortcuts(self) -> None:
        # Table-only keys: while a text cell is being edited, letters and Space type.
        for key, slot in (("Space", self.toggle_play), ("S", self.split_selected),
                          ("M", self.merge_selected), ("R", self.retranscribe_selected),
                          ("E", self.toggle_excluded), ("Delete", self.delete_selected)):
            shortcut = QShortcut(QKeySequence(key), self.table, context=Qt.WidgetShortcut)
            shortcut.activated.connect(slot)
        for sequence, slot in ((QKeySequence.Undo, self.editor.stack.undo),
                               (QKeySequence.Redo, self.editor.stack.redo)):
            shortcut = QShortcut(sequence, self, context=Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    # -- datasets ---------------------------------------------------------------------------
    def reload_datasets(self, select: str | None = None) -> None:
        names = [info.name for info in list_datasets(self.workspace)]
        current = select if select in names else (self.dataset.name if self.dataset else None)
        self.dataset_combo.blockSignals(True)
        self.dataset_combo.clear()
        self.dataset_combo.addItems(names)
        self.dataset_combo.blockSignals(False)
        if names:
            self.dataset_combo.setCurrentIndex(names.index(current) if current in names else 0)
            self._dataset_chosen()
        else:
            self._show_dataset(None)

    def _dataset_chosen(self) -> None:
        name = self.dataset_combo.currentText()
        if self.dataset is not None and self.dataset.name == name:
            return
        if self.job is not None:
            return  # switching while a job writes to this dataset would hide its progress
        try:
            self._show_dataset(Dataset.open(dataset_folder(self.workspace, name)) if name else None)
        except VoiceLabError as exc:
            show_error(self, "Cannot open dataset", str(exc))

    def _show_dataset(self, dataset: Dataset | None) -> None:
        self.stop_playback()
        if self.dataset is not None:
            self.dataset.remove_listener(self._on_store_change)
        self.dataset = dataset
        self.model.set_dataset(dataset)
        self.editor.set_dataset(dataset)
        self.source_view.clear()
        if dataset is not None:
            dataset.add_listener(self._on_store_change)
            self.panel.set_options(dict(dataset.options.get("pipeline") or {}))
            self.workspace.settings.last_dataset = dataset.name
            self.workspace.save_settings()
        self.pages.setCurrentIndex(1 if dataset is not None and dataset.sources else 0)
        self._update_summary()
        self._update_buttons()
        self.datasetChanged.emit(dataset.name if dataset else "")

    def new_dataset(self, name: str | None = None) -> Dataset | None:
        if name is None:
            name, ok = QInputDialog.getText(self, "New dataset", "Name of the new dataset:",
                                            text=self._free_name("My voice"))
            if not ok:
                return None
        try:
            folder = dataset_folder(self.workspace, name)
            dataset = Dataset.create(folder, folder.name)
        except VoiceLabError as exc:
            show_error(self, "Cannot create dataset", str(exc))
            return None
        self.reload_datasets(select=dataset.name)
        self.datasetsChanged.emit()
        return self.dataset

    def _free_name(self, base: str) -> str:
        taken = {info.name for info in list_datasets(self.workspace)}
        name, number = base, 2
        while name in taken:
            name, number = f"{base} {number}", number + 1
        return name

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

    def _dataset_renamed(self, old: str, new: str) -> None:
        """The dataset menu renamed (`new`) or deleted (`new` empty) a dataset."""
        if self.dataset is not None and self.dataset.name == old:
            self._show_dataset(None)  # the open store points at the old folder
        self.reload_datasets(select=new or None)
        self.show_banner(f"Dataset '{old}' renamed to '{new}'." if new else f"Dataset '{old}' deleted.")
        self.datasetsChanged.emit()

    def _dataset_holder(self, name: str) -> str | None:
        job = self.jobs.holder("dataset", name)
        return job.title if job is not None else None

    def cancel_job(self) -> None:
        if self.job is not None:
            self.panel.cancelling()
            self.job.cancel()

    def show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(True)

    def open_studio(self):
        """The recording studio for the shown dataset (a new one is made when there is none)."""
        if self.dataset is None and self.new_dataset() is None:
            return None
        from voicelab.core.recording.audio_in import default_input
        from voicelab.ui.studio.studio import open_studio

        if self.studio is not None:
            self.studio.close()
            self.studio.deleteLater()
        self.studio = open_studio(self.workspace, self.dataset, self.jobs, self.output,
                                  self.audio_input or default_input(), self)
        self.datasetChanged.connect(self.studio.follow_dataset)
        return self.studio

    # -- export / import --------------------------------------------------------------------
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

    # -- state ------------------------------------------------------------------------------
    def _on_store_change(self, change) -> None:
        # May come from the pipeline's thread: only schedule the UI update.
        QTimer.singleShot(0, self, self._update_summary)
        if change.kind in ("clips", "reset"):  # undo/redo may have moved the shown clip
            QTimer.singleShot(0, self, self._refresh_shown_clip)

    def _refresh_shown_clip(self) -> None:
        clip = self.current_clip()
        if clip is not None and self.source_view.clip_bounds != (clip.start, clip.end):
            self._show_selected()

    def _update_summary(self) -> None:
        if self.dataset is None:
            self.summary_label.setText("")
            return
        s = summarize(self.model.clips())  # never waits on the store's lock
        pending = sum(1 for src in self.dataset.sources if src.state != "done")
        self.panel.process_button.setVisible(pending > 0 and self.job is None)
        self.summary_label.setText(
            f"<b>{s.clips}</b> clips · <b>{format_duration(s.usable_seconds)}</b> usable "
            f"({s.usable_clips} clips) · <b>{s.flagged}</b> flagged · {s.excluded} excluded"
            f"{f' · {pending} recording(s) not finished' if pending else ''}<br>{s.hint}"
            f"{self._coverage_text()}")
        if self.dataset.sources and self.pages.currentIndex() == 0:
            self.pages.setCurrentIndex(1)

    def _coverage_text(self) -> str:
        """How much of the recordings' speech is in clips, and which recordings lost some."""
        from html import escape

        from voicelab.core.dataset.coverage import coverage_summary, coverage_warning

        summary = coverage_summary(self.dataset.sources)
        warnings = [w for w in map(coverage_warning, self.dataset.sources) if w]
        if not summary:
            return ""
        text = f"<br>{escape(summary)}"
        if warnings:
            more = f" (and {len(warnings) - 1} more recording(s))" if len(warnings) > 1 else ""
            text += f'<br><span style="color:#b45309">⚠ {escape(warnings[0])}{more}</span>'
        return text

    def _update_buttons(self) -> None:
        self.review.set_clip_buttons(self.current_clip() is not None, self.job is None)
        self.export_button.setEnabled(self.dataset is not None and self.job is None)
        self.dataset_combo.setEnabled(self.job is None)
        self.new_button.setEnabled(self.job is None)

    def shutdown(self) -> None:
        self.stop_playback()
        if self.studio is not None:
            self.studio.close()
        self.asr_choice.shutdown()
