"""The Dataset tab: drop recordings, watch them become clips, review and fix each one.

Thin by design: the store (`voicelab.core.dataset.store`) holds and saves everything, the
pipeline makes clips in a background job, `DatasetEditor` puts edits on the undo stack, and
the clip table is a model over the store. This module lays those out and wires the
buttons, keys and drops to them; what is done to clips is in `ClipActions`
(dataset_clip_actions.py), recordings and LJSpeech folders in and out in `DatasetTransfer`
(dataset_transfer.py).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from voicelab.core.dataset.records import summarize
from voicelab.core.dataset.store import Dataset, dataset_folder, list_datasets
from voicelab.core.errors import VoiceLabError
from voicelab.core.progress import format_duration
from voicelab.core.workspace import Workspace
from voicelab.ui.asr_choice import AsrChoice
from voicelab.ui.audio_out import AudioOutput
from voicelab.ui.dataset_clip_actions import ClipActions
from voicelab.ui.dataset_edits import DatasetEditor
from voicelab.ui.dataset_transfer import DatasetTransfer
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
from voicelab.ui.widgets.prepare_panel import PreparePanel
from voicelab.ui.widgets.splitter import splitter
from voicelab.ui.workers import Job, JobManager
from voicelab.ui.workspace_tab import WorkspaceTab

log = logging.getLogger(__name__)


class DatasetTab(ClipActions, DatasetTransfer, WorkspaceTab):
    datasetChanged = Signal(str)  # name of the dataset now shown ("" for none)
    datasetsChanged = Signal()  # made, renamed, deleted or its clips changed: others list them

    def __init__(self, workspace: Workspace, jobs: JobManager, audio_output: AudioOutput | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(workspace, jobs, audio_output, parent)
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
        self.dataset_menu.busy = lambda name: self.job_holding("dataset", name)
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
        panes = splitter(Qt.Vertical, (upper, 3), (lower, 2))
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)

        editor_page = QWidget()
        editor_layout = QVBoxLayout(editor_page)
        editor_layout.setContentsMargins(0, 0, 0, 0)
        editor_layout.addWidget(panes, 1)
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

    def _dataset_renamed(self, old: str, new: str) -> None:
        """The dataset menu renamed (`new`) or deleted (`new` empty) a dataset."""
        if self.dataset is not None and self.dataset.name == old:
            self._show_dataset(None)  # the open store points at the old folder
        self.reload_datasets(select=new or None)
        self.show_banner(f"Dataset '{old}' renamed to '{new}'." if new else f"Dataset '{old}' deleted.")
        self.datasetsChanged.emit()

    # -- the job, the banner, the studio ----------------------------------------------------
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
