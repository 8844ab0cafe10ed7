"""The microphone's blocks become a level for the meter, a pre-roll and, when asked, a take.

`Capture` is the input's sink: it runs on the input's thread, so it only does a little
arithmetic and queues (a lock held for microseconds, no disk, no UI). The UI thread (or the
terminal's meter) reads `meter()` at its own fixed rate; a running `TakeWriter` gets every
block of the take on its own queue.

The stream stays open while the studio is, so the meter moves before a take (a person sets
the gain by watching it) and a take can start with the last `PRE_ROLL_S` seconds before the
key press: people start speaking as they press R, and the pre-roll keeps their first sound
and gives the noise check its stretch of silence. `Recorder` owns the input and the capture
for one studio or terminal session.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicelab.core.recording.audio_in import AudioInput, AudioInputError
from voicelab.core.recording.take_writer import TakeWriter

PRE_ROLL_S = 0.3
#: A sample at or above this magnitude counts as clipped (the converter's ceiling).
CLIP_LEVEL = 0.99
SILENT_DB = -120.0


def to_db(value: float) -> float:
    """20·log10 of an amplitude, floored at SILENT_DB."""
    return 20 * math.log10(value) if value > 1e-6 else SILENT_DB


@dataclass(frozen=True)
class Level:
    """The input since the meter last looked: loudness (RMS), peak, and whether it clipped."""

    rms_db: float = SILENT_DB
    peak_db: float = SILENT_DB
    clipped: bool = False


@dataclass
class Take:
    """A stopped take: its samples (pre-roll included) and the writer that holds its file."""

    samples: np.ndarray
    rate: int
    writer: TakeWriter | None = None
    dropped: int = 0  # blocks the input lost while it recorded (overflows): the take has gaps

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate if self.rate else 0.0

    def commit(self) -> Path | None:
        """The take's file, written and renamed into place (blocks: call it off the UI thread)."""
        return self.writer.finish() if self.writer is not None else None


class Capture:
    """The sink of an `AudioInput`: meter, pre-roll ring and the take in progress."""

    def __init__(self, rate: int, pre_roll_s: float = PRE_ROLL_S) -> None:
        self.rate = int(rate)
        self._pre_roll = int(pre_roll_s * rate)
        self._lock = threading.Lock()
        self._ring: deque[np.ndarray] = deque()
        self._ring_frames = 0
        self._take: list[np.ndarray] | None = None
        self._take_frames = 0
        self._writer: TakeWriter | None = None
        self._peak = 0.0
        self._squares = 0.0
        self._count = 0
        self._clipped = False
        self.blocks = 0

    def __call__(self, block: np.ndarray) -> None:
        """One block from the input's thread."""
        peak = float(np.max(np.abs(block))) if len(block) else 0.0
        squares = float(np.dot(block, block))
        with self._lock:
            self.blocks += 1
            self._peak = max(self._peak, peak)
            self._squares += squares
            self._count += len(block)
            self._clipped = self._clipped or peak >= CLIP_LEVEL
            self._ring.append(block)
            self._ring_frames += len(block)
            while self._ring and self._ring_frames - len(self._ring[0]) >= self._pre_roll:
                self._ring_frames -= len(self._ring.popleft())
            if self._take is not None:
                self._take.append(block)
                self._take_frames += len(block)
                if self._writer is not None:
                    self._writer.put(block)

    def meter(self) -> Level:
        """The level since the last call (peak and RMS over those blocks), then start over."""
        with self._lock:
            peak, squares, count, clipped = self._peak, self._squares, self._count, self._clipped
            self._peak, self._squares, self._count, self._clipped = 0.0, 0.0, 0, False
        if not count:
            return Level()
        return Level(to_db(math.sqrt(squares / count)), to_db(peak), clipped)

    def start_take(self, writer: TakeWriter | None = None, pre_roll: bool = True) -> None:
        with self._lock:
            self._take = list(self._ring) if pre_roll else []
            self._take_frames = sum(len(b) for b in self._take)
            self._writer = writer
            if writer is not None:
                for block in self._take:
                    writer.put(block)

    def stop_take(self) -> Take:
        with self._lock:
            blocks, writer = self._take or [], self._writer
            self._take, self._writer, self._take_frames = None, None, 0
        samples = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
        return Take(samples.astype(np.float32, copy=False), self.rate, writer)

    @property
    def recording(self) -> bool:
        return self._take is not None

    def recorded_s(self) -> float:
        with self._lock:
            return self._take_frames / self.rate


class Recorder:
    """One session's microphone: open it, read the meter, record takes, close it."""

    def __init__(self, audio_input: AudioInput) -> None:
        self.input = audio_input
        self.capture: Capture | None = None
        self.device: int | None = None
        self._overflows = 0

    @property
    def available(self) -> bool:
        return self.input.available

    @property
    def unavailable_reason(self) -> str:
        return self.input.unavailable_reason

    @property
    def rate(self) -> int:
        return self.capture.rate if self.capture is not None else 0

    @property
    def is_open(self) -> bool:
        return self.capture is not None

    def open(self, device: int | None, rate: int) -> None:
        """Start listening on `device` at `rate` (a take in progress is thrown away)."""
        self.close()
        capture = Capture(rate)
        self.input.start(capture, device, rate)
        self.capture, self.device = capture, device

    def close(self) -> None:
        """Stop listening; a take still recording is thrown away (its file never appears)."""
        capture, self.capture = self.capture, None
        self.input.stop()
        if capture is not None and capture.recording:
            take = capture.stop_take()
            if take.writer is not None:
                take.writer.abort()

    def meter(self) -> Level:
        return self.capture.meter() if self.capture is not None else Level()

    @property
    def recording(self) -> bool:
        return self.capture is not None and self.capture.recording

    def recorded_s(self) -> float:
        return self.capture.recorded_s() if self.capture is not None else 0.0

    def start_take(self, target: Path | None = None, pre_roll: bool = True) -> None:
        """Record from now (and the pre-roll); with `target`, into that file when it stops."""
        if self.capture is None:
            raise AudioInputError(self.unavailable_reason or "The microphone is not open.")
        if self.capture.recording:
            self.discard_take()
        writer = TakeWriter(target, self.capture.rate) if target is not None else None
        self._overflows = self.input.overflows
        self.capture.start_take(writer, pre_roll)

    def stop_take(self) -> Take:
        """The take so far; `Take.commit` (off the UI thread) puts its file in place."""
        if self.capture is None:
            return Take(np.zeros(0, np.float32), 0)
        take = self.capture.stop_take()
        take.dropped = self.input.overflows - self._overflows
        return take

    def stalled(self) -> bool:
        """The stream was opened but no longer runs (a device unplugged, a driver error)."""
        return self.capture is not None and not self.input.is_running()

    def discard_take(self) -> None:
        if self.capture is not None and self.capture.recording:
            take = self.capture.stop_take()
            if take.writer is not None:
                take.writer.abort(wait=False)
