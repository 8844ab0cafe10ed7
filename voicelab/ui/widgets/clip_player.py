"""Plays the clip the waveform shows and moves the waveform's cursor while it plays.

A clip can be shown, and played, while it is still being made: `begin(rate)`, `add()` per
sentence, `end()`. Playing opens an output stream and later sentences are appended to it,
so the first sentence is heard while the rest are synthesized and the waveform grows under
a cursor that keeps moving. A finished clip plays the same way, with all of it queued at
once: one path for both.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QAbstractButton

from voicelab.ui.audio_out import AudioOutput, AudioOutputError
from voicelab.ui.widgets.waveform import WaveformView

_CURSOR_INTERVAL_MS = 30


class ClipPlayer(QObject):
    """Drives `output` for the clip shown in `waveform`; `button` reads Play or Stop."""

    failed = Signal(str)  # playback could not start: a message for the user

    def __init__(self, output: AudioOutput, waveform: WaveformView, button: QAbstractButton,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.output = output
        self.waveform = waveform
        self.button = button
        self._samples = np.zeros(0, dtype=np.float32)
        self._rate = 0
        self._growing = False  # more audio will be added
        self._live = False  # the output is playing this clip
        self._timer = QTimer(self, interval=_CURSOR_INTERVAL_MS)
        self._timer.timeout.connect(self._update_cursor)
        button.clicked.connect(self.toggle)
        button.setToolTip("Play or stop the clip (Space)" if output.available else
                          output.unavailable_reason or "Playback is unavailable.")

    @property
    def clip(self) -> tuple[np.ndarray, int] | None:
        """The audio shown so far and its rate; None when there is none."""
        return (self._samples, self._rate) if len(self._samples) else None

    @property
    def growing(self) -> bool:
        """True between `begin` and `end`: the clip is still being made."""
        return self._growing

    def show(self, samples: np.ndarray, rate: int) -> None:
        """Show a finished clip (what played stops)."""
        self.stop()
        self._samples, self._rate, self._growing = np.asarray(samples, dtype=np.float32), int(rate), False
        self.waveform.set_audio(self._samples, self._rate)

    def clear(self) -> None:
        self.stop()
        self._samples, self._growing = np.zeros(0, dtype=np.float32), False
        self.waveform.clear()

    def begin(self, rate: int) -> None:
        """Start showing a clip that `add` will grow."""
        self.clear()
        self._rate, self._growing = int(rate), True

    def add(self, samples: np.ndarray) -> None:
        data = np.asarray(samples, dtype=np.float32)
        self._samples = np.concatenate([self._samples, data])
        if self._live:
            self.output.append(data)
        self.waveform.set_audio(self._samples, self._rate)
        if self._live:
            self.waveform.set_cursor(self.output.position_s())  # set_audio hid it

    def end(self) -> None:
        """The clip is complete: playback ends when it has played out."""
        self._growing = False
        if self._live:
            self.output.finish()

    def play(self) -> bool:
        if not len(self._samples) or not self.output.available:
            return False
        try:
            self.output.play_stream(self._rate)
            self.output.append(self._samples)
            if not self._growing:
                self.output.finish()
        except AudioOutputError as exc:
            self.failed.emit(str(exc))
            return False
        self._live = True
        self.button.setText("Stop")
        self.waveform.set_cursor(0.0)
        self._timer.start()
        return True

    def stop(self) -> None:
        if self.output.available:
            self.output.stop()
        self._live = False
        self._timer.stop()
        self.waveform.set_cursor(None)
        self.button.setText("Play")

    def is_playing(self) -> bool:
        return self._live and self.output.is_playing()

    def toggle(self) -> None:
        if self.is_playing():
            self.stop()
        else:
            self.play()

    def _update_cursor(self) -> None:
        if not self.output.is_playing():
            self.stop()
            return
        self.waveform.set_cursor(self.output.position_s())
