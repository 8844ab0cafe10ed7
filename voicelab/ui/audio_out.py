"""Playback behind a small interface a test can replace.

`SoundDeviceOutput` plays through PortAudio (sounddevice, imported lazily). When PortAudio
is missing or there is no output device it does not raise: `available` is False and
`unavailable_reason` says why, so the Generate tab can disable Play and keep working.
`FakeAudioOutput` records what was played and simulates the position with the clock.
"""

from __future__ import annotations

import threading
import time
from typing import List, Optional, Tuple

import numpy as np


class AudioOutputError(Exception):
    """Playback could not start; the message is meant for the user."""


class AudioOutput:
    """What the UI needs from an audio output."""

    available: bool = True
    unavailable_reason: str = ""

    def play(self, samples: np.ndarray, sample_rate: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def position_s(self) -> float:  # pragma: no cover - interface
        """Seconds played of the current clip (0 when nothing plays)."""
        raise NotImplementedError

    def is_playing(self) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        self.stop()


def _mono_float32(samples: np.ndarray) -> np.ndarray:
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim > 1:
        data = data.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(data)


class SoundDeviceOutput(AudioOutput):
    """Plays mono float32 audio on the default output device with a callback stream."""

    def __init__(self, device: Optional[int] = None) -> None:
        self.device = device
        self.available = False
        self.unavailable_reason = ""
        self._sd = None
        self._stream = None
        self._data = np.zeros(0, dtype=np.float32)
        self._rate = 1
        self._frame = 0
        self._lock = threading.Lock()
        self._probe()

    def _probe(self) -> None:
        try:
            import sounddevice as sd
        except OSError as exc:  # the PortAudio library itself is missing
            self.unavailable_reason = f"Playback is unavailable: the PortAudio library could not be loaded ({exc})."
            return
        except ImportError as exc:
            self.unavailable_reason = f"Playback is unavailable: sounddevice is not installed ({exc})."
            return
        try:
            sd.query_devices(self.device, kind="output")
        except (sd.PortAudioError, ValueError) as exc:
            self.unavailable_reason = f"Playback is unavailable: no audio output device was found ({exc})."
            return
        self._sd = sd
        self.available = True

    def _callback(self, outdata, frames, _time, _status) -> None:
        with self._lock:
            chunk = self._data[self._frame:self._frame + frames]
            count = len(chunk)
            outdata[:count, 0] = chunk
            outdata[count:, 0] = 0
            self._frame += count
        if count < frames:
            raise self._sd.CallbackStop

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        if not self.available:
            raise AudioOutputError(self.unavailable_reason)
        self.stop()
        with self._lock:
            self._data = _mono_float32(samples)
            self._rate = int(sample_rate)
            self._frame = 0
        try:
            stream = self._sd.OutputStream(samplerate=sample_rate, channels=1, dtype="float32",
                                           device=self.device, callback=self._callback)
            stream.start()
        except (self._sd.PortAudioError, ValueError) as exc:
            raise AudioOutputError(f"Playback could not start: {exc}") from None
        self._stream = stream

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception:  # a device that vanished mid-play: nothing left to stop
                pass
        with self._lock:
            self._frame = 0

    def position_s(self) -> float:
        with self._lock:
            return self._frame / self._rate if self._stream is not None else 0.0

    def is_playing(self) -> bool:
        stream = self._stream
        return stream is not None and bool(stream.active)


class FakeAudioOutput(AudioOutput):
    """Records what was played; the position advances with the clock (scaled by `speed`)."""

    def __init__(self, available: bool = True, unavailable_reason: str = "", speed: float = 1.0) -> None:
        self.available = available
        self.unavailable_reason = unavailable_reason if not available else ""
        self.speed = speed
        self.played: List[Tuple[np.ndarray, int]] = []
        self.stops = 0
        self._started: Optional[float] = None
        self._duration = 0.0

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        if not self.available:
            raise AudioOutputError(self.unavailable_reason)
        data = _mono_float32(samples)
        self.played.append((data, int(sample_rate)))
        self._duration = len(data) / sample_rate
        self._started = time.monotonic()

    def stop(self) -> None:
        self.stops += 1
        self._started = None

    def position_s(self) -> float:
        if self._started is None:
            return 0.0
        return min(self._duration, (time.monotonic() - self._started) * self.speed)

    def is_playing(self) -> bool:
        return self._started is not None and self.position_s() < self._duration


def default_output() -> AudioOutput:
    return SoundDeviceOutput()
