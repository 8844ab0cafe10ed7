"""How recordings become clips (Whisper model, language, mode, clip lengths), and the
progress of that work with its ETA and Cancel.

One panel for both, because they belong together for the user: the options apply to the
next files dropped, and while files are being processed the same place shows how far it
has come and offers to stop. The Whisper model and language are the app's setting (the
Settings dialog shows the same two), not the dataset's: `AsrChoice` keeps them in step and
fills the advice row under the options (a better model in one click, a language that needs
another model) with `show_advice`.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from voicelab.core.audio import SPEECH_LEVEL_DB
from voicelab.core.dataset.asr import ASROptions
from voicelab.core.dataset.pipeline import PipelineOptions
from voicelab.core.dataset.slicing import SliceOptions
from voicelab.core.models_whisper import WhisperAdvice
from voicelab.core.progress import EtaEstimator, format_duration, format_time_left
from voicelab.core.settings import ASR_MODELS, Settings
from voicelab.ui.widgets.language_combo import fill_languages

MODES = (("transcribe", "Slice and transcribe (Whisper)"), ("vad", "Slice by silence only"))


class PreparePanel(QWidget):
    cancelRequested = Signal()
    processRequested = Signal()
    choiceTaken = Signal(object)  # a models_whisper.ModelChoice from the advice row

    def __init__(self, asr_model: str = Settings.asr_model, language: str = "auto",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_combo = QComboBox()
        self.model_combo.addItems(ASR_MODELS)
        self.model_combo.setCurrentText(asr_model if asr_model in ASR_MODELS else Settings.asr_model)
        self.model_combo.setToolTip("Whisper model (the same setting as in Settings): larger ones "
                                    "are slower and more accurate; '.en' models hear English only.")
        self.language_combo = QComboBox()
        fill_languages(self.language_combo, language)
        self.mode_combo = QComboBox()
        for code, name in MODES:
            self.mode_combo.addItem(name, code)
        self.mode_combo.currentIndexChanged.connect(self._mode_changed)
        self.min_spin = self._seconds(1.0, 0.3, 10.0, "Clips shorter than this are merged or flagged.")
        self.max_spin = self._seconds(12.0, 2.0, 30.0, "Longer stretches are split at their widest pauses.")
        self.level_box = QCheckBox("Even out loudness")
        self.level_box.setToolTip(f"Scale every clip to {SPEECH_LEVEL_DB:g} dBFS RMS (peaks kept under "
                                  "-1 dBFS), so the dataset's clips play at one loudness. Training "
                                  "evens clips out to this level either way.")
        self.process_button = QPushButton("Process remaining")
        self.process_button.setToolTip("Continue with recordings that were not finished "
                                       "(cancelled, or the app was closed).")
        self.process_button.clicked.connect(self.processRequested)
        self.process_button.setVisible(False)

        options = QHBoxLayout()
        self.model_label = QLabel("&Whisper model")
        self.model_label.setBuddy(self.model_combo)
        language_label = QLabel("&Language")
        language_label.setBuddy(self.language_combo)
        for widget in (self.mode_combo, self.model_label, self.model_combo, language_label,
                       self.language_combo, QLabel("Clip length"), self.min_spin, QLabel("to"),
                       self.max_spin, self.level_box):
            options.addWidget(widget)
        options.addStretch(1)
        options.addWidget(self.process_button)

        self.advice_label = QLabel(objectName="whisperAdvice")
        self.advice_label.setWordWrap(True)
        self.advice_buttons = QHBoxLayout()
        self.advice_buttons.setContentsMargins(0, 0, 0, 0)
        advice = QHBoxLayout()
        advice.setContentsMargins(0, 0, 0, 0)
        advice.addWidget(self.advice_label, 1)
        advice.addLayout(self.advice_buttons)
        self.advice_row = QWidget()
        self.advice_row.setLayout(advice)
        self.advice_row.setVisible(False)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.status = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancelRequested)
        running = QHBoxLayout()
        running.addWidget(self.progress, 1)
        running.addWidget(self.status, 2)
        running.addWidget(self.cancel_button)
        self.running_row = QWidget()
        self.running_row.setLayout(running)
        running.setContentsMargins(0, 0, 0, 0)
        self.running_row.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(options)
        layout.addWidget(self.advice_row)
        layout.addWidget(self.running_row)
        self._eta = EtaEstimator()

    def _seconds(self, value: float, low: float, high: float, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(low, high)
        spin.setSingleStep(0.5)
        spin.setDecimals(1)
        spin.setSuffix(" s")
        spin.setValue(value)
        spin.setToolTip(tip)
        return spin

    def _mode_changed(self) -> None:
        whisper = self.mode_combo.currentData() == "transcribe"
        self.model_combo.setEnabled(whisper)
        self.language_combo.setEnabled(whisper)

    def options(self, settings=None) -> PipelineOptions:
        """The pipeline options chosen here (device and the rest from `settings`)."""
        asr = ASROptions.from_settings(settings, model=self.model_combo.currentText(),
                                       language=self.language_combo.currentData())
        return PipelineOptions(asr=asr, mode=self.mode_combo.currentData(),
                               slicing=SliceOptions(min_seconds=self.min_spin.value(),
                                                    max_seconds=self.max_spin.value()),
                               loudness_db=SPEECH_LEVEL_DB if self.level_box.isChecked() else None)

    def set_options(self, saved: dict[str, object]) -> None:
        """Show the options a dataset was last processed with (its `options["pipeline"]`).

        All but the Whisper model and language: those are the app's one setting, so opening
        a dataset never makes this panel disagree with the Settings dialog."""
        if not saved:
            return
        options = PipelineOptions.from_dict(saved)
        index = self.mode_combo.findData(options.mode)
        if index >= 0:
            self.mode_combo.setCurrentIndex(index)
        self.level_box.setChecked(options.loudness_db is not None)
        self.min_spin.setValue(options.slicing.min_seconds)
        self.max_spin.setValue(options.slicing.max_seconds)

    # -- the advice row ---------------------------------------------------------------------
    def show_advice(self, advice: WhisperAdvice) -> None:
        """Say what `advice` says, with a button per choice (hidden when there is nothing)."""
        while self.advice_buttons.count():
            old = self.advice_buttons.takeAt(0).widget()
            old.hide()  # gone now, not when the deferred delete comes
            old.deleteLater()
        self.advice_label.setStyleSheet("QLabel#whisperAdvice { color: #b45309; }" if advice.blocking else "")
        self.advice_label.setText(advice.text)
        for choice in advice.choices:
            button = QPushButton(choice.label)
            button.clicked.connect(lambda _checked=False, c=choice: self.choiceTaken.emit(c))
            self.advice_buttons.addWidget(button)
        self.advice_row.setVisible(bool(advice.text))

    def advice_busy(self, text: str) -> None:
        """A choice is being carried out (a download): say so, and take no second click."""
        self.advice_label.setText(text)
        for index in range(self.advice_buttons.count()):
            self.advice_buttons.itemAt(index).widget().setEnabled(False)

    # -- running ----------------------------------------------------------------------------
    def start(self, message: str) -> None:
        self._eta = EtaEstimator()
        self.progress.setRange(0, 0)
        self.status.setText(message)
        self.cancel_button.setEnabled(True)
        self.running_row.setVisible(True)

    def update(self, done: float, total: float, message: str) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(1.0, done / total)))
            eta = self._eta.eta(done, total)
            self.progress.setFormat(f"%p %  ·  {format_duration(done)} of {format_duration(total)} audio")
            self.status.setText(f"{message}  ·  {format_time_left(eta)}" if eta is not None else message)
        else:
            self.status.setText(message)

    def stop(self) -> None:
        self.running_row.setVisible(False)

    def cancelling(self) -> None:
        self.cancel_button.setEnabled(False)
        self.status.setText("Cancelling… (finishing the current file's step)")
