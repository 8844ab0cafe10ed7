"""Progress reporting and cancellation shared by all long-running core work.

Core functions take `progress(done, total, message)` and a `CancelToken`. They call
`token.raise_if_cancelled()` at safe points, so a cancel leaves files consistent. The UI
adapts both to Qt signals (`voicelab.ui.workers`); the CLI prints them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from voicelab.core.errors import Cancelled

ProgressCallback = Callable[[float, float, str], None]


def no_progress(done: float, total: float, message: str = "") -> None:
    """A progress callback that ignores everything; the default for callers that don't care."""


class CancelToken:
    """A thread-safe flag a UI or signal handler sets and core work polls."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


class EtaEstimator:
    """Estimates time left from the rate since start; None until there is a rate to go on."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._start = clock()

    def eta(self, done: float, total: float) -> float | None:
        if done <= 0 or total <= 0 or done > total:
            return None
        elapsed = self._clock() - self._start
        return elapsed * (total - done) / done


def format_duration(seconds: float | None) -> str:
    """'1:05:03', '4:07' or '0:09' for a duration; '–' when unknown."""
    if seconds is None:
        return "–"
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def format_time_left(seconds: float) -> str:
    """Time left in words read at a glance: '45 s left', '11 min left', '1 h 5 min left'.

    Every ETA the app shows goes through here. A clock-like "ETA 11:12" was read as a time
    of day; words cannot be. Above a minute the seconds are noise, so minutes are rounded."""
    seconds = max(0.0, float(seconds))
    if seconds < 0.5:
        return "almost done"
    if seconds < 59.5:
        return f"{int(seconds + 0.5)} s left"
    minutes = int(seconds / 60 + 0.5)
    if minutes < 60:
        return f"{minutes} min left"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h left" if minutes == 0 else f"{hours} h {minutes} min left"


def format_bytes(count: float) -> str:
    """Human-readable size in powers of 1024 ('12.3 MB')."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(count) < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"
