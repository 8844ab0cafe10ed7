"""The five sliders that set how a preset speaks (speed, variations, pause, volume).

A group of its own because it is one idea with its own rules: integer sliders stand for
decimal settings, and an unset variation shows the voice's own value (read from its
config) marked "voice default" until the user moves it. The group only shows values and
reports moves; the Generate tab owns the preset and decides when to save it.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QSlider, QWidget

from voicelab.core.synthesis.presets import Preset
from voicelab.core.synthesis.voices import VoiceInfo

#: (preset field, label, slider min, slider max, divisor, unit)
_SLIDERS = (
    ("speed", "Speed", 25, 300, 100, "×"),
    ("variation", "Variation", 0, 200, 100, ""),
    ("rhythm_variation", "Rhythm variation", 0, 200, 100, ""),
    ("sentence_pause", "Sentence pause", 0, 300, 100, " s"),
    ("volume", "Volume", 0, 300, 100, "×"),
)
#: Optional fields: the voice config's key for them, and piper's value when it has none.
_VOICE_DEFAULTS = {"variation": ("noise_scale", 0.667), "rhythm_variation": ("noise_w", 0.8)}


def voice_default(voice: VoiceInfo | None, field: str) -> float:
    """What the voice uses for an unset variation field."""
    key, fallback = _VOICE_DEFAULTS[field]
    if voice is None:
        return fallback
    try:
        inference = json.loads(Path(voice.config_path).read_text(encoding="utf-8")).get("inference", {})
        return float(inference.get(key, fallback))
    except (OSError, ValueError, TypeError, AttributeError):
        return fallback


class PresetSliders(QGroupBox):
    """Shows a preset's speaking settings; `changed(field, value)` when the user moves one."""

    changed = Signal(str, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Speaking settings (saved in the preset)", parent)
        self.rows: dict[str, tuple[QSlider, QLabel]] = {}
        form = QFormLayout(self)
        for field, label, low, high, _divisor, _unit in _SLIDERS:
            slider = QSlider(Qt.Horizontal, objectName=f"{field}Slider")
            slider.setRange(low, high)
            slider.setPageStep(10)
            value_label = QLabel()
            value_label.setMinimumWidth(130)
            slider.valueChanged.connect(lambda value, f=field: self._moved(f, value))
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(value_label)
            form.addRow(f"{label}:", row)
            self.rows[field] = (slider, value_label)

    def show_preset(self, preset: Preset, voice: VoiceInfo | None) -> None:
        """Put the preset's values on the sliders without reporting a change."""
        for field, _label, _low, _high, divisor, unit in _SLIDERS:
            slider, value_label = self.rows[field]
            value = getattr(preset, field)
            shown = voice_default(voice, field) if value is None else value
            slider.blockSignals(True)
            slider.setValue(int(round(shown * divisor)))
            slider.blockSignals(False)
            if value is None:
                value_label.setText(f"{slider.value() / divisor:.2f} (voice default)")
            else:
                value_label.setText(f"{value:.2f}{unit}")

    def _moved(self, field: str, position: int) -> None:
        _field, _label, _low, _high, divisor, unit = next(s for s in _SLIDERS if s[0] == field)
        value = round(position / divisor, 3)
        self.rows[field][1].setText(f"{value:.2f}{unit}")
        self.changed.emit(field, value)
