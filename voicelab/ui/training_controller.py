"""The GUI's hold on one trainer process: events as Qt signals, stop, and a clean shutdown.

Training runs in a child process (`core.training.process.TrainerProcess`); this module is
the DESIGN's "controller on a QThread". It has two halves, as `workers.Job` does:

* `_TrainerWorker` lives on its own `QThread`. It starts the child there (a fork of a big
  interpreter can take a while), drains the child's events every `drain_ms` and emits one
  signal per event, asks `looks_stuck()` every `stuck_poll_s`, and escalates a stop with
  timers (stop line → SIGTERM after `stop_grace_s` → kill after `term_grace_s`), so no
  wait ever blocks anything: the worker's event loop keeps turning while it stops.
* `TrainingController` lives on the UI thread and is what a tab holds: `start()`,
  `stop()` (returns at once), `shutdown()` (window close) and the signals `event`,
  `stuck` and `ended`. `ended` is emitted only after the worker's thread has finished,
  so a receiver may drop the controller right away.

`shutdown()` is the one call that waits on purpose: when the window closes, the trainer
is asked to save a checkpoint and exit, and the window waits for that a bounded time
(then SIGTERM, then kill: a killed run resumes from its previous checkpoint). It first
stops the worker's thread, so the two never handle the process at once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from voicelab.core.training.run import events as ev
from voicelab.core.training.run.process import EXIT_NO_START, TrainerProcess

log = logging.getLogger(__name__)

DRAIN_MS = 50  # how often the worker hands new events on (the trainer sends ≤ ~10 steps/s)
STUCK_POLL_S = 5.0
STUCK_AFTER_S = 300.0
STOP_GRACE_S = 60.0  # a stop saves a checkpoint first: big models on slow disks take a while
TERM_GRACE_S = 20.0
SHUTDOWN_WAIT_S = 30.0  # at window close; then SIGTERM, then kill
TRAINER_NICENESS = 10
_MAX_EVENTS_PER_DRAIN = 500  # keep the worker's loop responsive after a burst


def _lower_priority(pid: int | None) -> None:
    """Let the window win the CPU over the trainer (and the workers it starts later).

    Training on the CPU keeps every core busy; at the same priority the window would wait
    for the scheduler and stutter. A lower priority costs training nothing while the
    machine is otherwise idle. POSIX only (the trainer leads its own process group).
    """
    if pid is None or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PGRP, pid, max(TRAINER_NICENESS, os.getpriority(os.PRIO_PROCESS, 0)))
    except OSError as error:  # e.g. the trainer has already exited
        log.info("could not lower the trainer's priority: %s", error)


class _TrainerWorker(QObject):
    """Runs on the controller's QThread; owns the `TrainerProcess` while training runs."""

    event = Signal(object)  # one event dict
    stuck = Signal(bool)
    done = Signal(int)  # exit code, just before the thread quits

    def __init__(self, run_dir: Path, env: Mapping[str, str] | None,
                 command: Sequence[str] | None, drain_ms: int, stuck_poll_s: float,
                 stuck_after_s: float, stop_grace_s: float, term_grace_s: float) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.env = env
        self.command = command
        self.drain_ms = drain_ms
        self.stuck_poll_s = stuck_poll_s
        self.stuck_after_s = stuck_after_s
        self.stop_grace_s = stop_grace_s
        self.term_grace_s = term_grace_s
        self.process: TrainerProcess | None = None
        self.shutting_down = False  # set by the UI thread before it quits this thread
        self._stuck = False
        self._finished = False
        self._timers: list = []

    @Slot()
    def begin(self) -> None:
        """Start the child (on this thread) and the drain and watchdog timers."""
        if self.shutting_down:  # the window closed before the thread got going
            self._finish(EXIT_NO_START)
            return
        self.process = TrainerProcess(self.run_dir, env=self.env, command=self.command)
        try:
            self.process.start()
        except OSError as error:  # the interpreter or the app could not be executed
            self.event.emit(ev.error(
                message=f"The trainer could not start: {error}.",
                hint="Reinstall VoiceLab, or check that the disk is not full.", kind="internal"))
            self._finish(EXIT_NO_START)
            return
        _lower_priority(self.process.pid)
        self._drain_timer = self._timer(self.drain_ms, self._drain)
        self._stuck_timer = self._timer(int(self.stuck_poll_s * 1000), self._check_stuck)

    def _timer(self, interval_ms: int, slot, single: bool = False) -> QTimer:
        timer = QTimer(self)
        timer.setInterval(max(1, int(interval_ms)))
        timer.setSingleShot(single)
        timer.timeout.connect(slot)
        timer.start()
        self._timers.append(timer)
        return timer

    @Slot()
    def _drain(self) -> None:
        process = self.process
        if process is None or self._finished:
            return
        ended = process.ended  # read first: once set, every event is already queued
        for _ in range(_MAX_EVENTS_PER_DRAIN):
            event = process.next_event(timeout=0)
            if event is None:
                break
            self.event.emit(event)
        else:
            return  # more waiting; the next tick goes on
        if ended:
            code = process.returncode
            if code is None and process.wait(0.5) is None:
                return  # stdout is closed but the process lingers: look again next tick
            self._finish(process.returncode if process.returncode is not None else -1)

    @Slot()
    def _check_stuck(self) -> None:
        if self.process is None or self._finished:
            return
        stuck = self.process.looks_stuck(self.stuck_after_s)
        if stuck != self._stuck:
            self._stuck = stuck
            self.stuck.emit(stuck)

    @Slot()
    def stop(self) -> None:
        """Ask for a checkpoint and an exit; escalate by timers if the trainer does not."""
        process = self.process
        if process is None or self._finished or not process.running():
            return
        if not process.request_stop():  # its stdin is gone: SIGTERM is also a stop request
            process.terminate()
        self._timer(int(self.stop_grace_s * 1000), self._terminate, single=True)

    @Slot()
    def _terminate(self) -> None:
        if self.process is not None and self.process.running() and not self._finished:
            log.warning("trainer did not stop within %.0f s; sending SIGTERM", self.stop_grace_s)
            self.process.terminate()
            self._timer(int(self.term_grace_s * 1000), self._kill, single=True)

    @Slot()
    def _kill(self) -> None:
        if self.process is not None and self.process.running() and not self._finished:
            log.warning("trainer ignored SIGTERM; killing it")
            self.process.kill()

    @Slot()
    def halt(self) -> None:
        """Shutdown: stop the timers here (their thread) and end the loop; the UI thread
        handles the process from now on."""
        for timer in self._timers:
            timer.stop()
        QThread.currentThread().quit()

    def _finish(self, code: int) -> None:
        self._finished = True
        for timer in self._timers:
            timer.stop()
        if self.process is not None:
            self.process.close()  # joins the reader thread
        if self._stuck:
            self._stuck = False
            self.stuck.emit(False)
        self.done.emit(int(code))
        QThread.currentThread().quit()


class TrainingController(QObject):
    """One trainer process for one run folder, followed from the UI thread through signals.

    `env` is the trainer's environment (default: this process's); `command` replaces the
    trainer's command line (tests use a fake trainer).

    `event(dict)` carries every trainer event (heartbeats included) in order; `stuck(bool)`
    says when `looks_stuck()` changes; `ended(int)` gives the exit code (0 finished,
    3 stopped, 1 failed, 2 could not start, negative: killed) once all events were sent.
    """

    event = Signal(object)
    stuck = Signal(bool)
    ended = Signal(int)
    _stopRequested = Signal()
    _haltRequested = Signal()

    def __init__(self, run_dir: os.PathLike | str, *, env: Mapping[str, str] | None = None,
                 command: Sequence[str] | None = None, drain_ms: int = DRAIN_MS, stuck_poll_s: float = STUCK_POLL_S,
                 stuck_after_s: float = STUCK_AFTER_S, stop_grace_s: float = STOP_GRACE_S,
                 term_grace_s: float = TERM_GRACE_S, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.exit_code: int | None = None
        self.final_event: dict[str, Any] | None = None
        self.stop_requested = False
        self._thread = QThread()
        self._thread.setObjectName(f"trainer: {self.run_dir.name}")
        self._worker = _TrainerWorker(self.run_dir, env, command, drain_ms, stuck_poll_s,
                                      stuck_after_s, stop_grace_s, term_grace_s)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.begin)
        self._worker.event.connect(self._on_event)
        self._worker.stuck.connect(self.stuck)
        self._worker.done.connect(self._on_done)
        self._stopRequested.connect(self._worker.stop)
        self._haltRequested.connect(self._worker.halt)
        self._thread.finished.connect(self._on_thread_finished)
        self._started = False
        self._ended = False

    # -- control (UI thread) ---------------------------------------------------------------
    def start(self) -> TrainingController:
        if self._started:
            raise RuntimeError("a TrainingController runs one trainer; make a new one")
        self._started = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the trainer to save a checkpoint and stop; returns at once."""
        if self.is_running() and not self.stop_requested:
            self.stop_requested = True
            self._stopRequested.emit()

    def is_running(self) -> bool:
        """True from `start()` until `ended` is emitted."""
        return self._started and not self._ended

    @property
    def pid(self) -> int | None:
        process = self._worker.process
        return process.pid if process is not None else None

    def shutdown(self, timeout_s: float = SHUTDOWN_WAIT_S, term_s: float = 5.0) -> bool:
        """Stop the trainer cleanly (it checkpoints first), waiting at most about
        `timeout_s + term_s`; then it is killed. True when it exited before the kill."""
        if not self._started or self._ended:
            self._thread.wait(2000)
            return True
        self._worker.shutting_down = True
        self._haltRequested.emit()  # the worker's loop stops; from here this thread alone acts
        for _ in range(5):
            if self._thread.wait(1000):
                break
            self._thread.quit()
        process = self._worker.process
        clean = True
        if process is not None:
            if process.running():
                process.request_stop() or process.terminate()
                code = process.wait(timeout_s)
                if code is None:
                    process.terminate()
                    code = process.wait(term_s)
                clean = code is not None
            process.close()
            self.exit_code = process.returncode
            self.final_event = process.final_event
        self._ended = True
        return clean

    # -- from the worker ---------------------------------------------------------------------
    @Slot(object)
    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") in ev.TERMINAL_TYPES:
            self.final_event = event
        self.event.emit(event)

    @Slot(int)
    def _on_done(self, code: int) -> None:
        self.exit_code = code

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._ended:
            return  # shutdown() took over; nobody waits for `ended` any more
        self._ended = True
        self.ended.emit(self.exit_code if self.exit_code is not None else -1)

