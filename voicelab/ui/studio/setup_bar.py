"""The studio's top row: which microphone at which rate, which prompts, and the two checks.

Only widgets and signals; the studio decides what a choice does. Combo boxes take focus
only when clicked and hand it back to the window once a choice is made, so the studio's
keys (Space, R, arrows) never end up typing into a combo box.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from voicelab.core.recording.audio_in import InputDevice
from voicelab.core.recording.prompts import CUSTOM, PromptSet

OWN_FILE = "__file__"


class SetupBar(QWidget):
    inputChosen = Signal(object, int)  # device index (None: default), rate
    promptSetChosen = Signal(str)  # a bundled set's id
    promptFileChosen = Signal(object)  # Path of a person's text file
    roomCheckRequested = Signal()
    testRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device_combo = QComboBox()
        self.device_combo.setMinimumWidth(220)
        self.rate_combo = QComboBox()
        self.prompts_combo = QComboBox()
        self.prompts_combo.setMinimumWidth(240)
        for combo in (self.device_combo, self.rate_combo, self.prompts_combo):
            combo.setFocusPolicy(Qt.ClickFocus)
        self.room_button = QPushButton("Room check (N)")
        self.room_button.setToolTip("Measure the room's noise: 5 seconds of silence")
        self.test_button = QPushButton("Test recording (T)")
        self.test_button.setToolTip("Record a few words and hear them back; nothing is kept")
        for button in (self.room_button, self.test_button):
            button.setFocusPolicy(Qt.NoFocus)
        self.room_label = QLabel()
        self.room_label.setObjectName("roomLabel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for label, widget in (("&Microphone", self.device_combo), ("R&ate", self.rate_combo),
                              ("&Prompts", self.prompts_combo)):
            caption = QLabel(label)
            caption.setBuddy(widget)
            layout.addWidget(caption)
            layout.addWidget(widget)
        layout.addWidget(self.room_button)
        layout.addWidget(self.test_button)
        layout.addWidget(self.room_label)
        layout.addStretch(1)
        self.device_combo.activated.connect(lambda _i: self._input_changed(device_changed=True))
        self.rate_combo.activated.connect(lambda _i: self._input_changed(device_changed=False))
        self.prompts_combo.activated.connect(self._prompts_changed)
        self.room_button.clicked.connect(self.roomCheckRequested)
        self.test_button.clicked.connect(self.testRequested)
        self.rates_for = lambda device: []  # set by the studio: the rates a device accepts

    # -- filling ----------------------------------------------------------------------------
    def set_devices(self, devices: Sequence[InputDevice], chosen: int | None,
                    rates: Sequence[int], rate: int) -> None:
        self.device_combo.clear()
        for device in devices:
            self.device_combo.addItem(device.name + (" (default)" if device.is_default else ""),
                                      device.index)
        index = self.device_combo.findData(chosen)
        self.device_combo.setCurrentIndex(max(0, index))
        self._set_rates(rates, rate)

    def _set_rates(self, rates: Sequence[int], rate: int) -> None:
        self.rate_combo.clear()
        for value in rates:
            self.rate_combo.addItem(f"{value} Hz", value)
        self.rate_combo.setCurrentIndex(max(0, self.rate_combo.findData(rate)))

    def set_prompt_sets(self, sets: list[PromptSet], current: PromptSet) -> None:
        self.prompts_combo.clear()
        for prompt_set in sets:
            self.prompts_combo.addItem(f"{prompt_set.name} ({len(prompt_set)})", prompt_set.id)
        if current.id == CUSTOM:
            self.prompts_combo.addItem(f"{current.name} ({len(current)})", CUSTOM)
        self.prompts_combo.addItem("Your own text file…", OWN_FILE)
        self.prompts_combo.setCurrentIndex(max(0, self.prompts_combo.findData(current.id)))
        self._current_prompts = current.id

    def set_input_enabled(self, enabled: bool) -> None:
        for widget in (self.device_combo, self.rate_combo, self.room_button, self.test_button):
            widget.setEnabled(enabled)

    def set_room(self, noise_db: float | None) -> None:
        self.room_label.setText("" if noise_db is None else f"Room noise {noise_db:.0f} dBFS")

    # -- choices ----------------------------------------------------------------------------
    def _input_changed(self, device_changed: bool) -> None:
        device = self.device_combo.currentData()
        if device_changed:
            rates = list(self.rates_for(device))
            current = self.rate_combo.currentData()
            self._set_rates(rates, current if current in rates else (rates[0] if rates else 0))
        rate = self.rate_combo.currentData()
        self.window().setFocus()
        if rate:
            self.inputChosen.emit(device, int(rate))

    def _prompts_changed(self, _index: int) -> None:
        choice = self.prompts_combo.currentData()
        self.window().setFocus()
        if choice == OWN_FILE:
            name, _ = QFileDialog.getOpenFileName(self, "Your prompts: a text file, one prompt a line",
                                                  str(Path.home()), "Text (*.txt);;All files (*)")
            self.prompts_combo.setCurrentIndex(max(0, self.prompts_combo.findData(self._current_prompts)))
            if name:
                self.promptFileChosen.emit(Path(name))
        elif choice and choice != self._current_prompts and choice != CUSTOM:
            self.promptSetChosen.emit(choice)
