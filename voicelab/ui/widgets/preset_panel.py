"""The preset being edited: voice, speaker and preset pickers, the menu and the sliders.

Everything here is one conversation with the core's `PresetStore`: the shown preset is a
working copy that the pickers and sliders change, and it is written through the store
(atomically) a moment after a slider stops moving, at once for a picker. The Generate tab
only reads `preset` when it speaks and listens to `status` for messages.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QWidget

from voicelab.core.errors import VoiceLabError
from voicelab.core.synthesis.presets import Preset, PresetStore
from voicelab.core.synthesis.voices import VoiceInfo, list_voices
from voicelab.core.workspace import Workspace
from voicelab.ui.widgets.item_menu import VoiceMenu
from voicelab.ui.widgets.preset_menu import PresetMenu
from voicelab.ui.widgets.preset_sliders import PresetSliders

_SAVE_DELAY_MS = 400


class PresetPanel(QWidget):
    """Pickers on the left, sliders on the right; `load()` fills them after `status` is connected."""

    status = Signal(str, bool)  # message, is an error
    voicesChanged = Signal()  # a voice file was renamed or deleted here

    def __init__(self, workspace: Workspace, store: PresetStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.presets = store
        self.voices: list[VoiceInfo] = []
        last = workspace.settings.last_preset  # where the user was when the app closed
        self.preset: Preset = store.get(last) if last and last in store else store.default()
        self._save_timer = QTimer(self, singleShot=True, interval=_SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_preset)

        self.voice_combo = QComboBox(objectName="voiceCombo")
        self.voice_combo.setMinimumContentsLength(18)
        self.voice_combo.currentIndexChanged.connect(self._voice_chosen)
        self.preset_combo = QComboBox(objectName="presetCombo")
        self.preset_combo.setMinimumContentsLength(14)
        self.preset_combo.currentIndexChanged.connect(self._preset_chosen)
        self.menu_button = PresetMenu(store, self)
        self.voice_menu = VoiceMenu(workspace, lambda: self.preset.voice, self)
        self.voice_menu.setObjectName("voiceMenuButton")
        self.voice_menu.changed.connect(self._voice_file_changed)
        voice_row = QHBoxLayout()
        voice_row.addWidget(self.voice_combo, 1)
        voice_row.addWidget(self.voice_menu)
        preset_row = QHBoxLayout()
        preset_row.addWidget(self.preset_combo, 1)
        preset_row.addWidget(self.menu_button)
        self.speaker_combo = QComboBox(objectName="speakerCombo")
        self.speaker_combo.currentIndexChanged.connect(self._speaker_chosen)
        self.speaker_label = QLabel("&Speaker:")
        self.speaker_label.setBuddy(self.speaker_combo)
        pickers = QFormLayout()
        voice_label = QLabel("&Voice:")
        voice_label.setBuddy(self.voice_combo)
        pickers.addRow(voice_label, voice_row)
        pickers.addRow(self.speaker_label, self.speaker_combo)
        preset_label = QLabel("&Preset:")  # a row holding a layout gets no buddy by itself
        preset_label.setBuddy(self.preset_combo)
        pickers.addRow(preset_label, preset_row)
        self.speaker_label.setVisible(False)
        self.speaker_combo.setVisible(False)

        self.sliders = PresetSliders()
        self.sliders.changed.connect(self._slider_moved)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(pickers, 1)
        layout.addWidget(self.sliders, 2)

    def load(self) -> None:
        self.reload_voices()
        self.reload_presets(select=self.preset.name)

    def refresh_voices(self) -> None:
        """List the voices again (another tab made or removed one), keeping the shown preset."""
        self.save_pending()
        self.reload_voices()
        self._show_preset()

    def set_status(self, message: str, error: bool = False) -> None:
        self.status.emit(message, error)

    # -- voices and presets --------------------------------------------------------------------
    def reload_voices(self) -> None:
        try:
            self.voices = list_voices(self.workspace)
        except VoiceLabError as exc:
            self.voices = []
            self.set_status(str(exc), error=True)
        self.voice_combo.blockSignals(True)
        self.voice_combo.clear()
        for voice in self.voices:
            self.voice_combo.addItem(voice.label, voice.id)
            index = self.voice_combo.count() - 1
            # The name as typed in the list, the file it is saved as underneath.
            file = "" if voice.builtin else f"File: {voice.model_path.name}"
            tip = "\n".join(part for part in (voice.problem or "", file) if part)
            if tip:
                self.voice_combo.setItemData(index, tip, Qt.ToolTipRole)
        self._show_voice_file()
        self.voice_combo.blockSignals(False)

    def _show_voice_file(self) -> None:
        """The chosen voice's file in the combo's tooltip (its name as typed is the text)."""
        index = self.voice_combo.currentIndex()
        tip = self.voice_combo.itemData(index, Qt.ToolTipRole) if index >= 0 else None
        self.voice_combo.setToolTip(tip or "")

    def reload_presets(self, select: str | None = None) -> None:
        names = self.presets.names() or [self.preset.name]
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        self.preset_combo.addItems(names)
        index = max(0, self.preset_combo.findText(select)) if select else 0
        self.preset_combo.setCurrentIndex(index)
        self.preset_combo.blockSignals(False)
        self._preset_chosen(index)

    def voice_imported(self, voice: VoiceInfo) -> None:
        """List a newly imported voice and pick it for the shown preset."""
        self.reload_voices()
        index = self.voice_combo.findData(voice.id)
        if index >= 0:
            self.voice_combo.setCurrentIndex(index)  # saves it into the preset
        self._show_preset()

    def _preset_chosen(self, index: int) -> None:
        name = self.preset_combo.itemText(index)
        if name in self.presets:
            self.preset = self.presets.get(name)
            if self.workspace.settings.last_preset != name:  # reopening the app shows it again
                self.workspace.settings.last_preset = name
                self.workspace.save_settings()
        self._show_preset()

    def _voice_file_changed(self, old: str, new: str) -> None:
        """A voice was renamed (its presets now name `new`) or deleted (`new` empty)."""
        pending = self.preset.voice == old and bool(new)
        self.presets.reload()  # the core rewrote the presets of a renamed voice
        if self.preset.name in self.presets:
            self.preset = self.presets.get(self.preset.name)
        elif pending:
            self.preset = dataclasses.replace(self.preset, voice=new)
        self.load()
        self.set_status(f"Voice '{old}' renamed to '{new}'." if new else f"Voice '{old}' deleted.")
        self.voicesChanged.emit()

    def add_voice_preset(self, voice_id: str, name: str) -> Preset:
        """A new voice (a training export): list it, make its preset and show that."""
        self.flush_preset()
        self.reload_voices()
        preset = self.presets.for_voice(voice_id, name)
        self.select_preset(preset.name)
        return preset

    def _voice_info(self, voice_id: str) -> VoiceInfo | None:
        return next((v for v in self.voices if v.id == voice_id), None)

    def _show_preset(self) -> None:
        """Put the preset's values in the widgets without saving anything."""
        preset = self.preset
        self.voice_combo.blockSignals(True)
        index = self.voice_combo.findData(preset.voice)
        if index < 0:
            self.voice_combo.addItem(f"{preset.voice} (missing)", preset.voice)
            index = self.voice_combo.count() - 1
        self.voice_combo.setCurrentIndex(index)
        self.voice_combo.blockSignals(False)
        self._show_voice_file()
        self._show_speakers()
        self.sliders.show_preset(preset, self._voice_info(preset.voice))
        problem = self.presets.problem(preset.name, self.voices) if preset.name in self.presets else None
        if problem:
            self.set_status(problem, error=True)

    def _show_speakers(self) -> None:
        """Offer the voice's speakers; the combo shows only for a multi-speaker voice."""
        voice = self._voice_info(self.preset.voice)
        speakers = list(voice.speakers) if voice is not None else []
        self.speaker_combo.blockSignals(True)
        self.speaker_combo.clear()
        self.speaker_combo.addItems(speakers)
        if self.preset.speaker in speakers:
            self.speaker_combo.setCurrentIndex(speakers.index(self.preset.speaker))
        self.speaker_combo.blockSignals(False)
        shown = len(speakers) > 1
        self.speaker_label.setVisible(shown)
        self.speaker_combo.setVisible(shown)

    def _speaker_chosen(self, index: int) -> None:
        speaker = self.speaker_combo.itemText(index) if index >= 0 else None
        if not speaker or speaker == self.preset.speaker:
            return
        self.preset.speaker = speaker
        self.save_preset()

    def _slider_moved(self, field: str, value: float) -> None:
        setattr(self.preset, field, value)
        self._save_timer.start()

    def _voice_chosen(self, index: int) -> None:
        voice_id = self.voice_combo.itemData(index)
        if not voice_id or voice_id == self.preset.voice:
            return
        self.preset = dataclasses.replace(self.preset, voice=voice_id, speaker=None)
        self._show_preset()
        self.save_preset()

    # -- saving --------------------------------------------------------------------------------
    def save_preset(self) -> bool:
        """Write the shown preset through the store (creating it the first time)."""
        self._save_timer.stop()
        try:
            if self.preset.name in self.presets:
                self.presets.update(self.preset)
            else:
                self.presets.create(self.preset)
                self.reload_presets(select=self.preset.name)
        except VoiceLabError as exc:
            self.set_status(str(exc), error=True)
            return False
        return True

    def save_pending(self) -> None:
        """Write a slider change that is still waiting for its moment (before speaking, at exit)."""
        if self._save_timer.isActive():
            self.save_preset()

    # -- what the preset menu needs (see PresetHost) ------------------------------------------
    def flush_preset(self) -> bool:
        """Write the shown preset (pending slider changes, or a never-saved one) first."""
        if self._save_timer.isActive() or self.preset.name not in self.presets:
            return self.save_preset()
        return True

    def discard_pending_preset(self) -> None:
        self._save_timer.stop()

    def select_preset(self, name: str) -> None:
        self.preset = self.presets.get(name) if name in self.presets else self.presets.default()
        self.reload_presets(select=self.preset.name)
