"""A read-only table model over a Python list: one row an item, fixed column titles.

The run list, the checkpoint ranking and the models dialog each show a list of plain
objects (`RunInfo`, `RankedCheckpoint`, `ModelEntry`) as a table. What Qt asks of every
such model is the same (how many rows and columns, the header titles, the object behind a
row, which views and proxies read back with `Qt.UserRole`), so it is answered once here;
only how a cell shows differs, and that is each subclass's `cell`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt


class ListTableModel(QAbstractTableModel):
    """`items` as rows and `columns` as titles; a subclass says how a cell shows (`cell`)."""

    columns: tuple[str, ...] = ()  # the header titles, left to right

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.items: list[Any] = []

    def set_items(self, items: Iterable[Any]) -> None:
        """Show these items instead (a model reset: views drop their selection)."""
        self.beginResetModel()
        self.items = list(items)
        self.endResetModel()

    def cell(self, item: Any, column: int, role: int) -> Any:
        """What `item` shows in `column` for `role` (a `Qt.ItemDataRole`); None for nothing."""
        return None

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return len(self.columns)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return self.columns[section]
        return None

    def data(self, index: QModelIndex, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        item = self.items[index.row()]
        if role == Qt.UserRole:
            return item
        return self.cell(item, index.column(), role)
