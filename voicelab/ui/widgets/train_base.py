"""The base-voice rows of the training form: where a fine-tune starts, and what the check found.

A mixin of `TrainForm` (train_form.py), kept apart because it is the one block of the form
with a life of its own: the combo of downloaded bases (and files chosen by hand, which stay
when the list is made again), the Download… menu of catalog bases still missing, the reserved
slot where the base check's verdict and a download's progress take turns, and the details
behind the verdict. The form lays the rows out and owns the signals they emit
(`baseChanged`, `downloadRequested`, `modelsDialogRequested`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QStackedWidget,
    QToolButton,
    QWidget,
)

from voicelab.ui.widgets.message_line import ERROR_STYLE, OK_STYLE, MessageLine

#: The base choice that means none; it says what it costs.
SCRATCH_LABEL = "From scratch (needs hours of speech)"


class BaseVoiceRows:
    """The base-voice widgets and what sets and reads them (see the module docstring)."""

    def _build_base(self) -> list[QHBoxLayout | QWidget]:
        """Make the base widgets; returns what goes under the combo's row, row by row."""
        self.base_combo = QComboBox()
        self.base_combo.addItem(SCRATCH_LABEL, None)
        #: A base chosen by hand or by loaded settings (scratch too): the default never replaces it.
        self.base_explicit = False
        self.base_combo.activated.connect(lambda _index: setattr(self, "base_explicit", True))
        self.base_combo.setToolTip("Fine-tuning a Piper voice close to yours needs far less data "
                                   "and time than training from scratch.")
        self.base_combo.currentIndexChanged.connect(lambda _i: self.baseChanged.emit(self.base_path()))
        self.download_button = QToolButton()
        self.download_button.setText("Download…")
        self.download_button.setPopupMode(QToolButton.InstantPopup)
        self.download_menu = QMenu(self.download_button)
        self.download_button.setMenu(self.download_menu)
        self.choose_button = QToolButton()
        self.choose_button.setText("Choose file…")
        self.choose_button.setToolTip("Use a Piper .ckpt checkpoint you have (e.g. from another run)")
        self.choose_button.clicked.connect(self._choose_file)
        self.details_button = QToolButton(text="Details", checkable=True, objectName="baseDetailsButton")
        self.details_button.setToolTip("What the check found: the file, its sample rate and "
                                       "speakers, who made it, what starts untrained")
        self.details_button.setVisible(False)
        self.details_button.toggled.connect(lambda shown: self.base_details.setVisible(
            shown and bool(self.base_details.text())))
        base_buttons = QHBoxLayout()
        base_buttons.addWidget(self.download_button)
        base_buttons.addWidget(self.choose_button)
        base_buttons.addStretch(1)
        base_buttons.addWidget(self.details_button)
        self.download_bar = QProgressBar()
        self.download_bar.setTextVisible(True)
        self.base_status = MessageLine(2, objectName="baseStatus")
        # The check's verdict or a download's progress, in one reserved slot.
        self.base_slot = QStackedWidget()
        self.base_slot.addWidget(self.base_status)
        self.base_slot.addWidget(self.download_bar)
        self.base_slot.setFixedHeight(self.base_status.maximumHeight())
        self.base_details = QLabel(objectName="baseDetails", wordWrap=True, visible=False)
        self.base_details.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.base_details.setStyleSheet("color: palette(placeholder-text);")
        return [base_buttons, self.base_slot, self.base_details]

    def set_bases(self, present: Iterable[tuple[str, Path]], missing: Iterable[Any]) -> None:
        """Downloaded bases (label, checkpoint) in the combo; `missing` catalog entries in the
        Download menu. Files chosen by hand stay, and so does the current choice."""
        current = self.base_path()
        chosen = [(self.base_combo.itemText(i), self.base_combo.itemData(i))
                  for i in range(1, self.base_combo.count())
                  if self.base_combo.itemData(i, Qt.UserRole + 1) == "file"]
        self.base_combo.blockSignals(True)
        self.base_combo.clear()
        self.base_combo.addItem(SCRATCH_LABEL, None)
        for label, path in present:
            self.base_combo.addItem(label, str(path))
        for label, path in chosen:
            if self.base_combo.findData(path) < 0:
                self._add_file_item(label, path)
        index = self.base_combo.findData(str(current)) if current else 0
        self.base_combo.setCurrentIndex(max(0, index))
        self.base_combo.blockSignals(False)
        if self.base_path() != current:
            self.baseChanged.emit(self.base_path())
        self.download_menu.clear()
        for entry in missing:
            size = f", {entry.size_bytes / 1e6:.0f} MB" if entry.size_bytes else ""
            action = self.download_menu.addAction(f"{entry.name}  ({entry.quality or '?'}{size})")
            action.setToolTip(entry.description or entry.id)
            action.triggered.connect(lambda _checked=False, e=entry: self.downloadRequested.emit(e))
        if self.download_menu.actions():
            self.download_menu.addSeparator()
        self.download_menu.addAction("Models and base voices…").triggered.connect(self.modelsDialogRequested)

    def _add_file_item(self, label: str, path: str) -> None:
        self.base_combo.addItem(label, path)
        self.base_combo.setItemData(self.base_combo.count() - 1, "file", Qt.UserRole + 1)
        self.base_combo.setItemData(self.base_combo.count() - 1, path, Qt.ToolTipRole)

    def choose_base(self, path: Path) -> None:
        """Use a checkpoint file as the base (adds it to the list once)."""
        index = self.base_combo.findData(str(path))
        if index < 0:
            self._add_file_item(f"File: {Path(path).name}", str(path))
            index = self.base_combo.count() - 1
        self.base_combo.setCurrentIndex(index)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a base checkpoint", str(Path.home()),
                                              "Piper checkpoints (*.ckpt);;All files (*)")
        if path:
            self.choose_base(Path(path))

    def base_path(self) -> Path | None:
        data = self.base_combo.currentData()
        return Path(data) if data else None

    def set_base_status(self, text: str, ok: bool | None = None, details: Iterable[str] = ()) -> None:
        """A line under the base: what it is, or which quality to pick (ok=False: in red);
        `details`, the facts behind it, behind the Details button and in the tooltip."""
        facts = "\n".join(details)
        self.base_status.setText(text)
        self.base_status.set_tip(facts)
        self.base_status.setStyleSheet("" if ok is None else (OK_STYLE if ok else ERROR_STYLE))
        self.base_details.setText(facts)
        if not facts:  # a new check: its details show when asked again, never by themselves
            self.details_button.setChecked(False)
        self.base_details.setVisible(bool(facts) and self.details_button.isChecked())
        self.details_button.setVisible(bool(facts))

    def show_download(self, done: float, total: float, message: str) -> None:
        self.base_slot.setCurrentWidget(self.download_bar)
        if total > 0:
            self.download_bar.setRange(0, 1000)
            self.download_bar.setValue(int(1000 * min(1.0, done / total)))
        else:
            self.download_bar.setRange(0, 0)
        self.download_bar.setFormat(message or "%p%")
        self.download_bar.setToolTip(message)

    def hide_download(self) -> None:
        self.base_slot.setCurrentWidget(self.base_status)
