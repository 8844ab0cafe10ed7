"""How several writers share one dataset: its lock, and the marks of who has it open.

Two `voicelab-cli dataset add` on one dataset, or a GUI and a CLI, each hold the dataset
in memory. Without this, each saved what it held and the last save won: the other's clips
became orphan wavs. So every change is a read-modify-write under `.dataset.lock` (an OS
lock, `core.locks`): take the lock, re-read dataset.json if another process saved it since,
change, save, release. The lock is held for milliseconds (never while decoding or
transcribing), so writers take turns without noticing each other.

`.open/` holds one locked mark file per `Dataset` object alive in any process. Removing
leftover wavs of a crash is only safe when no other writer is half-way through writing
clips, and a held mark says one may be; a mark nobody holds is a process that died.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from voicelab.core.dataset.records import DatasetError
from voicelab.core.locks import FileLock, try_lock, unlock

LOCK_FILE = ".dataset.lock"
OPEN_DIR = ".open"
#: How long a writer waits for another process's turn. Turns take milliseconds; only an
#: LJSpeech import (one batch) holds the lock for long.
WAIT_S = 30.0


def unwritable(folder: Path, error: OSError) -> DatasetError:
    """The one message for a dataset folder VoiceLab cannot write (permissions, a
    read-only or full disk)."""
    reason = error.strerror or str(error)
    return DatasetError(f"Cannot write to the dataset folder {folder} ({reason}). Make it "
                        "writable (check its permissions and free disk space), then try again; "
                        "nothing was changed.")


class DatasetLock:
    """One `Dataset` object's lock: its threads share an RLock, and the outermost hold also
    takes the folder's lock, so other processes wait their turn.

    `with lock:` is a change: once the OS lock is held, `on_enter()` runs (the store
    catches up with another process's save). `hold(refresh=False)` writes what this
    object holds as it is (`Dataset.save` called on its own). `local` is the thread lock
    alone, for reading what this object holds. `on_leave()` runs after the last release,
    outside both locks.
    """

    def __init__(self, folder: Path, on_enter: Callable[[], None],
                 on_leave: Callable[[], None]) -> None:
        """`on_enter` and `on_leave` are methods of the lock's owner, held weakly: the owner
        holds the lock, and a cycle would keep a closed dataset's mark until the next full
        garbage collection."""
        self.folder = Path(folder)
        self.local = threading.RLock()
        self._file = FileLock(self.folder / LOCK_FILE, timeout_s=WAIT_S, busy_message=(
            f"The dataset {self.folder} is busy: another VoiceLab process has been changing it "
            f"for {WAIT_S:.0f} s. Try again when it has finished."))
        self._depth = 0
        self._on_enter = weakref.WeakMethod(on_enter)
        self._on_leave = weakref.WeakMethod(on_leave)

    def acquire(self, refresh: bool = True) -> None:
        self.local.acquire()
        try:
            if self._depth == 0:
                try:
                    self._file.acquire()
                except FileNotFoundError:
                    raise DatasetError(f"The dataset folder {self.folder} is gone: another VoiceLab "
                                       "window deleted or renamed it. Open it again.") from None
                except OSError as error:
                    raise unwritable(self.folder, error) from None
                try:
                    if refresh:
                        _call(self._on_enter)
                except BaseException:
                    self._file.release()
                    raise
            self._depth += 1
        except BaseException:
            self.local.release()
            raise

    def release(self) -> None:
        self._depth -= 1
        last = self._depth == 0
        if last:
            self._file.release()
        self.local.release()
        if last:
            _call(self._on_leave)

    def __enter__(self) -> DatasetLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    @contextlib.contextmanager
    def hold(self, refresh: bool = True) -> Iterator[DatasetLock]:
        self.acquire(refresh)
        try:
            yield self
        finally:
            self.release()

    @contextlib.contextmanager
    def try_hold(self) -> Iterator[bool]:
        """The folder's lock if it is free now (True), else nothing (False); never waits.
        For housekeeping that can wait for a quieter moment."""
        with self.local:
            if self._depth:
                yield True
                return
            try:
                got = self._file.acquire(wait=False)
            except OSError:
                got = False  # a folder that cannot be written: no housekeeping either
            try:
                yield got
            finally:
                if got:
                    self._file.release()


class OpenMark:
    """This `Dataset` object's mark in `.open/`: a file it keeps locked while it lives.

    Taken and checked under the dataset's lock, so a new mark is never mistaken for a dead
    one. The mark goes when the object is garbage-collected or the process ends.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder) / OPEN_DIR
        self.path: Path | None = None
        self._finalizer: weakref.finalize | None = None

    def place(self) -> bool:
        """Put the mark; False when the folder cannot be written (a reader then)."""
        try:
            self.folder.mkdir(exist_ok=True)
            path = self.folder / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
            handle = open(path, "a+b")
        except OSError:
            return False
        if not try_lock(handle):  # pragma: no cover - a fresh, unique file
            handle.close()
            return False
        self.path = path
        self._finalizer = weakref.finalize(self, _remove_mark, handle, path)
        return True

    def remove(self) -> None:
        if self._finalizer is not None:
            self._finalizer()

    def others_open(self) -> bool:
        """True when another live `Dataset` object, in any process, has the dataset open.
        Marks of dead processes are removed on the way."""
        try:
            marks = list(self.folder.iterdir())
        except OSError:
            return False
        alive = False
        for mark in marks:
            if mark == self.path:
                continue
            try:
                handle = open(mark, "a+b")
            except OSError:
                alive = True  # cannot tell: assume someone
                continue
            with handle:
                if not try_lock(handle):
                    alive = True
                    continue
                unlock(handle)
            mark.unlink(missing_ok=True)
        return alive


def _call(method: weakref.WeakMethod) -> None:
    function = method()
    if function is not None:
        function()


def _remove_mark(handle: Any, path: Path) -> None:
    try:
        handle.close()
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
