"""A run's kept checkpoints, best first, and the button that turns one into a voice.

The ranking is the trainer's (`checkpoints/ranking.json`, see core/training/run/ranking.py):
among the checkpoints whose previews can be understood (WER near the run's lowest, at most
50%), the one most like the speaker (likeness), then the lowest validation mel loss. The
best row is selected by default, so "Export voice" exports what the ranking recommends;
picking another row exports that one instead. A checkpoint no validation or preview round
has scored yet (the one a Stop just saved) has no rank and says so: it is never "best".
The export itself (and the question asked first when the checkpoint's previews say it is
not ready) is the tab's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from voicelab.core.training.run.event_text import likeness_text, wer_text
from voicelab.ui.widgets.list_model import ListTableModel

COLUMNS = ("Rank", "Checkpoint", "Step", "Epoch", "Val. mel", "WER", "Likeness", "Kept as")
_REASONS = {"best": "best", "last": "newest (resume)", "mel": "low mel loss", "wer": "low WER"}
UNSCORED = "not scored yet"
UNSCORED_TIP = ("No validation or preview round has scored this checkpoint yet (a Stop saves one "
                "between rounds), so it cannot be called best. Resume continues from it.")


class RankingModel(ListTableModel):
    """The ranking's RankedCheckpoints, best first; the best in bold."""

    columns = COLUMNS

    def set_items(self, items: list[Any]) -> None:
        super().set_items(sorted(items, key=lambda r: r.rank))

    def cell(self, item: Any, column: int, role: int) -> Any:
        if role == Qt.DisplayRole:
            kept = [_REASONS.get(r, r) for r in item.reasons if r != "recent"]  # recent: unscored
            return (str(item.rank) if item.scored else "–", Path(item.path).name, f"{item.step:,}",
                    "–" if item.epoch is None else str(item.epoch),
                    "–" if item.mel is None else f"{item.mel:.3f}",
                    wer_text(item.wer), likeness_text(item.likeness),
                    ", ".join(kept + ([] if item.scored else [UNSCORED])))[column]
        if role == Qt.FontRole and item.is_best:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ToolTipRole:
            return str(item.path) + ("" if item.scored else f"\n{UNSCORED_TIP}")
        return None


class CheckpointPanel(QWidget):
    exportRequested = Signal(object, str)  # checkpoint Path, voice name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = RankingModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update())
        self.table.clicked.connect(lambda _index: setattr(self, "_picked", True))
        self._picked = False  # the user chose a row: keep it while the ranking changes
        self.empty = QLabel("No checkpoint yet: the trainer saves them as it goes "
                            "(how often: Advanced › Checkpoint every).")
        self.empty.setWordWrap(True)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("voice name")
        self.name_edit.setToolTip("The exported voice is saved in the workspace's voices folder "
                                  "under this name")
        self.name_edit.textChanged.connect(lambda _t: self._update())
        self.export_button = QPushButton("Export voice")
        self.export_button.setToolTip("Turn the selected checkpoint (the best by default) into a "
                                      "Piper voice, check that it speaks, and add it to the voices")
        self.export_button.clicked.connect(self._export_clicked)
        self.status = QLabel()
        self.status.setObjectName("exportStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(QLabel("Export as"))
        row.addWidget(self.name_edit, 1)
        row.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self.busy = False
        self._update()

    def set_ranking(self, items: list[Any], voice_name: str | None = None) -> None:
        """Show a run's ranking and select its best, or the row the user picked if still kept.
        A `voice_name` means another run: its best is selected."""
        chosen = self.selected() if self._picked and voice_name is None else None
        self.model.set_items(items)
        if voice_name is not None:
            self.name_edit.setText(voice_name)
            self._picked = False
        row = 0
        if chosen is not None:
            row = next((i for i, r in enumerate(self.model.items) if r.path == chosen.path), 0)
        if self.model.items:
            self.table.selectionModel().setCurrentIndex(
                self.model.index(row, 0), QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
        self._update()

    def selected(self) -> Any | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.model.items[rows[0].row()] if rows else None

    def set_status(self, text: str, ok: bool | None = None) -> None:
        color = {True: "#15803d", False: "#b91c1c"}.get(ok, "")
        self.status.setStyleSheet(f"color: {color};" if color else "")
        self.status.setText(text)

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self._update()

    def _update(self) -> None:
        has = bool(self.model.items)
        self.empty.setVisible(not has)
        self.table.setVisible(has)
        self.export_button.setEnabled(has and not self.busy and self.selected() is not None
                                      and bool(self.name_edit.text().strip()))
        self.export_button.setText("Exporting…" if self.busy else "Export voice")

    def _export_clicked(self) -> None:
        item = self.selected()
        if item is not None:
            self.exportRequested.emit(Path(item.path), self.name_edit.text().strip())
