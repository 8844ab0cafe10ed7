"""The clip table: a Qt model over the dataset store, and the filter the reviewer uses.

Model/view, not a QTableWidget of copies: the rows are the store's own clips, so an edit
made anywhere (the table, the buttons, the pipeline adding clips in its thread) shows at
once. The pipeline's changes arrive as store notifications from a worker thread; a small
bridge turns them into a queued Qt signal, and the model applies them on the UI thread as
row insertions and removals where it can, so a cell being edited is not thrown away
every time a new clip arrives.

The Confidence column is each clip's own (its words' mean probability); the words Whisper
was least sure of are highlighted in the Text column (`DoubtfulWordsDelegate`) and listed
in its tooltip, so a reviewer sorting by confidence hears the doubtful clips first and
knows which word to listen for.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QRectF,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QPalette, QTextDocument
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from voicelab.core.dataset.flags import describe, doubtful_words, severity
from voicelab.core.dataset.records import Change, Clip
from voicelab.core.dataset.store import Dataset

COLUMNS = ("ID", "Length", "Text", "Confidence", "Flags")
ID, LENGTH, TEXT, CONFIDENCE, FLAGS = range(len(COLUMNS))
SORT_ROLE = Qt.UserRole + 1
CLIP_ID_ROLE = Qt.UserRole + 2
MARKED_ROLE = Qt.UserRole + 3  # the Text column as HTML, doubtful words highlighted; None if none
DOUBTFUL_COLOR = "#fde68a"

FILTERS = ("All clips", "Flagged", "Excluded", "Edited", "Not yet reviewed")


class _ChangeBridge(QObject):
    """Carries store notifications (any thread) to the UI thread."""

    changed = Signal(object)


class ClipTableModel(QAbstractTableModel):
    """Rows = the dataset's clips in store order; the Text column is editable."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.dataset: Dataset | None = None
        self._clips: list[Clip] = []
        self._bridge = _ChangeBridge()
        self._bridge.changed.connect(self._apply)  # direct from the UI thread, queued from workers
        # Text edits go through whoever owns undo; the default writes straight to the store.
        self.text_editor: Callable[[str, str], None] = lambda clip_id, text: self.dataset.set_text(clip_id, text)

    # -- binding ----------------------------------------------------------------------------
    def set_dataset(self, dataset: Dataset | None) -> None:
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

    def _grow_or_shrink(self, old: list[str], new: list[str], fresh: list[Clip]) -> bool:
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
    def clips(self) -> list[Clip]:
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
        if role == MARKED_ROLE and column == TEXT and not clip.excluded:
            return marked_text(clip)
        if role == Qt.ToolTipRole and column in (TEXT, CONFIDENCE) and doubtful_words(clip):
            doubtful = sorted(doubtful_words(clip), key=lambda found: found[2])
            return "Whisper was least sure of: " + ", ".join(
                f"“{text.strip()}” {probability * 100:.0f} %" for _, text, probability in doubtful)
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

    def __init__(self, parent: QObject | None = None) -> None:
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


def marked_text(clip: Clip) -> str | None:
    """The clip's text as HTML with its doubtful words highlighted, or None when it has none.

    Words are matched to the text in order, so an edited text keeps the marks of the words
    it still has and a repeated word is marked only where Whisper doubted it."""
    doubtful = {index for index, _, _ in doubtful_words(clip)}
    if not doubtful:
        return None
    heard = [_plain(str(row[0])) for row in clip.words]
    parts, at = [], 0
    for token in re.split(r"(\s+)", clip.text):
        key = _plain(token)
        found = next((i for i in range(at, min(len(heard), at + 4)) if key and heard[i] == key), None)
        if found is not None:
            at = found + 1
        text = html.escape(token)
        parts.append(f'<span style="background-color:{DOUBTFUL_COLOR}">{text}</span>'
                     if found in doubtful else text)
    return "".join(parts)


def _plain(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


class DoubtfulWordsDelegate(QStyledItemDelegate):
    """Paints the Text column as rich text when it has doubtful words; editing is the
    usual line edit, on the plain text."""

    def paint(self, painter, option, index) -> None:
        marked = index.data(MARKED_ROLE)
        if not marked:
            super().paint(painter, option, index)
            return
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        item.text = ""
        style = item.widget.style() if item.widget is not None else QApplication.style()
        style.drawControl(QStyle.CE_ItemViewItem, item, painter, item.widget)
        area = style.subElementRect(QStyle.SE_ItemViewItemText, item, item.widget)
        selected = bool(item.state & QStyle.State_Selected)
        color = item.palette.color(QPalette.HighlightedText if selected else QPalette.Text)
        document = QTextDocument()
        document.setDocumentMargin(0)
        document.setDefaultFont(item.font)
        document.setHtml(f'<span style="color:{color.name()}; white-space:pre">{marked}</span>')
        painter.save()
        painter.translate(area.left() + 3, area.top() + (area.height() - document.size().height()) / 2)
        document.drawContents(painter, QRectF(0, 0, area.width() - 3, area.height()))
        painter.restore()
