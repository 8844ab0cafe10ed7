"""Models dialog: browse, download, refresh and register base checkpoints and Whisper models.

A thin view over `voicelab.core.models.ModelManager`; downloads and refreshes run as jobs,
so their progress, ETA and Cancel show in the main window's status bar. Every row says where
it stands (downloaded, included, not downloaded, …) in the manager's words, the built-in
voice is listed beside the checkpoints a run can start from, and the list reads A→Z.
"""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from voicelab.core.errors import VoiceLabError
from voicelab.core.models import DOWNLOADED, INCLUDED, NOT_DOWNLOADED, ModelManager
from voicelab.core.models_catalog import KIND_LOCAL, KIND_PIPER, KIND_WHISPER, ModelEntry
from voicelab.core.progress import format_bytes
from voicelab.core.workspace import Workspace
from voicelab.ui.error_dialog import show_error
from voicelab.ui.widgets.list_model import ListTableModel
from voicelab.ui.workers import Job, JobManager

KIND_VOICE = "builtin-voice"  # the voice that ships with VoiceLab: a base, and what Generate speaks
KIND_LABELS = {KIND_PIPER: "Base checkpoint", KIND_VOICE: "Built-in voice",
               KIND_WHISPER: "Whisper (transcription)", KIND_LOCAL: "Local file"}
COLUMNS = ("Name", "Kind", "Language", "Quality", "Size", "License", "Status")
SIZE, STATUS = 4, 6
SORT_ROLE = Qt.UserRole + 1  # sizes sort by bytes, text without regard to case


def builtin_voice_entry() -> ModelEntry:
    """The voice bundled with VoiceLab as a row of this list (read from its config)."""
    import json

    from voicelab.core.synthesis.voices import default_voice

    info = default_voice()
    try:
        config = json.loads(info.config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    size = info.model_path.stat().st_size if info.model_path.is_file() else None
    return ModelEntry(id=info.id, kind=KIND_VOICE, name=info.name,
                      language=(config.get("language") or {}).get("code", info.language),
                      quality=(config.get("audio") or {}).get("quality", ""), size_bytes=size,
                      license="see its MODEL_CARD", files=[], problem=info.problem,
                      description="Included with VoiceLab: Generate speaks with it, and a new "
                                  "run fine-tunes from it unless you pick another base.")


class ModelTableModel(ListTableModel):
    """Rows are catalog entries; status is computed from disk (never the network)."""

    columns = COLUMNS

    def __init__(self, manager: ModelManager) -> None:
        super().__init__()
        self.manager = manager
        self.presence: dict = {}  # id -> the manager's word: downloaded, included, …
        self.busy: dict = {}  # id -> "downloading…" while a job runs

    def reload(self) -> None:
        self.beginResetModel()
        voice = builtin_voice_entry()
        self.items = self.manager.catalog() + [voice]
        self.presence = {e.id: self.manager.presence(e) for e in self.items if e is not voice}
        self.presence[voice.id] = INCLUDED
        self.endResetModel()

    def is_present(self, entry: ModelEntry) -> bool:
        return self.presence.get(entry.id, NOT_DOWNLOADED) != NOT_DOWNLOADED and not entry.problem

    def status(self, entry: ModelEntry) -> str:
        if entry.id in self.busy:
            return self.busy[entry.id]
        if entry.problem:
            return "missing"
        return self.presence.get(entry.id, NOT_DOWNLOADED)

    def cell(self, entry: ModelEntry, column: int, role: int):
        if role == Qt.DisplayRole:
            return (entry.name, KIND_LABELS.get(entry.kind, entry.kind), entry.language or "–",
                    entry.quality or "–",
                    format_bytes(entry.size_bytes) if entry.size_bytes else "?",
                    entry.license or "–", self.status(entry))[column]
        if role == Qt.ToolTipRole:
            return entry.problem or entry.description or entry.id
        if role == SORT_ROLE:
            if column == SIZE:
                return float(entry.size_bytes or 0)
            return str(self.cell(entry, column, Qt.DisplayRole)).lower()
        if role == Qt.TextAlignmentRole and column == SIZE:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def set_busy(self, entry_id: str, text: str | None) -> None:
        if text is None:
            self.busy.pop(entry_id, None)
        else:
            self.busy[entry_id] = text
        for row, entry in enumerate(self.items):
            if entry.id == entry_id:
                self.dataChanged.emit(self.index(row, STATUS), self.index(row, STATUS))


class ModelsDialog(QDialog):
    def __init__(self, workspace: Workspace, jobs: JobManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models and base voices")
        self.resize(980, 560)
        self.jobs = jobs
        self.manager = ModelManager(workspace)
        self.model = ModelTableModel(self.manager)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setSortRole(SORT_ROLE)

        self.kind_filter = QComboBox()
        self.kind_filter.addItem("All models", "")
        for kind, label in KIND_LABELS.items():
            self.kind_filter.addItem(label, kind)
        self.kind_filter.currentIndexChanged.connect(self._apply_filter)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by name, language, license…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._apply_filter)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.AscendingOrder)  # a header's first sort is Z→A otherwise
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _index: self.download_selected())

        self.download_button = QPushButton("&Download")
        self.download_button.clicked.connect(self.download_selected)
        self.refresh_button = QPushButton("&Refresh list")
        self.refresh_button.setToolTip("List every base checkpoint in rhasspy/piper-checkpoints (needs internet)")
        self.refresh_button.clicked.connect(self.refresh)
        self.add_button = QPushButton("&Add local file…")
        self.add_button.setToolTip("Use a .ckpt checkpoint or a Piper .onnx voice you already have")
        self.add_button.clicked.connect(self.add_local)
        self.remove_button = QPushButton("Remo&ve")
        self.remove_button.clicked.connect(self.remove_selected)
        self.folder_button = QPushButton("Open &folder")
        self.folder_button.clicked.connect(self.open_folder)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)

        top = QHBoxLayout()
        top.addWidget(self.kind_filter)
        top.addWidget(self.search, 1)
        buttons = QHBoxLayout()
        for button in (self.download_button, self.remove_button, self.folder_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        layout.addLayout(buttons)
        self.last_error: str | None = None
        self.reload()

    # -- helpers ---------------------------------------------------------------------------
    def reload(self) -> None:
        self.model.reload()
        self._apply_filter()
        if self.manager.problems:
            self._error("Models", "\n".join(self.manager.problems))

    def _apply_filter(self) -> None:
        kind = self.kind_filter.currentData()
        self.proxy.setFilterRegularExpression(self.search.text())
        for row in range(self.model.rowCount()):
            entry = self.model.items[row]
            hidden = bool(kind) and entry.kind != kind
            source = self.proxy.mapFromSource(self.model.index(row, 0))
            if source.isValid():
                self.table.setRowHidden(source.row(), hidden)
        self._update_buttons()

    def selected(self) -> ModelEntry | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.proxy.data(rows[0], Qt.UserRole)

    def select(self, model_id: str) -> None:
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if self.proxy.data(index, Qt.UserRole).id == model_id:
                self.table.selectRow(row)
                return
        raise KeyError(model_id)

    def _update_buttons(self, *_args) -> None:
        entry = self.selected()
        present = bool(entry and self.model.is_present(entry))
        busy = bool(entry and entry.id in self.model.busy)
        status = self.model.status(entry) if entry else ""
        self.download_button.setEnabled(bool(entry) and not present and not busy
                                        and entry.kind in (KIND_PIPER, KIND_WHISPER))
        self.remove_button.setEnabled(bool(entry) and not busy and (
            status == DOWNLOADED or entry.kind == KIND_LOCAL))
        self.remove_button.setToolTip("Included with VoiceLab: it cannot be removed." if status == INCLUDED else "")
        self.folder_button.setEnabled(present)
        if entry is None:
            self.details.setText("Select a model to see where it comes from.")
        else:
            where = self.local_path(entry) if present else f"{entry.repo_id} ({entry.repo_type})"
            self.details.setText(f"<b>{entry.name}</b> — {entry.description or entry.id}<br>{where}"
                                 + (f"<br><span style='color:#c33'>{entry.problem}</span>" if entry.problem else ""))

    def _error(self, title: str, message: str) -> None:
        self.last_error = message
        show_error(self, title, message)

    # -- actions ---------------------------------------------------------------------------
    def download_selected(self) -> Job | None:
        entry = self.selected()
        if entry is None or not self.download_button.isEnabled():
            return None
        self.model.set_busy(entry.id, "downloading…")
        job = self.jobs.run(f"Downloading {entry.name}", self.manager.download, entry)
        job.finished.connect(lambda _path: self._job_done(entry.id))
        job.cancelled.connect(lambda: self._job_done(entry.id))
        job.failed.connect(lambda message, _details: (self._job_done(entry.id),
                                                      self._error("Download failed", message)))
        self._update_buttons()
        return job

    def _job_done(self, entry_id: str) -> None:
        self.model.set_busy(entry_id, None)
        selected = self.selected()
        self.reload()
        if selected is not None:
            try:
                self.select(selected.id)
            except KeyError:
                pass

    def refresh(self) -> Job:
        self.refresh_button.setEnabled(False)
        job = self.jobs.run("Refreshing base checkpoints", self.manager.refresh_piper_checkpoints)

        def done(*_args) -> None:
            self.refresh_button.setEnabled(True)
            self.reload()

        job.finished.connect(done)
        job.cancelled.connect(done)
        job.failed.connect(lambda message, _d: (done(), self._error("Refresh failed", message)))
        return job

    def add_local(self, path: str | None = None) -> ModelEntry | None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Add a checkpoint or voice", "",
                                                  "Checkpoints and voices (*.ckpt *.onnx);;All files (*)")
        if not path:
            return None
        try:
            entry = self.manager.register_local(path)
        except VoiceLabError as exc:
            self._error("Add local file", str(exc))
            return None
        self.reload()
        self.select(entry.id)
        return entry

    def remove_selected(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        try:
            self.manager.remove(entry)
        except VoiceLabError as exc:
            self._error("Remove", str(exc))
        self.reload()

    def local_path(self, entry: ModelEntry):
        if entry.kind == KIND_VOICE:
            from voicelab.core.synthesis.voices import default_voice

            return default_voice().model_path
        return self.manager.local_path(entry)

    def open_folder(self) -> None:
        entry = self.selected()
        path = self.local_path(entry) if entry else None
        if path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path if path.is_dir() else path.parent)))
