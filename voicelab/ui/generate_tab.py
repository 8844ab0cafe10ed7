"""The Generate tab: pick a voice and a preset, type text, hear it, export it.

The tab wires its parts together: the preset panel (widgets/preset_panel.py), the clip
player (widgets/clip_player.py) and the history (widgets/history_panel.py); synthesis and
export run through `JobManager.run` (the jobs' bodies: generate_jobs.py), and voices
imported or just exported by a run come in through `VoiceImports` (generate_voices.py).
Speech plays from its first sentence: the job emits each sentence as it is made and the
player appends it to the stream, so a long text is heard while the rest is synthesized.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from voicelab.core.audio import read_audio
from voicelab.core.errors import VoiceLabError
from voicelab.core.synthesis.history import History, HistoryEntry
from voicelab.core.synthesis.presets import Preset, PresetStore
from voicelab.core.workspace import Workspace
from voicelab.ui.audio_out import AudioOutput
from voicelab.ui.error_dialog import show_error
from voicelab.ui.generate_jobs import speak, write_export
from voicelab.ui.generate_voices import VoiceImports
from voicelab.ui.widgets.clip_player import ClipPlayer
from voicelab.ui.widgets.export_dialog import ExportChoice, ask_export
from voicelab.ui.widgets.history_panel import HistoryPanel
from voicelab.ui.widgets.preset_panel import PresetPanel
from voicelab.ui.widgets.splitter import splitter
from voicelab.ui.widgets.waveform import WaveformView
from voicelab.ui.workers import Job, JobManager
from voicelab.ui.workspace_tab import WorkspaceTab


class GenerateTab(VoiceImports, WorkspaceTab):
    """Text in, speech out: preset panel, editor, player, history."""

    clipGenerated = Signal(object)  # HistoryEntry
    voicesChanged = Signal()  # imported, renamed or deleted here: other tabs list voices too

    def __init__(self, workspace: Workspace, jobs: JobManager, audio_output: AudioOutput | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(workspace, jobs, audio_output, parent)
        self.presets = PresetStore.open(workspace)
        self.history = History.open(workspace)
        self.current_entry: HistoryEntry | None = None  # the saved clip shown, if any
        self.generate_job: Job | None = None
        self.export_job: Job | None = None
        self.export_folder = Path.home()  # where the export dialog opens: the last folder used
        self.import_job: Job | None = None

        self._build()
        self.preset_panel.load()
        self.history_panel.reload()
        self._apply_output_state()
        self._update_buttons()
        problems = self.presets.problems + self.history.problems
        if problems:
            self.set_status(" ".join(problems), error=True)

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        self.preset_panel = PresetPanel(self.workspace, self.presets)
        self.preset_panel.status.connect(self.set_status)
        self.preset_panel.voicesChanged.connect(self.voicesChanged)
        self.preset_panel.voice_menu.busy = lambda voice_id: self.job_holding("voice", voice_id)
        self.preset_panel.voice_menu.importRequested.connect(self.import_voice_dialog)
        self.setAcceptDrops(True)

        self.text_edit = QPlainTextEdit(objectName="textEdit")
        self.text_edit.setPlaceholderText("Type or paste the text to speak, then press Ctrl+Enter.")
        self.text_edit.textChanged.connect(self._text_changed)
        self.char_count = QLabel("0 characters", objectName="charCount")

        self.generate_button = QPushButton("Generate", objectName="generateButton")
        self.generate_button.setDefault(True)
        self.generate_button.setToolTip("Speak the text (Ctrl+Enter)")
        self.generate_button.clicked.connect(self._generate_clicked)
        self.play_button = QPushButton("Play", objectName="playButton")
        self.play_live_check = QCheckBox("Play while generating", objectName="playLiveCheck", checked=True)
        self.play_live_check.setToolTip("Start playing at the first sentence while the rest is made")
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
        buttons.addWidget(self.play_live_check)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.char_count)

        self.waveform = WaveformView(empty_text="The clip you generate shows here, with a play cursor.")
        self.player = ClipPlayer(self.output, self.waveform, self.play_button, self)
        self.player.failed.connect(lambda message: self.set_status(message, error=True))

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.preset_panel)
        left_layout.addWidget(self.text_edit, 3)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.status_label)
        left_layout.addWidget(self.output_label)
        left_layout.addWidget(self.waveform, 2)

        self.history_panel = HistoryPanel(self.history)
        self.history_panel.selected.connect(self._load_entry)
        self.history_panel.playRequested.connect(self.play_entry)
        self.history_panel.exportRequested.connect(lambda entry: self.export_clip(entry=entry))
        self.history_panel.deleteRequested.connect(self.delete_entry)

        layout = QVBoxLayout(self)
        layout.addWidget(splitter(Qt.Horizontal, (left, 3), (self.history_panel, 1)))

        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self, context=Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self._generate_clicked)
        self.space_shortcut = QShortcut(QKeySequence(Qt.Key_Space), self, context=Qt.WidgetWithChildrenShortcut)
        self.space_shortcut.activated.connect(self._space_pressed)

    # -- generating ----------------------------------------------------------------------------
    def _text_changed(self) -> None:
        count = len(self.text_edit.toPlainText())
        self.char_count.setText(f"{count} character{'s' if count != 1 else ''}")
        self._update_buttons()

    def _generate_clicked(self) -> None:
        if self.generate_job is not None:
            self.generate_job.cancel()
            self.player.stop()
            return
        self.generate()

    def generate(self) -> Job | None:
        text = self.text_edit.toPlainText().strip()
        if not text:
            self.set_status("Type some text to speak first.")
            return None
        self.preset_panel.save_pending()
        self.player.stop()
        job = self.jobs.run("Generating speech", speak, self.workspace, text,
                            dataclasses.replace(self.preset), self.history, emits=True,
                            holds=[("voice", self.preset.voice)])
        self.generate_job = job
        job.partial.connect(lambda sentence: self._on_sentence(job, sentence))
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

    def _on_sentence(self, job: Job, sentence) -> None:
        """A sentence is ready (SentenceAudio): show it, and play from the first one."""
        if job is not self.generate_job or job.token.cancelled:
            return
        if sentence.index == 0:
            self.current_entry = None
            self.player.begin(sentence.sample_rate)
            self.player.add(sentence.samples)
            if self.play_live_check.isChecked():
                self.player.play()
        elif self.player.growing:  # not when the user has picked another clip meanwhile
            self.player.add(sentence.samples)
        self._update_buttons()

    def _on_generated(self, result) -> None:
        entry, samples, rate = result
        self.history_panel.reload(select=entry.id)
        if self.player.growing:  # the shown sentences are these samples: keep playing them
            self.player.end()
            self.current_entry = entry
            self._update_buttons()
        else:
            self._show_clip(entry, samples, rate)
        self.set_status(f"Made a {entry.duration:.1f} s clip.")
        self.clipGenerated.emit(entry)

    def _on_generate_ended(self) -> None:
        self.generate_job = None
        self.progress.setVisible(False)
        if self.player.growing:  # cancelled or failed: the partial clip was not kept
            self.player.clear()
            selected = self.history_panel.selected_entry()
            if selected is not None:
                self._load_entry(selected)
        self._update_buttons()

    def _show_clip(self, entry: HistoryEntry, samples: np.ndarray, rate: int) -> None:
        self.current_entry = entry
        self.player.show(samples, rate)
        self._update_buttons()

    @property
    def preset(self) -> Preset:
        """The preset shown (with edits not yet saved)."""
        return self.preset_panel.preset

    # -- playback ------------------------------------------------------------------------------
    def _apply_output_state(self) -> None:
        if not self.output.available:
            reason = self.output.unavailable_reason or "Playback is unavailable."
            self.history_panel.set_playable(False, reason)
            self.play_live_check.setEnabled(False)
            self.output_label.setText(f"{reason} Generating and exporting still work.")
            self.output_label.setVisible(True)

    def _space_pressed(self) -> None:
        focus = self.focusWidget()
        if isinstance(focus, QPlainTextEdit):
            focus.insertPlainText(" ")
            return
        self.player.toggle()

    def play_entry(self, entry: HistoryEntry | None) -> bool:
        if entry is None:
            return False
        if not self._load_entry(entry):
            return False
        return self.player.play()

    def _load_entry(self, entry: HistoryEntry) -> bool:
        if self.current_entry is not None and self.current_entry.id == entry.id and self.player.clip:
            return True
        try:
            samples, rate = read_audio(entry.path)
        except VoiceLabError as exc:
            self.set_status(str(exc), error=True)
            return False
        self._show_clip(entry, samples, rate)
        return True

    # -- export --------------------------------------------------------------------------------
    def export_clip(self, path: Path | None = None, entry: HistoryEntry | None = None) -> Job | None:
        """Export a clip (default: the current one). Without a `path`, the export dialog asks
        for the file (named after the text), its rate and an MP3's bitrate; with one, the
        format comes from its ending and the rate from the preset (None = the clip's)."""
        entry = entry or self.current_entry
        if entry is None:
            self.set_status("Generate or pick a clip to export first.")
            return None
        if path is None:
            choice = ask_export(self, entry.text, entry.sample_rate, self.export_folder,
                                self.preset.format, self.preset.sample_rate)
            if choice is None:
                return None
            self.export_folder = choice.path.parent
        else:
            choice = ExportChoice(Path(path), self.preset.sample_rate, None)
        job = self.jobs.run("Exporting clip", write_export, entry, choice, holds=[("clip", entry.id)])
        self.export_job = job
        job.finished.connect(lambda result: self.set_status(f"Exported {Path(result)}."))
        job.failed.connect(lambda message, details: show_error(self, "Export failed", message, details))
        job.failed.connect(lambda message, _details: self.set_status(message, error=True))
        return job

    # -- history -------------------------------------------------------------------------------
    def delete_entry(self, entry: HistoryEntry | None, confirm: bool = True) -> bool:
        if entry is None:
            return False
        holder = self.jobs.holder("clip", entry.id)
        if holder is not None:
            self.set_status(f"“{holder.title}” is using this clip; delete it when that is done.", error=True)
            return False
        if confirm:
            answer = QMessageBox.question(self, "Delete clip",
                                          f"Delete this clip from the history?\n\n{entry.text[:200]}")
            if answer != QMessageBox.Yes:
                return False
        if self.current_entry is not None and self.current_entry.id == entry.id:
            self.current_entry = None
            self.player.clear()
        try:
            self.history.delete(entry.id)
        except VoiceLabError as exc:
            show_error(self, "Delete failed", str(exc))
            return False
        self.history_panel.reload()
        self._update_buttons()
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
        has_clip = self.player.clip is not None
        self.play_button.setEnabled(has_clip and self.output.available)
        self.export_button.setEnabled(self.current_entry is not None)

    def shutdown(self) -> None:
        """Stop playback and write a pending preset change (call before the window closes)."""
        self.player.stop()
        self.preset_panel.save_pending()
