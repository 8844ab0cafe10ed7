"""The settings of a new training run: dataset, base voice, quality, and the knobs behind them.

The form only collects values and shows what is wrong with them; the tab lists the
datasets and base voices, inspects a chosen base and creates the run. `settings()` gives a
plain mapping for `core.training.config.config_from_dict`, the one validator: its message
is shown under the form as it is, so the form never repeats the rules. The main
hyper-parameters are in sight; the rest sit under "Advanced", folded away. Settings the
form has no field for (the `model` architecture overrides, silence trimming, …) survive a
loaded settings file (`apply_settings`) and travel with the rest.

The fields scroll; the settings problems and Train stay under them, always in view (with
Advanced open the fields are taller than a laptop screen). Messages that arrive a moment
after a change (the base check, a download, the batch probe, the problems) have their
space before they arrive (`MessageLine`), so nothing under the pointer moves. The base
check speaks plainly; what it found in detail is one click ("Details") or a hover away. The
base-voice rows, and what sets and reads them, are `BaseVoiceRows` (train_base.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from voicelab.core.training.run.config import (
    FINETUNE_LEARNING_RATE,
    SCRATCH_LEARNING_RATE,
    TrainConfig,
    TrainingConfigError,
    config_from_dict,
    rate_text,
)
from voicelab.core.training.vits.qualities import QUALITIES
from voicelab.ui.widgets.message_line import ERROR_STYLE, OK_STYLE, MessageLine
from voicelab.ui.widgets.train_advanced import DEFAULTS as _DEFAULTS
from voicelab.ui.widgets.train_advanced import AdvancedSettings
from voicelab.ui.widgets.train_advanced import combo as _combo
from voicelab.ui.widgets.train_advanced import spin as _spin
from voicelab.ui.widgets.train_base import BaseVoiceRows

#: Keys this form has a field for; anything else in a loaded settings file is kept as is.
FORM_KEYS = ("dataset", "base", "base_sha256", "quality", "max_steps", "max_epochs", "batch_size",
             "learning_rate", "precision", "optimizer", "accumulate_grad_batches",
             "checkpoint_every_epochs", "checkpoint_every_steps", "preview_every_epochs",
             "validation_share", "device", "devices", "num_workers", "seed")


class TrainForm(BaseVoiceRows, QWidget):
    """Collects a run's settings; emits `trainRequested` when Train is clicked."""

    trainRequested = Signal()
    baseChanged = Signal(object)  # Path of the chosen base checkpoint, or None (from scratch)
    qualityChanged = Signal(str)
    datasetsRefreshRequested = Signal()
    downloadRequested = Signal(object)  # a catalog ModelEntry to download
    modelsDialogRequested = Signal()
    suggestBatchRequested = Signal()
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.extra: dict[str, Any] = {}  # loaded settings without a field here
        self._build()
        self._check_timer = QTimer(self, singleShot=True, interval=150)
        self._check_timer.timeout.connect(self.check)
        for signal in self._change_signals():
            signal.connect(self._changed)

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.dataset_combo = QComboBox()
        self.dataset_combo.setMinimumWidth(160)
        self.refresh_button = QToolButton()
        self.refresh_button.setText("↻")
        self.refresh_button.setToolTip("Look for new datasets")
        self.refresh_button.clicked.connect(self.datasetsRefreshRequested)
        dataset_row = QHBoxLayout()
        dataset_row.addWidget(self.dataset_combo, 1)
        dataset_row.addWidget(self.refresh_button)
        base_rows = self._build_base()

        self.quality_combo = QComboBox()
        for name, quality in QUALITIES.items():
            self.quality_combo.addItem(name, name)
            self.quality_combo.setItemData(self.quality_combo.count() - 1, quality.description,
                                           Qt.ToolTipRole)
        self.quality_combo.setCurrentText(_DEFAULTS.quality)
        self.quality_combo.currentTextChanged.connect(self.qualityChanged)

        self.limit_spin = _spin(1, 10_000_000, _DEFAULTS.max_epochs or 1000)
        self.limit_unit = _combo(("epochs", "steps"), "epochs")
        limit_row = QHBoxLayout()
        limit_row.addWidget(self.limit_spin, 1)
        limit_row.addWidget(self.limit_unit)
        self.batch_spin = _spin(1, 1024, _DEFAULTS.batch_size)
        self.batch_spin.setToolTip("Clips per step. Lower it if the GPU runs out of memory.")
        self.lr_edit = QLineEdit()  # empty: the run's default, which depends on the base
        self.lr_edit.setPlaceholderText(f"automatic: {rate_text(FINETUNE_LEARNING_RATE)}, or "
                                        f"{rate_text(SCRATCH_LEARNING_RATE)} from scratch")
        self.lr_edit.setToolTip("Leave it empty for the default. A fine-tune keeps its base voice's "
                                "intonation at a low rate; from scratch, Piper's rate is used.")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("automatic")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        form.addRow(self._buddy("&Dataset", self.dataset_combo), dataset_row)
        form.addRow(self._buddy("&Base voice", self.base_combo), self.base_combo)
        for row in base_rows:
            form.addRow("", row)
        form.addRow(self._buddy("&Quality", self.quality_combo), self.quality_combo)
        form.addRow(self._buddy("Stop &after", self.limit_spin), limit_row)
        self.suggest_button = QToolButton(text="Fit GPU", objectName="suggestBatchButton")
        self.suggest_button.setToolTip("Try real training steps on the GPU and pick the largest "
                                       "batch that fits its memory")
        self.suggest_button.clicked.connect(self.suggestBatchRequested)
        batch_row = QHBoxLayout()
        batch_row.addWidget(self.batch_spin, 1)
        batch_row.addWidget(self.suggest_button)
        form.addRow(self._buddy("Batch si&ze", self.batch_spin), batch_row)
        self.batch_status = MessageLine(2, objectName="batchStatus", visible=False)
        form.addRow("", self.batch_status)
        form.addRow(self._buddy("&Learning rate", self.lr_edit), self.lr_edit)
        form.addRow(self._buddy("Run &name", self.name_edit), self.name_edit)

        self.advanced_button = QToolButton()
        self.advanced_button.setText("Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.RightArrow)
        self.advanced_button.setStyleSheet("QToolButton { border: none; }")
        self.advanced_button.toggled.connect(self._toggle_advanced)
        self.advanced = AdvancedSettings()
        self.advanced.load_button.clicked.connect(self._load_clicked)
        self.advanced.setVisible(False)

        self.problem_label = MessageLine(2, objectName="formProblems")
        self.problem_label.setStyleSheet(ERROR_STYLE)
        self.problem_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.problem_label.setVisible(False)
        self.train_button = QPushButton("▶ Train")
        self.train_button.setDefault(True)
        self.train_button.setToolTip("Create a run with these settings and start training it")
        self.train_button.clicked.connect(self.trainRequested)

        fields = QWidget()
        fields_layout = QVBoxLayout(fields)
        fields_layout.setContentsMargins(0, 0, 0, 0)
        fields_layout.addLayout(form)
        fields_layout.addWidget(self.advanced_button)
        fields_layout.addWidget(self.advanced)
        fields_layout.addStretch(1)
        self.scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.NoFrame)
        self.scroll.setWidget(fields)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.problem_label)  # under the fields, with Train: always in view
        layout.addWidget(self.train_button)

    def _buddy(self, text: str, widget: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(widget)
        return label

    def _change_signals(self) -> list[Any]:
        return ([s.valueChanged for s in (self.limit_spin, self.batch_spin)]
                + [c.currentIndexChanged for c in (self.dataset_combo, self.base_combo,
                                                   self.quality_combo, self.limit_unit)]
                + [self.lr_edit.textChanged] + self.advanced.change_signals())

    def _toggle_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_button.setArrowType(Qt.DownArrow if shown else Qt.RightArrow)
        if shown:  # bring what just opened into view, once the layout has made room for it
            QTimer.singleShot(0, self, lambda: self.scroll.ensureWidgetVisible(self.advanced, 0, 0))

    def _changed(self, *_args: Any) -> None:
        self._check_timer.start()
        self.changed.emit()

    # -- datasets, quality, batch (the base's rows: train_base.py) ------------------------
    def set_datasets(self, datasets: Iterable[tuple[str, Path, str]], select: str | None = None) -> None:
        """(name, folder, summary) per dataset; keeps the current choice when it is still there."""
        current = select or self.dataset_combo.currentData()
        self.dataset_combo.blockSignals(True)
        self.dataset_combo.clear()
        for name, folder, summary in datasets:
            self.dataset_combo.addItem(f"{name}  ({summary})" if summary else name, str(folder))
            if name == current:
                current = str(folder)
        index = self.dataset_combo.findData(str(current)) if current else -1
        self.dataset_combo.setCurrentIndex(max(0, index))
        self.dataset_combo.blockSignals(False)
        self._changed()

    def dataset_path(self) -> Path | None:
        data = self.dataset_combo.currentData()
        return Path(data) if data else None

    def quality(self) -> str:
        return self.quality_combo.currentText()

    def set_quality(self, quality: str) -> None:
        self.quality_combo.setCurrentText(quality)

    def set_batch_status(self, text: str, ok: bool | None = None) -> None:
        """What the batch-size probe found (ok=False: in red). Its space, once made by the
        first probe, stays: the answer arrives seconds after the click."""
        self.batch_status.setText(text)
        self.batch_status.setStyleSheet("" if ok is None else (OK_STYLE if ok else ERROR_STYLE))
        self.batch_status.setVisible(bool(text) or self.batch_status.isVisible())

    # -- settings -------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """What the form says, as plain data for `config_from_dict`."""
        limit, unit = self.limit_spin.value(), self.limit_unit.currentText()
        text = self.lr_edit.text().strip()
        try:
            learning_rate: Any = float(text) if text else None  # None: by the base
        except ValueError:
            learning_rate = text  # the validator says what is wrong with it
        base = self.base_path()
        values: dict[str, Any] = {
            **self.extra,
            "dataset": self.dataset_combo.currentData() or "",
            "quality": self.quality(),
            "base": str(base) if base else None,
            "max_steps": limit if unit == "steps" else None,
            "max_epochs": limit if unit == "epochs" else None,
            "batch_size": self.batch_spin.value(),
            "learning_rate": learning_rate,
            **self.advanced.values(),
        }
        if base is None or (self.extra.get("base") and str(base) != str(self.extra.get("base"))):
            values.pop("base_sha256", None)  # a checksum belongs to the base it was made for
        return values

    def run_name(self) -> str | None:
        return self.name_edit.text().strip() or None

    def apply_settings(self, values: Mapping[str, Any]) -> None:
        """Fill the fields from settings (a train.yaml); keep the keys without a field."""
        self.extra = {k: v for k, v in values.items()
                      if k not in FORM_KEYS and k != "lineage"}
        if "base_sha256" in values and values.get("base"):
            self.extra["base_sha256"] = values["base_sha256"]
            self.extra["base"] = values["base"]
        if values.get("dataset"):
            folder = str(Path(str(values["dataset"])).expanduser())
            index = next((i for i in range(self.dataset_combo.count())
                          if Path(self.dataset_combo.itemData(i)).resolve() == Path(folder).resolve()), -1)
            if index < 0:
                self.dataset_combo.addItem(Path(folder).name, folder)
                index = self.dataset_combo.count() - 1
            self.dataset_combo.setCurrentIndex(index)
        if "base" in values:
            self.base_explicit = True
            if values["base"]:
                self.choose_base(Path(str(values["base"])))
            else:
                self.base_combo.setCurrentIndex(0)
        if values.get("quality") in QUALITIES:
            self.set_quality(values["quality"])
        if values.get("max_steps"):
            self.limit_unit.setCurrentText("steps")
            self.limit_spin.setValue(int(values["max_steps"]))
        elif values.get("max_epochs"):
            self.limit_unit.setCurrentText("epochs")
            self.limit_spin.setValue(int(values["max_epochs"]))
        if values.get("learning_rate") is not None:
            rate = values["learning_rate"]
            self.lr_edit.setText(f"{rate:g}" if isinstance(rate, (int, float)) else str(rate))
        if values.get("batch_size") is not None:
            self.batch_spin.setValue(int(values["batch_size"]))
        self.advanced.apply(values)
        kept = sorted(k for k in self.extra if k not in ("base", "base_sha256"))
        self.advanced.extra_label.setText(f"Also from the file: {', '.join(kept)}" if kept else "")
        self.check()
        self.changed.emit()  # settings without a field changed too (the base check reads them)

    def _load_clicked(self) -> None:
        from voicelab.core.fileio import read_yaml

        path, _ = QFileDialog.getOpenFileName(self, "Load training settings", str(Path.home()),
                                              "Settings (*.yaml *.yml);;All files (*)")
        if not path:
            return
        try:
            values = read_yaml(Path(path))
        except Exception as error:  # YAML, encoding or file errors: say so where the user looks
            self.show_problem(f"Cannot read {Path(path).name}: {' '.join(str(error).split())[:300]}")
            return
        if not isinstance(values, dict):
            self.show_problem(f"{Path(path).name} does not hold training settings (key: value lines).")
            return
        self.apply_settings(values)

    def check(self) -> TrainConfig | None:
        """Validate the settings; show the problems under the form. Returns the config or None."""
        try:
            config = config_from_dict(self.settings())
        except TrainingConfigError as error:
            self.show_problem(str(error))
            return None
        self.show_problem("")
        return config

    def show_problem(self, text: str) -> None:
        self.problem_label.setText(text)
        self.problem_label.setVisible(bool(text))

    def set_busy(self, busy: bool, text: str = "▶ Train") -> None:
        """While a run is created or trains, Train waits."""
        self.train_button.setEnabled(not busy)
        self.train_button.setText(text)
