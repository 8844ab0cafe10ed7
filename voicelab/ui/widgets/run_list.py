"""The training runs of the workspace as a table: name, status, step, and what went wrong.

A model over `core.training.run.runs.RunInfo` rows (read by `list_runs` off the UI thread).
While a run trains here, its row follows the live events (`update_live`) instead of
re-reading the disk, so the list stays current without any I/O on the UI thread.

The table lives in a narrow column beside the chart, so each cell is one line: the note is
its first clause ("Training diverged at step 37 (epoch 6)", "can resume"); the selected
run's whole note is under the table (in its own reserved lines) and every row's in its
tooltip. A long run name gives up its middle ("joe-medium-…-220039"), where the app's
names repeat, never its end, where they differ. The name column takes what its names need
up to `NAME_SHARE` of the width; the note the rest.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from voicelab.ui.widgets.list_model import ListTableModel
from voicelab.ui.widgets.message_line import MessageLine

COLUMNS = ("Run", "Status", "Step", "Note")
NAME, STATUS, STEP, NOTE = range(len(COLUMNS))
STATUS_COLORS = {"running": "#2563eb", "finished": "#15803d", "failed": "#b91c1c",
                 "interrupted": "#b45309", "stopped": "#64748b"}
STATUS_NOTES = {"interrupted": "ended without saying why; resume continues from its last checkpoint",
                "stopped": "can resume: Resume continues from its last checkpoint",
                "new": "not started yet"}
NAME_SHARE = 0.45  # of the table's width, at most, for the run names
_CLAUSE_END = re.compile(r"[:;.](?:\s|$)")


class RunTableModel(ListTableModel):
    """The workspace's runs (RunInfo), one line a cell; the status in its color."""

    columns = COLUMNS

    def cell(self, info: Any, column: int, role: int) -> Any:
        if role == Qt.DisplayRole:
            if column == NAME:
                return info.name
            if column == STATUS:
                return info.status
            if column == STEP:
                return f"{info.step:,}" if info.step else "–"
            return short_note(self.note(info))
        if role == Qt.ToolTipRole:
            details = [f"{info.name}: {info.status}, step {info.step}, epoch {info.epoch}"]
            if info.quality:
                details.append(f"quality {info.quality}; dataset {info.dataset}")
            if info.last_checkpoint:
                details.append(f"last checkpoint {info.last_checkpoint.name}")
            if self.note(info):
                details.append(self.note(info))
            return "\n".join(details)
        if role == Qt.ForegroundRole and column == STATUS and info.status in STATUS_COLORS:
            return QColor(STATUS_COLORS[info.status])
        if role == Qt.TextAlignmentRole and column == STEP:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    @staticmethod
    def note(info: Any) -> str:
        return info.message or STATUS_NOTES.get(info.status, "")

    def info_at(self, row: int) -> Any | None:
        return self.items[row] if 0 <= row < len(self.items) else None

    def row_of(self, name: str) -> int:
        return next((i for i, info in enumerate(self.items) if info.name == name), -1)

    def update_live(self, name: str, **changes: Any) -> None:
        """Change a row's fields (status, step, epoch, message) from a live event."""
        row = self.row_of(name)
        if row < 0:
            return
        info = self.items[row]
        if all(getattr(info, key) == value for key, value in changes.items()):
            return
        for key, value in changes.items():
            setattr(info, key, value)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))


def short_note(note: str) -> str:
    """A note's first clause, for its one-line cell (the row's tooltip has the whole note)."""
    first = (note or "").strip().splitlines()[0] if (note or "").strip() else ""
    end = _CLAUSE_END.search(first)
    return first[: end.start()] if end and end.start() > 0 else first


class _MiddleElided(QStyledItemDelegate):
    """Cells that give up their middle when too narrow (run names differ at the end)."""

    def initStyleOption(self, option, index) -> None:  # noqa: N802 - Qt's name
        super().initStyleOption(option, index)
        option.textElideMode = Qt.ElideMiddle


class RunListPanel(QWidget):
    """The run table with its buttons: refresh, Stop, Resume (the tab wires them)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = RunTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)  # one line a cell, cut with "…" (see the module docstring)
        self.table.setTextElideMode(Qt.ElideRight)
        self._names = _MiddleElided(self.table)
        self.table.setItemDelegateForColumn(NAME, self._names)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(NAME, QHeaderView.Interactive)
        header.setSectionResizeMode(NOTE, QHeaderView.Stretch)
        self.model.modelReset.connect(self.fit_names)
        self.table.installEventFilter(self)
        self.refresh_button = QToolButton()
        self.refresh_button.setText("↻")
        self.refresh_button.setToolTip("Read the runs folder again")
        self.stop_button = QPushButton("■ Stop")
        self.stop_button.setToolTip("Save a checkpoint and stop; Resume continues from it")
        self.resume_button = QPushButton("⟳ Resume")
        self.resume_button.setToolTip("Continue a stopped or interrupted run from its last checkpoint")
        head = QHBoxLayout()
        head.addWidget(QLabel("<b>Runs</b>"))
        head.addStretch(1)
        head.addWidget(self.refresh_button)
        self.head = head  # the tab adds its run menu here
        buttons = QHBoxLayout()
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.resume_button)
        buttons.addStretch(1)
        self.note = MessageLine(2, objectName="runNote")
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self.show_note())
        self.model.dataChanged.connect(lambda *_: self.show_note())
        self.model.modelReset.connect(self.show_note)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(9, 0, 9, 0)
        layout.addLayout(head)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        layout.addLayout(buttons)

    def show_note(self) -> None:
        """The selected run's whole note under the table (its error in the error colour)."""
        info = self.selected()
        note = self.model.note(info) if info is not None else ""
        self.note.setText(note)
        color = STATUS_COLORS.get(info.status) if info is not None and info.status == "failed" else None
        self.note.setStyleSheet(f"color: {color};" if color else "")

    def fit_names(self) -> None:
        """The name column as wide as its names, up to `NAME_SHARE` of the table."""
        wanted = max(self.table.sizeHintForColumn(NAME),
                     self.table.horizontalHeader().sectionSizeHint(NAME))
        self.table.setColumnWidth(NAME, min(wanted, int(self.table.contentsRect().width() * NAME_SHARE)))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.table and event.type() == QEvent.Resize:
            self.fit_names()
        return False

    def selected(self) -> Any | None:
        index = self.table.currentIndex()
        return self.model.info_at(index.row()) if index.isValid() else None
