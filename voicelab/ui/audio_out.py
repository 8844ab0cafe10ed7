"""Playback behind a small interface a test can replace.

Playback is a stream that audio is appended to: `play_stream(rate)` opens it, `append()`
queues samples, `finish()` says no more will come. That one shape serves both a finished
clip (`play()` is the three calls at once) and a clip still being synthesized, which starts
playing on its first sentence. Until `finish()`, running out of audio plays silence and
keeps the stream open, so a slow sentence is a pause, not the end.

`SoundDeviceOutput` plays through PortAudio (sounddevice, imported lazily). When PortAudio
is missing or there is no output device it does not raise: `available` is False and
`unavailable_reason` says why, so the Generate tab can disable Play and keep working.
`FakeAudioOutput` records every stream (and when each call came) and simulates the
position with the clock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np


class AudioOutputError(Exception):
    """Playback could not start; the message is meant for the user."""


class AudioOutput:
    """What the UI needs from an audio output."""

    available: bool = True
    unavailable_reason: str = ""

    def play_stream(self, sample_rate: int) -> None:  # pragma: no cover - interface
        """Stop what plays and open a stream that plays whatever `append` queues."""
        raise NotImplementedError

    def append(self, samples: np.ndarray) -> None:  # pragma: no cover - interface
        """Queue audio at the end of the open stream (ignored when none is open)."""
        raise NotImplementedError

    def finish(self) -> None:  # pragma: no cover - interface
        """No more audio will come: the stream ends once the queued audio has played."""
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - interface
        """End the stream now, dropping what is still queued."""
        raise NotImplementedError

    def position_s(self) -> float:  # pragma: no cover - interface
        """Seconds played of the current stream (0 when nothing plays)."""
        raise NotImplementedError

    def is_playing(self) -> bool:  # pragma: no cover - interface
        """True from `play_stream` until the stream is stopped or has played out after `finish`."""
        raise NotImplementedError

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        """Play a whole clip."""
        self.play_stream(sample_rate)
        self.append(samples)
        self.finish()

    def close(self) -> None:
        self.stop()


def _mono_float32(samples: np.ndarray) -> np.ndarray:
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim > 1:
        data = data.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(data)


class PlaybackQueue:
    """The audio of one stream, appended on the UI thread and read on PortAudio's thread.

    Kept apart from the device so its rules (silence on underrun, the end only after
    `finish`) can be tested without audio hardware.
    """

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = int(sample_rate)
        self._chunks: deque[np.ndarray] = deque()
        self._offset = 0  # frames of the first chunk already read
        self._played = 0  # frames of audio read (silence not counted)
        self._finished = False
        self._lock = threading.Lock()

    def append(self, samples: np.ndarray) -> None:
        data = _mono_float32(samples).copy()  # the caller may reuse its array
        with self._lock:
            if self._finished:
                raise RuntimeError("Audio was appended to a finished playback queue.")
            if len(data):
                self._chunks.append(data)

    def finish(self) -> None:
        with self._lock:
            self._finished = True

    def read_into(self, out: np.ndarray) -> bool:
        """Fill `out` (1-D) with the next frames, silence where there are none yet.

        Returns True when the stream is over: finished, and this read took the last frames.
        """
        filled = 0
        with self._lock:
            while filled < len(out) and self._chunks:
                chunk = self._chunks[0]
                count = min(len(out) - filled, len(chunk) - self._offset)
                out[filled:filled + count] = chunk[self._offset:self._offset + count]
                filled += count
                self._offset += count
                if self._offset == len(chunk):
                    self._chunks.popleft()
                    self._offset = 0
            self._played += filled
            over = self._finished and not self._chunks
        out[filled:] = 0
        return over

    def played_s(self) -> float:
        with self._lock:
            return self._played / self.sample_rate


class SoundDeviceOutput(AudioOutput):
    """Plays mono float32 audio on the default output device with a callback stream."""

    def __init__(self, device: int | None = None) -> None:
        self.device = device
        self.available = False
        self.unavailable_reason = ""
        self._sd = None
        self._stream = None
        self._queue: PlaybackQueue | None = None
        self._probe()

    def _probe(self) -> None:
        from voicelab.core.portaudio import load_sounddevice

        sd, self.unavailable_reason = load_sounddevice("Playback")
        if sd is None:
            return
        self._sd = sd
        try:
            sd.query_devices(self.device, kind="output")
        except (sd.PortAudioError, ValueError) as exc:
            self.unavailable_reason = f"Playback is unavailable: no audio output device was found ({exc})."
            return
        self.available = True

    def _callback(self, outdata, frames, _time, _status) -> None:
        """PortAudio's thread asks for `frames` more frames; silence while the queue is dry."""
        queue = self._queue
        if queue is None:
            outdata.fill(0)
            raise self._sd.CallbackStop
        if queue.read_into(outdata[:frames, 0]):
            raise self._sd.CallbackStop  # PortAudio still plays this last buffer

    def play_stream(self, sample_rate: int) -> None:
        if not self.available:
            raise AudioOutputError(self.unavailable_reason)
        self.stop()
        self._queue = PlaybackQueue(sample_rate)
        try:
            stream = self._sd.OutputStream(samplerate=sample_rate, channels=1, dtype="float32",
                                           device=self.device, callback=self._callback)
            stream.start()
        except (self._sd.PortAudioError, ValueError) as exc:
            self._queue = None
            raise AudioOutputError(f"Playback could not start: {exc}") from None
        self._stream = stream

    def append(self, samples: np.ndarray) -> None:
        if self._queue is not None:
            self._queue.append(samples)

    def finish(self) -> None:
        if self._queue is not None:
            self._queue.finish()

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception:  # a device that vanished mid-play: nothing left to stop
                pass
        self._queue = None

    def position_s(self) -> float:
        queue = self._queue
        return queue.played_s() if queue is not None and self._stream is not None else 0.0

    def is_playing(self) -> bool:
        stream = self._stream
        return stream is not None and bool(stream.active)


class FakeAudioOutput(AudioOutput):
    """Records every stream; the position advances with the clock (scaled by `speed`).

    Like the real output it waits at the end of the queued audio until more comes, and
    stops playing once `finish` was called and everything queued has "played".
    """

    def __init__(self, available: bool = True, unavailable_reason: str = "", speed: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.available = available
        self.unavailable_reason = unavailable_reason if not available else ""
        self.speed = speed
        self.clock = clock
        self.played: list[tuple[np.ndarray, int]] = []  # per stream: all its audio, and the rate
        self.log: list[tuple[str, float, int]] = []  # (call, clock time, frames appended)
        self.stops = 0
        self._open = False
        self._finished = False
        self._queued_s = 0.0
        self._position = 0.0
        self._last = 0.0

    def _advance(self) -> None:
        now = self.clock()
        if self._open:
            self._position = min(self._queued_s, self._position + (now - self._last) * self.speed)
        self._last = now

    def play_stream(self, sample_rate: int) -> None:
        if not self.available:
            raise AudioOutputError(self.unavailable_reason)
        self.played.append((np.zeros(0, dtype=np.float32), int(sample_rate)))
        self.log.append(("play_stream", self.clock(), 0))
        self._open, self._finished = True, False
        self._queued_s = self._position = 0.0
        self._last = self.clock()

    def append(self, samples: np.ndarray) -> None:
        if not self._open:
            return
        if self._finished:
            raise RuntimeError("Audio was appended to a finished stream.")
        data = _mono_float32(samples)
        self._advance()
        queued, rate = self.played[-1]
        self.played[-1] = (np.concatenate([queued, data]), rate)
        self._queued_s += len(data) / rate
        self.log.append(("append", self.clock(), len(data)))

    def finish(self) -> None:
        if self._open:
            self._finished = True
            self.log.append(("finish", self.clock(), 0))

    def stop(self) -> None:
        self.stops += 1
        if self._open:
            self.log.append(("stop", self.clock(), 0))
        self._open = False
        self._position = 0.0

    def position_s(self) -> float:
        self._advance()
        return self._position if self._open else 0.0

    def is_playing(self) -> bool:
        self._advance()
        return self._open and not (self._finished and self._position >= self._queued_s)


def default_output() -> AudioOutput:
    return SoundDeviceOutput()
