"""The trainer's two background threads: a heartbeat (alive, and the stop file of another
process) and a stdin reader (`stop` from the process that started it)."""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

from voicelab.core.progress import CancelToken
from voicelab.core.training.run import events as ev
from voicelab.core.training.run import runs

_LOG = logging.getLogger("voicelab.core.training.trainer.runner")


class Heartbeat:
    """Emits a heartbeat every few seconds, so a watcher can tell alive from hung."""

    def __init__(self, session: Any, interval: float) -> None:
        self.session = session
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="voicelab-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        stop_file = self.session.run_dir / runs.STOP_FILE
        while not self._stop.wait(self.interval):
            if stop_file.exists():  # `voicelab-cli train stop` from another terminal
                self.session.cancel.cancel()
                stop_file.unlink(missing_ok=True)
            state = self.session.state
            phase = state.phase if state is not None and self.session.phase == "training" else self.session.phase
            if self.session.cancel.cancelled:
                phase = "stopping"
            try:
                self.session.emit(ev.heartbeat(step=state.step if state else None, phase=phase,
                                               since_step_s=state.since_step() if state else None))
            except Exception:  # never let the watchdog take the trainer down
                _LOG.exception("heartbeat failed")


class StdinListener:
    """Reads stdin lines; `stop` asks the trainer to checkpoint and exit. Daemon: stdin can block.

    It reads the file descriptor with `os.read`, never through `sys.stdin`: a thread blocked
    in `sys.stdin`'s buffered read holds that object's lock, and a process forked meanwhile
    (a data-loader worker) inherits the lock held; multiprocessing's child start-up closes
    `sys.stdin`, waits on that lock forever, and training never left step 0.
    """

    def __init__(self, cancel: CancelToken) -> None:
        self.cancel = cancel
        self._thread = threading.Thread(target=self._loop, name="voicelab-stdin", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        try:
            fd = sys.__stdin__.fileno() if sys.__stdin__ is not None else -1
        except (OSError, ValueError):
            fd = -1
        if fd < 0:
            return
        pending = b""
        try:
            while True:
                chunk = os.read(fd, 4096)
                if not chunk:
                    return  # stdin closed: the caller went away; training goes on (events.EventWriter)
                pending += chunk
                *lines, pending = pending.split(b"\n")
                if any(line.strip().lower() == b"stop" for line in lines):
                    self.cancel.cancel()
        except OSError:
            pass
