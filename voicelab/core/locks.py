"""OS file locks shared between processes: the one way VoiceLab keeps two writers apart.

A training run's trainer holds its run's lock for its whole life (`training/run/runs.py`), and
every writer of a dataset holds that dataset's lock for each read-modify-write
(`dataset/lock.py`). Both are flock (POSIX) or msvcrt (Windows) locks on a small file:
the operating system releases them when their process dies, however it dies (kill -9
included), so a lock can never outlive its owner the way a pid file can.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from voicelab.core.errors import VoiceLabError


class LockBusy(VoiceLabError):
    """Another process held the lock for longer than the caller would wait."""


def try_lock(handle: Any) -> bool:
    """Take the exclusive lock of an open file without waiting; False when another holds it."""
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def unlock(handle: Any) -> None:
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class FileLock:
    """An exclusive lock on `path` that waits up to `timeout_s` for another process.

    Waiting polls (every 5 to 50 ms) rather than blocking in the OS, so a holder that hangs
    costs a clear `LockBusy` (with `busy_message`) instead of a frozen command. Not
    re-entrant and not for threads: callers pair it with their own thread lock.
    """

    def __init__(self, path: Path, *, timeout_s: float = 30.0, busy_message: str = "") -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        self.busy_message = busy_message or f"{self.path} is locked by another process."
        self._handle: Any | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self, *, wait: bool = True) -> bool:
        """Take the lock; False only when `wait` is False and another process holds it.

        Raises `LockBusy` after `timeout_s`, and OSError when the lock file cannot be
        opened (a folder that cannot be written)."""
        handle = open(self.path, "a+b")
        deadline = time.monotonic() + self.timeout_s
        pause = 0.005
        while not try_lock(handle):
            if not wait:
                handle.close()
                return False
            if time.monotonic() >= deadline:
                handle.close()
                raise LockBusy(self.busy_message)
            time.sleep(pause)
            pause = min(0.05, pause * 2)
        self._handle = handle
        return True

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                unlock(handle)
            finally:
                handle.close()

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def compile_lock() -> FileLock:
    """The lock VoiceLab's processes hold around a call that makes numba compile and cache.

    numba writes a generalized ufunc's on-disk cache as two files, with no lock between
    processes (numba issue 10128): two processes compiling the same function at once can
    leave a pair that crashes (segfault) every later process that loads it. Seen here with
    librosa's pyin, compiled by two trainers' first previews at the same moment: from then
    on every preview of every run killed its trainer. One machine-wide lock file (in the
    temporary folder; the OS frees it when its holder dies) keeps the first compile single.
    """
    return FileLock(Path(tempfile.gettempdir()) / "voicelab-numba-compile.lock", timeout_s=900.0,
                    busy_message="Another VoiceLab process has been compiling its audio analysis for "
                                 "15 minutes; stop the other training runs and try again.")
