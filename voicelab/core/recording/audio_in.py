"""The microphone behind a small interface a test can replace.

Input is a stream of blocks: `start(sink, device, rate)` opens it and calls `sink(block)`
with each block of mono float32 samples *on the input's own thread* until `stop()`. The
sink must only queue (`recorder.Capture` does): a device thread that waits on the disk or
the UI loses audio, which PortAudio reports as an input overflow (counted in `overflows`).

`SoundDeviceInput` records through PortAudio (sounddevice, imported lazily). Like the
playback side (`voicelab.ui.audio_out`) it does not raise when the library or a device
is missing: `available` is False and `unavailable_reason` says why, so the studio can say
so and stay open for reviewing takes. `FakeAudioInput` is the double: a thread that hands
the sink blocks of the same size a sound card would, at the same pace (or `speed` times
faster), made of the audio a test `feed`s it and a quiet noise floor in between.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voicelab.core.errors import VoiceLabError

#: Rates offered for recording, best first; a device is offered those it accepts.
COMMON_RATES = (48000, 44100, 32000, 24000, 22050, 16000)
#: Seconds of audio per block: short enough for a lively meter, long enough for PortAudio.
BLOCK_S = 0.02

Sink = Callable[[np.ndarray], None]


class AudioInputError(VoiceLabError):
    """Recording could not start; the message is meant for the user."""


@dataclass(frozen=True)
class InputDevice:
    """A device that can record: PortAudio's index, its name and what it does by default."""

    index: int
    name: str
    channels: int
    default_rate: int
    is_default: bool = False


class AudioInput:
    """What the studio and the CLI need from a microphone."""

    available: bool = True
    unavailable_reason: str = ""
    overflows: int = 0

    def devices(self) -> list[InputDevice]:  # pragma: no cover - interface
        """The devices that can record, the system's default first."""
        raise NotImplementedError

    def rates(self, device: int | None) -> list[int]:  # pragma: no cover - interface
        """The rates of COMMON_RATES the device accepts, best first."""
        raise NotImplementedError

    def start(self, sink: Sink, device: int | None, sample_rate: int) -> None:  # pragma: no cover
        """Open the device (None: the default) and hand every block to `sink` until `stop`."""
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - interface
        """Close the stream; no block reaches the sink after this returns."""
        raise NotImplementedError

    def is_running(self) -> bool:  # pragma: no cover - interface
        raise NotImplementedError


class SoundDeviceInput(AudioInput):
    """Records mono float32 through PortAudio with a callback stream."""

    def __init__(self) -> None:
        self.available = False
        self.unavailable_reason = ""
        self.overflows = 0
        self._sd = None
        self._stream = None
        self._sink: Sink | None = None
        self._probe()

    def _probe(self) -> None:
        from voicelab.core.portaudio import load_sounddevice

        sd, self.unavailable_reason = load_sounddevice("Recording")
        if sd is None:
            return
        self._sd = sd
        if not self.devices():
            self.unavailable_reason = ("Recording is unavailable: no microphone or other input "
                                       "device was found. Connect one (and allow VoiceLab to use "
                                       "it in the system's privacy settings), then try again.")
            return
        self.available = True

    def devices(self) -> list[InputDevice]:
        if self._sd is None:
            return []
        try:
            found = self._sd.query_devices()
            default = self._sd.default.device[0]
        except (self._sd.PortAudioError, ValueError, TypeError):
            return []
        devices = [InputDevice(i, str(d["name"]), int(d["max_input_channels"]),
                               int(d["default_samplerate"]), i == default)
                   for i, d in enumerate(found) if int(d.get("max_input_channels", 0)) > 0]
        return sorted(devices, key=lambda d: not d.is_default)

    def rates(self, device: int | None) -> list[int]:
        if self._sd is None:
            return []
        return [rate for rate in COMMON_RATES if self._channels(device, rate)]

    def _channels(self, device: int | None, rate: int) -> int:
        """1 where the device records mono at `rate`, else 2 (mixed down), else 0: not at all."""
        for channels in (1, 2):
            try:
                self._sd.check_input_settings(device=device, samplerate=rate, channels=channels,
                                              dtype="float32")
            except (self._sd.PortAudioError, ValueError):
                continue
            return channels
        return 0

    def _callback(self, indata, frames, _time, status) -> None:
        """PortAudio's thread: hand over a copy (PortAudio reuses `indata`) and return."""
        if status and status.input_overflow:
            self.overflows += 1
        sink = self._sink
        if sink is not None:
            block = indata[:frames, 0] if indata.shape[1] == 1 else indata[:frames].mean(axis=1)
            sink(np.array(block, dtype=np.float32))

    def start(self, sink: Sink, device: int | None, sample_rate: int) -> None:
        if not self.available:
            raise AudioInputError(self.unavailable_reason)
        self.stop()
        self._sink = sink
        try:
            channels = self._channels(device, int(sample_rate)) or 1  # 1: PortAudio says why not
            stream = self._sd.InputStream(samplerate=int(sample_rate), channels=channels,
                                          dtype="float32", device=device,
                                          blocksize=int(sample_rate * BLOCK_S),
                                          callback=self._callback)
            stream.start()
        except (self._sd.PortAudioError, ValueError) as exc:
            self._sink = None
            raise AudioInputError(f"The microphone could not be opened at {sample_rate} Hz: {exc}. "
                                  "Choose another rate or device.") from None
        self._stream = stream

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception:  # a device unplugged mid-take: nothing left to close
                pass
        self._sink = None

    def is_running(self) -> bool:
        stream = self._stream
        return stream is not None and bool(stream.active)


class FakeAudioInput(AudioInput):
    """A microphone for tests: blocks of `feed`ed audio, else a noise floor, at a steady pace.

    A thread hands the sink one block of `block_s` seconds every `block_s / speed` seconds
    (deadline-paced, so it does not drift), as a sound card would. Audio given to `feed`
    (at the stream's rate, or resampled from `rate`) is spoken into the "microphone" in
    order, over the noise floor (as in a real room); `pending_s()` says how much is still to
    come.
    """

    def __init__(self, devices: Sequence[InputDevice] = (InputDevice(0, "Fake microphone", 1, 48000, True),),
                 rates: Sequence[int] = (48000, 44100, 22050, 16000), *, speed: float = 1.0,
                 floor_db: float = -70.0, block_s: float = BLOCK_S, available: bool = True,
                 unavailable_reason: str = "", seed: int = 0) -> None:
        self._devices = list(devices)
        self._rates = list(rates)
        self.speed = float(speed)
        self.floor = float(10 ** (floor_db / 20))
        self.block_s = float(block_s)
        self.available = available
        self.unavailable_reason = "" if available else (unavailable_reason or
                                                        "Recording is unavailable: no input device.")
        self.overflows = 0
        self.rate = 0
        self.device: int | None = None
        self.blocks_sent = 0
        self._rng = np.random.default_rng(seed)
        self._fed: deque[np.ndarray] = deque()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def devices(self) -> list[InputDevice]:
        return list(self._devices) if self.available else []

    def rates(self, device: int | None) -> list[int]:
        return list(self._rates) if self.available else []

    def feed(self, samples: np.ndarray, rate: int | None = None) -> None:
        """Say `samples` into the microphone after what was fed before."""
        data = np.asarray(samples, dtype=np.float32).reshape(-1)
        if rate is not None and self.rate and rate != self.rate:
            import soxr

            data = soxr.resample(data, rate, self.rate, quality="HQ").astype(np.float32)
        with self._lock:
            self._fed.append(data.copy())
            self._pending += len(data)

    def pending_s(self) -> float:
        """Seconds of fed audio the sink has not received yet."""
        with self._lock:
            return self._pending / self.rate if self.rate else 0.0

    def _next_block(self, frames: int) -> tuple[np.ndarray, int]:
        """The next block, and how many of its frames are fed audio (the rest is floor)."""
        block = (self._rng.standard_normal(frames) * self.floor).astype(np.float32)
        filled = 0
        with self._lock:
            while filled < frames and self._fed:
                chunk = self._fed[0]
                count = min(frames - filled, len(chunk))
                block[filled:filled + count] += chunk[:count]  # a real room is never silent
                filled += count
                if count == len(chunk):
                    self._fed.popleft()
                else:
                    self._fed[0] = chunk[count:]
        return block, filled

    def _run(self, sink: Sink, frames: int) -> None:
        due = time.monotonic()
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            block, fed = self._next_block(frames)
            sink(block)
            self.blocks_sent += 1
            with self._lock:
                self._pending -= fed  # counted once the sink has the block
            due += self.block_s / self.speed

    def start(self, sink: Sink, device: int | None, sample_rate: int) -> None:
        if not self.available:
            raise AudioInputError(self.unavailable_reason)
        if int(sample_rate) not in self._rates:
            raise AudioInputError(f"The microphone could not be opened at {sample_rate} Hz. "
                                  "Choose another rate or device.")
        self.stop()
        self.rate, self.device = int(sample_rate), device
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(sink, int(self.rate * self.block_s)),
                                        name="fake-microphone", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def default_input() -> AudioInput:
    return SoundDeviceInput()
