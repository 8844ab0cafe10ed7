"""The Generate tab: pick a voice and a preset, type text, hear it, export it.

All synthesis and export run through `JobManager.run`; presets are saved by the core's
`PresetStore` (atomically) a moment after a slider stops moving.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QInputDialog, QLabel, QListWidget, QListWidgetItem, QMenu,
                               QMessageBox, QPlainTextEdit, QProgressBar, QPushButton, QSlider,
                               QSplitter, QToolButton, QVBoxLayout, QWidget)

from voicelab.core.audio import WRITE_FORMATS, read_audio
from voicelab.core.errors import VoiceLabError
from voicelab.core.synthesis.history import History, HistoryEntry
from voicelab.core.synthesis.errors import PresetError
from voicelab.core.synthesis.presets import Preset, PresetStore
from voicelab.core.synthesis.voices import VoiceInfo, import_voice, list_voices
from voicelab.core.workspace import Workspace
from voicelab.ui.audio_out import AudioOutput, AudioOutputError, default_output
from voicelab.ui.error_dialog import show_error
from voicelab.ui.widgets.waveform import WaveformView
from voicelab.ui.workers import Job, JobManager

log = logging.getLogger(__name__)

#: (preset field, label, slider min, slider max, divisor, unit, optional)
_SLIDERS = (
    ("speed", "Speed", 25, 300, 100, "×", False),
    ("variation", "Variation", 0, 200, 100, "", True),
    ("rhythm_variation", "Rhythm variation", 0, 200, 100, "", True),
    ("sentence_pause", "Sentence pause", 0, 300, 100, " s", False),
    ("volume", "Volume", 0, 300, 100, "×", False),
)
_VOICE_DEFAULTS = {"variation": ("noise_scale", 0.667), "rhythm_variation": ("noise_w", 0.8)}
_SAVE_DELAY_MS = 400
_CURSOR_INTERVAL_MS = 30
_FILTERS = {"wav": "WAV audio (*.wav)", "flac": "FLAC audio (*.flac)",
            "ogg": "Ogg Vorbis audio (*.ogg)", "mp3": "MP3 audio (*.mp3)"}


def _generate(workspace: Workspace, text: str, preset: Preset, history: History, *,
              progress, cancel) -> Tuple[HistoryEntry, np.ndarray, int]:
    """Worker side: make the clip and read it back, so the UI thread never touches the disk."""
    from voicelab.core.synthesis.generate import generate_clip  # piper/onnxruntime: not at start-up

    entry = generate_clip(workspace, text, preset, progress=progress, cancel=cancel, history=history)
    samples, rate = read_audio(entry.path)
    return entry, samples, rate


def _export(entry: HistoryEntry, path: Path, output_rate: Optional[int], *, progress, cancel) -> Path:
    progress(0, 1, f"Exporting {Path(path).name}")
    from voicelab.core.synthesis.export import export_entry

    result = export_entry(entry, path, output_rate=output_rate)
    progress(1, 1, f"Exported {Path(path).name}")
    return result


def _dropped_model(mime) -> Optional[Path]:
    """The one local `.onnx` file a drag carries, or None (anything else is refused)."""
    if mime is None or not mime.hasUrls():
        return None
    urls = mime.urls()
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    path = Path(urls[0].toLocalFile())
    return path if path.suffix.lower() == ".onnx" else None


def _voice_default(voice: Optional[VoiceInfo], field: str) -> float:
    key, fallback = _VOICE_DEFAULTS[field]
    if voice is None:
        return fallback
    try:
        inference = json.loads(Path(voice.config_path).read_text(encoding="utf-8")).get("inference", {})
        return float(inference.get(key, fallback))
    except (OSError, ValueError, TypeError, AttributeError):
        return fallback


class GenerateTab(QWidget):
    """Text in, speech out: voice/preset pickers, settings sliders, editor, player, history."""

    clip_generated = Signal(object)  # HistoryEntry

    def __init__(self, workspace: Workspace, jobs: JobManager, audio_output: Optional[AudioOutput] = None,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.jobs = jobs
        self.output = audio_output if audio_output is not None else default_output()
        self.presets = PresetStore.open(workspace)
        self.history = History.open(workspace)
        self.voices: List[VoiceInfo] = []
        self.preset: Preset = self.presets.default()
        self.current_entry: Optional[HistoryEntry] = None
        self.current_audio: Optional[Tuple[np.ndarray, int]] = None
        self.generate_job: Optional[Job] = None
        self.export_job: Optional[Job] = None
        self.import_job: Optional[Job] = None
        self._sliders: Dict[str, Tuple[QSlider, QLabel]] = {}
        self._save_timer = QTimer(self, singleShot=True, interval=_SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_preset)
        self._cursor_timer = QTimer(self, interval=_CURSOR_INTERVAL_MS)
        self._cursor_timer.timeout.connect(self._update_cursor)

        self._build()
        self.reload_voices()
        self.reload_presets(select=self.preset.name)
        self.reload_history()
        self._apply_output_state()
        self._update_buttons()
        problems = self.presets.problems + self.history.problems
        if problems:
            self.set_status(" ".join(problems), error=True)

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        self.voice_combo = QComboBox(objectName="voiceCombo")
        self.voice_combo.setMinimumContentsLength(18)
        self.voice_combo.currentIndexChanged.connect(self._voice_chosen)
        self.preset_combo = QComboBox(objectName="presetCombo")
        self.preset_combo.setMinimumContentsLength(14)
        self.preset_combo.currentIndexChanged.connect(self._preset_chosen)
        self.preset_menu_button = QToolButton(objectName="presetMenuButton", text="…")
        self.preset_menu_button.setToolTip("Manage presets")
        self.preset_menu_button.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self.preset_menu_button)
        self.new_preset_action = menu.addAction("&New…", lambda: self.new_preset())
        self.rename_preset_action = menu.addAction("&Rename…", lambda: self.rename_preset())
        self.duplicate_preset_action = menu.addAction("D&uplicate", lambda: self.duplicate_preset())
        self.delete_preset_action = menu.addAction("&Delete", lambda: self.delete_preset())
        menu.addSeparator()
        self.default_preset_action = menu.addAction("Set as &default", lambda: self.set_default_preset())
        self.preset_menu_button.setMenu(menu)
        preset_row = QHBoxLayout()
        preset_row.addWidget(self.preset_combo, 1)
        preset_row.addWidget(self.preset_menu_button)
        self.speaker_combo = QComboBox(objectName="speakerCombo")
        self.speaker_combo.currentIndexChanged.connect(self._speaker_chosen)
        self.speaker_label = QLabel("&Speaker:")
        self.speaker_label.setBuddy(self.speaker_combo)
        pickers = QFormLayout()
        pickers.addRow("&Voice:", self.voice_combo)
        pickers.addRow(self.speaker_label, self.speaker_combo)
        preset_label = QLabel("&Preset:")  # a row holding a layout gets no buddy by itself
        preset_label.setBuddy(self.preset_combo)
        pickers.addRow(preset_label, preset_row)
        self.speaker_label.setVisible(False)
        self.speaker_combo.setVisible(False)
        self.setAcceptDrops(True)

        settings = QGroupBox("Speaking settings (saved in the preset)")
        form = QFormLayout(settings)
        for field, label, low, high, divisor, unit, optional in _SLIDERS:
            slider = QSlider(Qt.Horizontal, objectName=f"{field}Slider")
            slider.setRange(low, high)
            slider.setPageStep(10)
            value_label = QLabel()
            value_label.setMinimumWidth(130)
            slider.valueChanged.connect(lambda value, f=field: self._slider_moved(f, value))
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(value_label)
            form.addRow(f"{label}:", row)
            self._sliders[field] = (slider, value_label)

        top = QHBoxLayout()
        top.addLayout(pickers, 1)
        top.addWidget(settings, 2)

        self.text_edit = QPlainTextEdit(objectName="textEdit")
        self.text_edit.setPlaceholderText("Type or paste the text to speak, then press Ctrl+Enter.")
        self.text_edit.textChanged.connect(self._text_changed)
        self.char_count = QLabel("0 characters", objectName="charCount")

        self.generate_button = QPushButton("Generate", objectName="generateButton")
        self.generate_button.setDefault(True)
        self.generate_button.setToolTip("Speak the text (Ctrl+Enter)")
        self.generate_button.clicked.connect(self._generate_clicked)
        self.play_button = QPushButton("Play", objectName="playButton")
        self.play_button.clicked.connect(self.toggle_play)
        self.export_button = QPushButton("&Export…", objectName="exportButton")
        self.export_button.clicked.connect(lambda: self.export_clip())
        self.progress = QProgressBar(objectName="generateProgress")
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        self.status_label = QLabel(objectName="statusLabel")
        self.status_label.setWordWrap(True)
        self.output_label = QLabel(objectName="outputLabel")  # why Play is off, when it is
        self.output_label.setWordWrap(True)
        self.output_label.setStyleSheet("color: #c0392b;")
        self.output_label.setVisible(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button)
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.char_count)

        self.waveform = WaveformView()

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(top)
        left_layout.addWidget(self.text_edit, 3)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.status_label)
        left_layout.addWidget(self.output_label)
        left_layout.addWidget(self.waveform, 2)

        self.history_list = QListWidget(objectName="historyList")
        self.history_list.setWordWrap(True)
        self.history_list.currentItemChanged.connect(self._history_selected)
        self.history_list.itemDoubleClicked.connect(lambda item: self.play_entry(self._entry_of(item)))
        self.history_play = QPushButton("Play", objectName="historyPlay")
        self.history_play.clicked.connect(lambda: self.play_entry(self.selected_entry()))
        self.history_export = QPushButton("Export…", objectName="historyExport")
        self.history_export.clicked.connect(lambda: self.export_clip(entry=self.selected_entry()))
        self.history_delete = QPushButton("Delete", objectName="historyDelete")
        self.history_delete.clicked.connect(lambda: self.delete_entry(self.selected_entry()))
        history_buttons = QHBoxLayout()
        for button in (self.history_play, self.history_export, self.history_delete):
            history_buttons.addWidget(button)
        right = QGroupBox("History")
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.history_list, 1)
        right_layout.addLayout(history_buttons)

        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self, context=Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self._generate_clicked)
        self.space_shortcut = QShortcut(QKeySequence(Qt.Key_Space), self, context=Qt.WidgetWithChildrenShortcut)
        self.space_shortcut.activated.connect(self._space_pressed)
        delete = QShortcut(QKeySequence.Delete, self.history_list, context=Qt.WidgetShortcut)
        delete.activated.connect(lambda: self.delete_entry(self.selected_entry()))

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
            if voice.problem:
                index = self.voice_combo.count() - 1
                self.voice_combo.setItemData(index, voice.problem, Qt.ToolTipRole)
        self.voice_combo.blockSignals(False)

    def reload_presets(self, select: Optional[str] = None) -> None:
        names = self.presets.names() or [self.preset.name]
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        self.preset_combo.addItems(names)
        index = max(0, self.preset_combo.findText(select)) if select else 0
        self.preset_combo.setCurrentIndex(index)
        self.preset_combo.blockSignals(False)
        self._preset_chosen(index)

    def _preset_chosen(self, index: int) -> None:
        name = self.preset_combo.itemText(index)
        if name in self.presets:
            self.preset = self.presets.get(name)
        self._show_preset()

    def _voice_info(self, voice_id: str) -> Optional[VoiceInfo]:
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
        self._show_speakers()
        for field, _label, _low, _high, divisor, _unit, _optional in _SLIDERS:
            slider, _value_label = self._sliders[field]
            value = getattr(preset, field)
            shown = _voice_default(self._voice_info(preset.voice), field) if value is None else value
            slider.blockSignals(True)
            slider.setValue(int(round(shown * divisor)))
            slider.blockSignals(False)
            self._show_value(field)
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

    def _show_value(self, field: str) -> None:
        spec = next(s for s in _SLIDERS if s[0] == field)
        _field, _label, _low, _high, divisor, unit, optional = spec
        slider, value_label = self._sliders[field]
        value = getattr(self.preset, field)
        if value is None:
            text = f"{slider.value() / divisor:.2f} (voice default)"
        else:
            text = f"{value:.2f}{unit}"
        value_label.setText(text)

    def _slider_moved(self, field: str, value: int) -> None:
        divisor = next(s[4] for s in _SLIDERS if s[0] == field)
        setattr(self.preset, field, round(value / divisor, 3))
        self._show_value(field)
        self._save_timer.start()

    def _voice_chosen(self, index: int) -> None:
        voice_id = self.voice_combo.itemData(index)
        if not voice_id or voice_id == self.preset.voice:
            return
        self.preset = dataclasses.replace(self.preset, voice=voice_id, speaker=None)
        self._show_preset()
        self.save_preset()

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

    # -- preset management ---------------------------------------------------------------------
    def _ask_name(self, title: str, label: str, text: str = "") -> Optional[str]:
        name, ok = QInputDialog.getText(self, title, label, text=text)
        return name if ok and name.strip() else None

    def _preset_failed(self, title: str, exc: VoiceLabError) -> bool:
        show_error(self, title, str(exc))
        return False

    def _flush_preset(self) -> bool:
        """Write the shown preset (pending slider changes, or a never-saved one) first."""
        if self._save_timer.isActive() or self.preset.name not in self.presets:
            return self.save_preset()
        return True

    def _select_preset(self, name: str) -> None:
        self.preset = self.presets.get(name) if name in self.presets else self.presets.default()
        self.reload_presets(select=self.preset.name)

    def new_preset(self, name: Optional[str] = None) -> bool:
        """Make a preset with the shown voice and default settings; asks for a name when None."""
        if name is None:
            name = self._ask_name("New preset", "Name of the new preset:")
            if name is None:
                return False
        self._flush_preset()
        try:
            created = self.presets.create(Preset(name=name, voice=self.preset.voice, speaker=self.preset.speaker))
        except PresetError as exc:
            return self._preset_failed("Could not create the preset", exc)
        self._select_preset(created.name)
        self.set_status(f"Preset '{created.name}' created.")
        return True

    def rename_preset(self, name: Optional[str] = None) -> bool:
        old = self.preset.name
        if name is None:
            name = self._ask_name("Rename preset", f"New name for '{old}':", old)
            if name is None:
                return False
        if not self._flush_preset():
            return False
        try:
            renamed = self.presets.rename(old, name)
        except PresetError as exc:
            return self._preset_failed("Could not rename the preset", exc)
        self._select_preset(renamed.name)
        self.set_status(f"Preset '{old}' renamed to '{renamed.name}'.")
        return True

    def duplicate_preset(self) -> bool:
        if not self._flush_preset():
            return False
        try:
            clone = self.presets.duplicate(self.preset.name)
        except PresetError as exc:
            return self._preset_failed("Could not duplicate the preset", exc)
        self._select_preset(clone.name)
        self.set_status(f"Preset '{clone.name}' created.")
        return True

    def delete_preset(self, confirm: bool = True) -> bool:
        name = self.preset.name
        if confirm:
            answer = QMessageBox.question(self, "Delete preset", f"Delete the preset '{name}'?")
            if answer != QMessageBox.Yes:
                return False
        self._save_timer.stop()
        try:
            self.presets.delete(name)
        except PresetError as exc:
            return self._preset_failed("Could not delete the preset", exc)
        self._select_preset(self.presets.default().name)
        self.set_status(f"Preset '{name}' deleted.")
        return True

    def set_default_preset(self) -> bool:
        if not self._flush_preset():
            return False
        try:
            self.presets.set_default(self.preset.name)
        except PresetError as exc:
            return self._preset_failed("Could not set the default preset", exc)
        self.set_status(f"'{self.preset.name}' is now the preset VoiceLab starts with.")
        return True

    # -- importing voices by drag and drop -----------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if _dropped_model(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        model = _dropped_model(event.mimeData())
        if model is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.import_dropped(model)

    def import_dropped(self, model_path: Path) -> Job:
        """Import a voice (its config beside it) in a job, then pick it for this preset."""
        job = self.jobs.run(f"Importing {Path(model_path).name}", import_voice, self.workspace, Path(model_path))
        self.import_job = job
        job.finished.connect(self._on_imported)
        job.failed.connect(lambda message, details: show_error(self, "Import failed", message, details))
        job.failed.connect(lambda message, _details: self.set_status(message, error=True))
        job.ended.connect(lambda: setattr(self, "import_job", None))
        self.set_status(f"Importing {Path(model_path).name}…")
        return job

    def _on_imported(self, voice: VoiceInfo) -> None:
        self.reload_voices()
        index = self.voice_combo.findData(voice.id)
        if index >= 0:
            self.voice_combo.setCurrentIndex(index)  # saves it into the preset
        self._show_preset()
        self.set_status(f"Voice '{voice.name}' imported.")

    # -- generating ----------------------------------------------------------------------------
    def _text_changed(self) -> None:
        count = len(self.text_edit.toPlainText())
        self.char_count.setText(f"{count} character{'s' if count != 1 else ''}")
        self._update_buttons()

    def _generate_clicked(self) -> None:
        if self.generate_job is not None:
            self.generate_job.cancel()
            return
        self.generate()

    def generate(self) -> Optional[Job]:
        text = self.text_edit.toPlainText().strip()
        if not text:
            self.set_status("Type some text to speak first.")
            return None
        if self._save_timer.isActive():
            self.save_preset()
        self.stop()
        job = self.jobs.run("Generating speech", _generate, self.workspace, text,
                            dataclasses.replace(self.preset), self.history)
        self.generate_job = job
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_generated)
        job.failed.connect(lambda message, details: show_error(self, "Generation failed", message, details))
        job.failed.connect(lambda message, _details: self.set_status(message, error=True))
        job.cancelled.connect(lambda: self.set_status("Generation cancelled."))
        job.ended.connect(self._on_generate_ended)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.set_status("Generating…")
        self._update_buttons()
        return job

    def _on_progress(self, done: float, total: float, message: str) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(1.0, done / total)))
        if message:
            self.progress.setFormat(message)

    def _on_generated(self, result) -> None:
        entry, samples, rate = result
        self.reload_history(select=entry.id)
        self._show_clip(entry, samples, rate)
        self.set_status(f"Made a {entry.duration:.1f} s clip.")
        self.clip_generated.emit(entry)

    def _on_generate_ended(self) -> None:
        self.generate_job = None
        self.progress.setVisible(False)
        self._update_buttons()

    def _show_clip(self, entry: HistoryEntry, samples: np.ndarray, rate: int) -> None:
        self.current_entry = entry
        self.current_audio = (samples, rate)
        self.waveform.set_audio(samples, rate)
        self._update_buttons()

    # -- playback ------------------------------------------------------------------------------
    def _apply_output_state(self) -> None:
        if not self.output.available:
            reason = self.output.unavailable_reason or "Playback is unavailable."
            for button in (self.play_button, self.history_play):
                button.setToolTip(reason)
            self.output_label.setText(f"{reason} Generating and exporting still work.")
            self.output_label.setVisible(True)
        else:
            self.play_button.setToolTip("Play or stop the clip (Space)")

    def _space_pressed(self) -> None:
        focus = self.focusWidget()
        if isinstance(focus, QPlainTextEdit):
            focus.insertPlainText(" ")
            return
        self.toggle_play()

    def toggle_play(self) -> None:
        if self.output.available and self.output.is_playing():
            self.stop()
        else:
            self.play()

    def play(self) -> bool:
        if self.current_audio is None or not self.output.available:
            return False
        samples, rate = self.current_audio
        try:
            self.output.play(samples, rate)
        except AudioOutputError as exc:
            self.set_status(str(exc), error=True)
            return False
        self.play_button.setText("Stop")
        self.waveform.set_cursor(0.0)
        self._cursor_timer.start()
        return True

    def stop(self) -> None:
        if self.output.available:
            self.output.stop()
        self._cursor_timer.stop()
        self.waveform.set_cursor(None)
        self.play_button.setText("Play")

    def _update_cursor(self) -> None:
        if not self.output.is_playing():
            self.stop()
            return
        self.waveform.set_cursor(self.output.position_s())

    def play_entry(self, entry: Optional[HistoryEntry]) -> bool:
        if entry is None:
            return False
        if not self._load_entry(entry):
            return False
        return self.play()

    def _load_entry(self, entry: HistoryEntry) -> bool:
        if self.current_entry is not None and self.current_entry.id == entry.id and self.current_audio:
            return True
        try:
            samples, rate = read_audio(entry.path)
        except VoiceLabError as exc:
            self.set_status(str(exc), error=True)
            return False
        self.stop()
        self._show_clip(entry, samples, rate)
        return True

    # -- export --------------------------------------------------------------------------------
    def export_clip(self, path: Optional[Path] = None, entry: Optional[HistoryEntry] = None) -> Optional[Job]:
        """Export a clip (default: the current one); asks for a file when `path` is None.

        The format comes from the file ending; the rate from the preset (None = the clip's)."""
        entry = entry or self.current_entry
        if entry is None:
            self.set_status("Generate or pick a clip to export first.")
            return None
        if path is None:
            path = self._ask_export_path(entry)
            if path is None:
                return None
        path = Path(path)
        job = self.jobs.run("Exporting clip", _export, entry, path, self.preset.sample_rate)
        self.export_job = job
        job.finished.connect(lambda result: self.set_status(f"Exported {Path(result)}."))
        job.failed.connect(lambda message, details: show_error(self, "Export failed", message, details))
        job.failed.connect(lambda message, _details: self.set_status(message, error=True))
        return job

    def _ask_export_path(self, entry: HistoryEntry) -> Optional[Path]:
        fmt = self.preset.format if self.preset.format in WRITE_FORMATS else "wav"
        filters = [_FILTERS[fmt]] + [_FILTERS[f] for f in WRITE_FORMATS if f != fmt]
        suggested = str(Path.home() / f"{entry.id}.{fmt}")
        name, chosen = QFileDialog.getSaveFileName(self, "Export clip", suggested, ";;".join(filters))
        if not name:
            return None
        path = Path(name)
        if path.suffix.lower().lstrip(".") not in WRITE_FORMATS:
            ext = next((f for f, label in _FILTERS.items() if label == chosen), fmt)
            path = path.with_name(path.name + f".{ext}")
        return path

    # -- history -------------------------------------------------------------------------------
    def reload_history(self, select: Optional[str] = None) -> None:
        self.history_list.blockSignals(True)
        self.history_list.clear()
        for entry in self.history.list():
            text = entry.text if len(entry.text) <= 80 else entry.text[:77] + "…"
            when = entry.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
            item = QListWidgetItem(f"{text}\n{when} · {entry.duration:.1f} s · {entry.preset or ''}")
            item.setData(Qt.UserRole, entry.id)
            item.setToolTip(entry.text)
            self.history_list.addItem(item)
            if entry.id == select:
                self.history_list.setCurrentItem(item)
        self.history_list.blockSignals(False)
        self._update_buttons()

    def _entry_of(self, item: Optional[QListWidgetItem]) -> Optional[HistoryEntry]:
        if item is None:
            return None
        try:
            return self.history.get(item.data(Qt.UserRole))
        except VoiceLabError:
            return None

    def selected_entry(self) -> Optional[HistoryEntry]:
        return self._entry_of(self.history_list.currentItem())

    def _history_selected(self, current, _previous) -> None:
        entry = self._entry_of(current)
        if entry is not None:
            self._load_entry(entry)
        self._update_buttons()

    def delete_entry(self, entry: Optional[HistoryEntry], confirm: bool = True) -> bool:
        if entry is None:
            return False
        if confirm:
            answer = QMessageBox.question(self, "Delete clip", f"Delete this clip from the history?\n\n{entry.text[:200]}")
            if answer != QMessageBox.Yes:
                return False
        if self.current_entry is not None and self.current_entry.id == entry.id:
            self.stop()
            self.current_entry, self.current_audio = None, None
            self.waveform.clear()
        try:
            self.history.delete(entry.id)
        except VoiceLabError as exc:
            show_error(self, "Delete failed", str(exc))
            return False
        self.reload_history()
        self.set_status("Clip deleted.")
        return True

    # -- state ---------------------------------------------------------------------------------
    def set_status(self, message: str, error: bool = False) -> None:
        self.status_label.setText(message)
        self.status_label.setStyleSheet("color: #c0392b;" if error else "")

    def _update_buttons(self) -> None:
        busy = self.generate_job is not None
        has_text = bool(self.text_edit.toPlainText().strip())
        self.generate_button.setText("Cancel" if busy else "Generate")
        self.generate_button.setEnabled(busy or has_text)
        has_clip = self.current_audio is not None
        self.play_button.setEnabled(has_clip and self.output.available)
        self.export_button.setEnabled(self.current_entry is not None)
        selected = self.history_list.currentItem() is not None
        self.history_play.setEnabled(selected and self.output.available)
        self.history_export.setEnabled(selected)
        self.history_delete.setEnabled(selected)

    def shutdown(self) -> None:
        """Stop playback and write a pending preset change (call before the window closes)."""
        self.stop()
        if self._save_timer.isActive():
            self.save_preset()
