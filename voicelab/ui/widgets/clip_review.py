"""The lower half of the Dataset tab: the selected clip in its recording, its playback,
and the buttons that edit it.

A widget of its own so the tab module keeps to wiring: this one lays out the buttons (the
tab connects them to its edit actions), plays a clip's wav through the shared audio output
with a moving cursor, and says plainly when there is no output device.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from voicelab.ui.audio_out import AudioOutput
from voicelab.ui.widgets.source_view import SourceView

PLAY_TEXT, STOP_TEXT = "▶ Play", "■ Stop"


class ClipReviewPanel(QWidget):
    def __init__(self, output: AudioOutput, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.output = output
        self.source_view = SourceView()
        self.play_button = QPushButton(PLAY_TEXT)
        self.play_button.setToolTip("Play the selected clip (Space)")
        self.split_button = QPushButton("&Split at marker")
        self.split_button.setToolTip("Click the waveform to place the marker, then split there (S)")
        self.merge_button = QPushButton("&Merge with next")
        self.merge_button.setToolTip("Join the clip with the one after it in the recording (M)")
        self.retranscribe_button = QPushButton("&Re-transcribe")
        self.retranscribe_button.setToolTip("Transcribe this clip again with Whisper (R)")
        self.exclude_button = QPushButton("E&xclude")
        self.exclude_button.setToolTip("Leave the clip out of training, or take it back in (E)")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the clip (Del); Undo brings it back")
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(undo_stack.undo)
        undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.redo_button = QPushButton("Redo")
        self.redo_button.clicked.connect(undo_stack.redo)
        undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        self.player_note = QLabel(output.unavailable_reason if not output.available else "")
        self.player_note.setStyleSheet("color: #b91c1c;")
        self.player_note.setVisible(not output.available)
        self.play_button.setEnabled(output.available)

        buttons = QHBoxLayout()
        for widget in (self.play_button, self.split_button, self.merge_button, self.retranscribe_button,
                       self.exclude_button, self.delete_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.redo_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.source_view)
        layout.addLayout(buttons)
        layout.addWidget(self.player_note)
        self._timer = QTimer(self, interval=30)
        self._timer.timeout.connect(self._tick)

    def set_clip_buttons(self, has_clip: bool, can_transcribe: bool) -> None:
        for button in (self.split_button, self.merge_button, self.exclude_button, self.delete_button):
            button.setEnabled(has_clip)
        self.retranscribe_button.setEnabled(has_clip and can_transcribe)
        self.play_button.setEnabled(has_clip and self.output.available)

    # -- playback ---------------------------------------------------------------------------
    def is_playing(self) -> bool:
        return self.output.is_playing()

    def play(self, wav: Path) -> None:
        if not self.output.available:
            return
        import soundfile

        samples, rate = soundfile.read(str(wav), dtype="float32")
        self.output.play(samples, rate)
        self.play_button.setText(STOP_TEXT)
        self._timer.start()

    def stop(self) -> None:
        self.output.stop()
        self._timer.stop()
        self.play_button.setText(PLAY_TEXT)
        self.source_view.set_cursor(None)

    def _tick(self) -> None:
        if not self.output.is_playing():
            self.stop()
            return
        self.source_view.set_cursor(self.output.position_s())
