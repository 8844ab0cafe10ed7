"""The clip table: a Qt model over the dataset store, and the filter the reviewer uses.

Model/view, not a QTableWidget of copies: the rows are the store's own clips, so an edit
made anywhere (the table, the buttons, the pipeline adding clips in its thread) shows at
once. The pipeline's changes arrive as store notifications from a worker thread; a small
bridge turns them into a queued Qt signal, and the model applies them on the UI thread as
row insertions and removals where it can, so a cell being edited is not thrown away
every time a new clip arrives.
"""

from __future__ import annotations

from typing import Callable, List, Optional

from PySide6.QtCore import (
    QAbstractTableModel, QModelIndex, QObject, QSortFilterProxyModel, Qt, Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont

from voicelab.core.dataset.flags import describe, severity
from voicelab.core.dataset.store import Change, Clip, Dataset

COLUMNS = ("ID", "Length", "Text", "Confidence", "Flags")
ID, LENGTH, TEXT, CONFIDENCE, FLAGS = range(len(COLUMNS))
SORT_ROLE = Qt.UserRole + 1
CLIP_ID_ROLE = Qt.UserRole + 2

FILTERS = ("All clips", "Flagged", "Excluded", "Edited", "Not yet reviewed")


class _ChangeBridge(QObject):
    """Carries store notifications (any thread) to the UI thread."""

    changed = Signal(object)


class ClipTableModel(QAbstractTableModel):
    """Rows = the dataset's clips in store order; the Text column is editable."""

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.dataset: Optional[Dataset] = None
        self._clips: List[Clip] = []
        self._bridge = _ChangeBridge()
        self._bridge.changed.connect(self._apply)  # direct from the UI thread, queued from workers
        # Text edits go through whoever owns undo; the default writes straight to the store.
        self.text_editor: Callable[[str, str], None] = lambda clip_id, text: self.dataset.set_text(clip_id, text)

    # -- binding ----------------------------------------------------------------------------
    def set_dataset(self, dataset: Optional[Dataset]) -> None:
        if self.dataset is not None:
            self.dataset.remove_listener(self._bridge.changed.emit)
        self.beginResetModel()
        self.dataset = dataset
        self._clips = list(dataset.clips) if dataset else []
        self.endResetModel()
        if dataset is not None:
            dataset.add_listener(self._bridge.changed.emit)

    def refresh(self) -> None:
        """Apply the store's current state now (tests and callers on the UI thread)."""
        self._apply(Change("clips"))

    def _apply(self, change: Change) -> None:
        if self.dataset is None:
            return
        fresh = list(self.dataset.clips)
        old_ids = [c.id for c in self._clips]
        new_ids = [c.id for c in fresh]
        if old_ids == new_ids:
            self._clips = fresh
            if self._clips:
                self.dataChanged.emit(self.index(0, 0), self.index(len(fresh) - 1, len(COLUMNS) - 1))
            return
        if not self._grow_or_shrink(old_ids, new_ids, fresh):
            self.beginResetModel()
            self._clips = fresh
            self.endResetModel()
        self.dataChanged.emit(self.index(0, 0), self.index(max(0, len(fresh) - 1), len(COLUMNS) - 1))

    def _grow_or_shrink(self, old: List[str], new: List[str], fresh: List[Clip]) -> bool:
        """Insert or remove rows one by one when the change is only that; else False."""
        old_set, new_set = set(old), set(new)
        if old_set <= new_set and [i for i in new if i in old_set] == old:
            by_id = {c.id: c for c in fresh}
            for row, clip_id in enumerate(new):
                if row >= len(self._clips) or self._clips[row].id != clip_id:
                    self.beginInsertRows(QModelIndex(), row, row)
                    self._clips.insert(row, by_id[clip_id])
                    self.endInsertRows()
            self._clips = fresh
            return True
        if new_set <= old_set and [i for i in old if i in new_set] == new:
            keep = new_set
            for row in range(len(self._clips) - 1, -1, -1):
                if self._clips[row].id not in keep:
                    self.beginRemoveRows(QModelIndex(), row, row)
                    del self._clips[row]
                    self.endRemoveRows()
            self._clips = fresh
            return True
        return False

    # -- access -----------------------------------------------------------------------------
    def clips(self) -> List[Clip]:
        """The clips as shown (the store's list as of the last change applied)."""
        return list(self._clips)

    def clip_at(self, row: int) -> Clip:
        return self._clips[row]

    def row_of(self, clip_id: str) -> int:
        for row, clip in enumerate(self._clips):
            if clip.id == clip_id:
                return row
        return -1

    # -- Qt model ---------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._clips)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        if orientation == Qt.Vertical and role == Qt.DisplayRole:
            return str(section + 1)
        return None

    def flags(self, index):
        base = super().flags(index)
        if index.isValid() and index.column() == TEXT:
            return base | Qt.ItemIsEditable
        return base

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid() or index.row() >= len(self._clips):
            return None
        clip = self._clips[index.row()]
        column = index.column()
        if role in (Qt.DisplayRole, Qt.EditRole):
            if column == ID:
                return clip.id
            if column == LENGTH:
                return f"{clip.duration:.2f} s"
            if column == TEXT:
                return clip.text
            if column == CONFIDENCE:
                return "" if clip.confidence is None else f"{clip.confidence * 100:.0f} %"
            if column == FLAGS:
                return ("excluded · " if clip.excluded else "") + ", ".join(clip.flags).replace("_", " ")
        if role == SORT_ROLE:
            return (clip.id, clip.duration, clip.text.lower(),
                    -1.0 if clip.confidence is None else clip.confidence,
                    severity(clip.flags))[column]
        if role == CLIP_ID_ROLE:
            return clip.id
        if role == Qt.ToolTipRole:
            tip = describe(clip.flags)
            if clip.excluded:
                tip = "Excluded from training. " + tip
            return tip or None
        if role == Qt.ForegroundRole and clip.excluded:
            return QBrush(QColor("#9ca3af"))
        if role == Qt.BackgroundRole and clip.flags and not clip.excluded and column == FLAGS:
            return QBrush(QColor(254, 226, 226) if severity(clip.flags) < 3 else QColor(254, 243, 199))
        if role == Qt.FontRole and clip.excluded:
            font = QFont()
            font.setStrikeOut(True)
            return font
        if role == Qt.TextAlignmentRole and column in (LENGTH, CONFIDENCE):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def setData(self, index, value, role=Qt.EditRole) -> bool:
        if role != Qt.EditRole or not index.isValid() or index.column() != TEXT:
            return False
        clip = self._clips[index.row()]
        if str(value) == clip.text:
            return False
        self.text_editor(clip.id, str(value))
        return True


class ClipFilterProxy(QSortFilterProxyModel):
    """Sorts by real values (seconds, severity) and filters by state and by text."""

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.mode = FILTERS[0]
        self.search = ""

    def set_mode(self, mode: str) -> None:
        self._refilter(lambda: setattr(self, "mode", mode))

    def set_search(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "search", text.strip().lower()))

    def _refilter(self, change) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+; invalidateFilter is deprecated there
            self.beginFilterChange()
            change()
            self.endFilterChange()
        else:
            change()
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent) -> bool:
        model: ClipTableModel = self.sourceModel()
        clip = model.clip_at(row)
        if self.mode == "Flagged" and not (clip.flags and not clip.excluded):
            return False
        if self.mode == "Excluded" and not clip.excluded:
            return False
        if self.mode == "Edited" and not clip.edited:
            return False
        if self.mode == "Not yet reviewed" and (clip.edited or clip.excluded):
            return False
        if self.search and self.search not in clip.text.lower() and self.search not in clip.id.lower():
            return False
        return True
