"""The training settings most people never touch, folded away under "Advanced".

Each field maps to one `TrainConfig` key (or a pair, for "every N epochs/steps"); the
defaults are `TrainConfig`'s own, so the form and the CLI start from the same values.
Special values say "none" in words: previews "never", validation "the dataset's own
split", devices "auto".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from voicelab.core.training.run.config import DEVICES, OPTIMIZERS, PRECISIONS, TrainConfig

DEFAULTS = TrainConfig(dataset="")
_OWN_SPLIT = -0.01  # the validation spin box's special value


def spin(low: int, high: int, value: int, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)
    return box


def combo(items: Iterable[str], current: str) -> QComboBox:
    box = QComboBox()
    box.addItems(list(items))
    box.setCurrentText(current)
    return box


class AdvancedSettings(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(16, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.precision_combo = combo(PRECISIONS, DEFAULTS.precision)
        self.precision_combo.setToolTip("bf16-mixed halves memory on recent GPUs; 32 is the safe choice.")
        self.optimizer_combo = combo(OPTIMIZERS, DEFAULTS.optimizer)
        self.optimizer_combo.setToolTip("adamw8bit saves GPU memory (CUDA only).")
        self.accumulate_spin = spin(1, 256, DEFAULTS.accumulate_grad_batches)
        self.accumulate_spin.setToolTip("Add up the gradients of this many batches per update: "
                                        "a larger effective batch in the same memory.")
        self.checkpoint_spin = spin(1, 1_000_000, DEFAULTS.checkpoint_every_epochs or 1)
        self.checkpoint_unit = combo(("epochs", "steps"), "epochs")
        checkpoint_row = QHBoxLayout()
        checkpoint_row.addWidget(self.checkpoint_spin, 1)
        checkpoint_row.addWidget(self.checkpoint_unit)
        self.preview_spin = spin(0, 100_000, DEFAULTS.preview_every_epochs or 0, special="never")
        self.preview_spin.setSuffix(" epochs")
        self.preview_spin.setToolTip("Speak the preview sentences with the model this often and "
                                     "score them with Whisper (WER).")
        self.validation_spin = QDoubleSpinBox()
        self.validation_spin.setRange(_OWN_SPLIT, 0.45)
        self.validation_spin.setDecimals(2)
        self.validation_spin.setSingleStep(0.01)
        self.validation_spin.setSpecialValueText("the dataset's own split")
        self.validation_spin.setValue(_OWN_SPLIT)
        self.validation_spin.setToolTip("Share of clips held out to measure the validation loss.")
        self.device_combo = combo(DEVICES, DEFAULTS.device)
        self.devices_spin = spin(0, 64, 1, special="auto")
        self.devices_spin.setToolTip("GPUs to train on (several use ddp); auto: all there are.")
        self.workers_spin = spin(0, 64, DEFAULTS.num_workers)
        self.workers_spin.setToolTip("Processes that load clips (0: in the trainer itself).")
        self.seed_spin = spin(0, 2**31 - 1, DEFAULTS.seed)
        self.load_button = QPushButton("Load settings…")
        self.load_button.setToolTip("Fill the form from a settings file, such as an earlier run's "
                                    "train.yaml (settings without a field here are kept too)")
        self.extra_label = QLabel()
        self.extra_label.setWordWrap(True)
        for label, widget in (("Precision", self.precision_combo), ("Optimizer", self.optimizer_combo),
                              ("Gradient accumulation", self.accumulate_spin),
                              ("Checkpoint every", checkpoint_row), ("Previews every", self.preview_spin),
                              ("Validation share", self.validation_spin), ("Device", self.device_combo),
                              ("Devices", self.devices_spin), ("Data workers", self.workers_spin),
                              ("Seed", self.seed_spin)):
            form.addRow(label, widget)
        form.addRow(self.load_button, self.extra_label)

    def change_signals(self) -> list[Any]:
        spins = (self.accumulate_spin, self.checkpoint_spin, self.preview_spin, self.devices_spin,
                 self.workers_spin, self.seed_spin, self.validation_spin)
        combos = (self.precision_combo, self.optimizer_combo, self.checkpoint_unit, self.device_combo)
        return [s.valueChanged for s in spins] + [c.currentIndexChanged for c in combos]

    def values(self) -> dict[str, Any]:
        every, unit = self.checkpoint_spin.value(), self.checkpoint_unit.currentText()
        share = self.validation_spin.value()
        return {
            "precision": self.precision_combo.currentText(),
            "optimizer": self.optimizer_combo.currentText(),
            "accumulate_grad_batches": self.accumulate_spin.value(),
            "checkpoint_every_epochs": every if unit == "epochs" else None,
            "checkpoint_every_steps": every if unit == "steps" else None,
            "preview_every_epochs": self.preview_spin.value() or None,
            "validation_share": None if share < 0 else round(share, 2),
            "device": self.device_combo.currentText(),
            "devices": self.devices_spin.value() or "auto",
            "num_workers": self.workers_spin.value(),
            "seed": self.seed_spin.value(),
        }

    def apply(self, values: Mapping[str, Any]) -> None:
        """Set the fields the mapping names; leave the others."""
        if values.get("checkpoint_every_steps"):
            self.checkpoint_unit.setCurrentText("steps")
            self.checkpoint_spin.setValue(int(values["checkpoint_every_steps"]))
        elif values.get("checkpoint_every_epochs"):
            self.checkpoint_unit.setCurrentText("epochs")
            self.checkpoint_spin.setValue(int(values["checkpoint_every_epochs"]))
        if "preview_every_epochs" in values:
            self.preview_spin.setValue(int(values["preview_every_epochs"] or 0))
        if "validation_share" in values:
            share = values["validation_share"]
            self.validation_spin.setValue(_OWN_SPLIT if share is None else float(share))
        if "devices" in values:
            devices = values["devices"]
            self.devices_spin.setValue(0 if devices == "auto" else int(devices))
        for key, widget in (("accumulate_grad_batches", self.accumulate_spin),
                            ("num_workers", self.workers_spin), ("seed", self.seed_spin)):
            if values.get(key) is not None:
                widget.setValue(int(values[key]))
        for key, widget in (("precision", self.precision_combo), ("optimizer", self.optimizer_combo),
                            ("device", self.device_combo)):
            if values.get(key):
                widget.setCurrentText(str(values[key]))
