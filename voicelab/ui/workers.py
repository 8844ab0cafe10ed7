"""The one way to run core work off the UI thread.

A `Job` runs a core function on its own `QThread`. The function receives the core's
`progress(done, total, message)` callback and a `CancelToken`; the job turns them into Qt
signals, so widgets never call blocking code and never touch threads themselves. A job made
with `emits=True` also hands the function `emit(value)`, for results worth having before the
whole is done (a sentence of speech to play now); each arrives as the `partial` signal.
Every job is registered with the `JobManager`, which the status bar watches and which stops
all jobs when the window closes. Work that runs elsewhere (the trainer is a child process)
joins the same list as an `ExternalJob`, so the status bar, Cancel and the close prompt
treat it like any other job. A job may say what it `holds` (("dataset", name), ("voice",
id), ("run", name)); renames and deletes ask `JobManager.holder` first, so nothing is
taken away from under running work.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from voicelab.core.errors import Cancelled, VoiceLabError
from voicelab.core.progress import CancelToken, EtaEstimator

log = logging.getLogger(__name__)

# At most this many progress signals a second reach the UI; more would only cost repaints.
_PROGRESS_INTERVAL_S = 0.05


class _Runner(QObject):
    """Lives on the worker thread and calls the core function there."""

    progress = Signal(float, float, str)
    partial = Signal(object)
    done = Signal(str, object, str)  # outcome ("finished"|"failed"|"cancelled"), result, details

    def __init__(self, func: Callable[..., Any], args: tuple, kwargs: dict, token: CancelToken,
                 emits: bool = False):
        super().__init__()
        self._func = func
        self._args = args
        self._kwargs = dict(kwargs, emit=self.partial.emit) if emits else kwargs
        self._token = token
        self._last_emit = 0.0

    def _report(self, done: float, total: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last_emit >= _PROGRESS_INTERVAL_S or (total and done >= total):
            self._last_emit = now
            self.progress.emit(float(done), float(total), message)
        self._token.raise_if_cancelled()

    @Slot()
    def run(self) -> None:
        try:
            self._call()
        finally:
            # Quit from this side: a UI thread blocked in Job.wait() (shutdown) could never
            # deliver a queued quit, and the wait would time out with the thread still alive.
            QThread.currentThread().quit()

    def _call(self) -> None:
        try:
            result = self._func(*self._args, progress=self._report, cancel=self._token, **self._kwargs)
        except Cancelled:
            self.done.emit("cancelled", None, "")
        except VoiceLabError as exc:
            log.warning("Job failed: %s", exc)
            self.done.emit("failed", str(exc), "")
        except Exception as exc:  # anything else is a bug: keep the traceback for the dialog
            details = traceback.format_exc()
            log.error("Job crashed:\n%s", details)
            self.done.emit("failed", f"Unexpected error: {exc}", details)
        else:
            if self._token.cancelled:
                self.done.emit("cancelled", None, "")
            else:
                self.done.emit("finished", result, "")


class Job(QObject):
    """A core function running in the background, with progress, ETA and cancel.

    The function is called as ``func(*args, progress=..., cancel=..., **kwargs)``, with
    ``emit=...`` too when `emits` is True; every `emit(value)` becomes `partial(value)` on the
    UI thread, unthrottled and in order, all before the end. Exactly one of `finished`,
    `failed` or `cancelled` is emitted, then `ended`.
    """

    progress = Signal(float, float, str)
    partial = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str)  # user-facing message, technical details (may be empty)
    cancelled = Signal()
    ended = Signal()

    def __init__(self, title: str, func: Callable[..., Any], *args: Any, cancellable: bool = True,
                 emits: bool = False, **kwargs: Any) -> None:
        super().__init__()
        self.title = title
        self.cancellable = cancellable
        self.holds: frozenset = frozenset()
        self.token = CancelToken()
        self.done_units = 0.0
        self.total_units = 0.0
        self.message = ""
        self.outcome: str | None = None
        self.result: Any = None
        self._eta = EtaEstimator()
        self._thread = QThread()
        self._thread.setObjectName(f"job: {title}")
        self._runner = _Runner(func, args, kwargs, self.token, emits)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self._runner.progress.connect(self._on_progress)
        self._runner.partial.connect(self._on_partial)
        self._runner.done.connect(self._on_done)
        self._thread.finished.connect(self._on_thread_finished)
        self._pending: tuple | None = None

    def start(self) -> Job:
        self._eta = EtaEstimator()
        self._thread.start()
        return self

    def cancel(self) -> None:
        if self.cancellable:
            self.token.cancel()

    def is_running(self) -> bool:
        """True while the worker thread runs; a stopped job whose end is not yet delivered is not."""
        return self._thread.isRunning()

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Block until the thread has stopped (used at shutdown and in tests)."""
        return self._thread.wait(timeout_ms)

    def fraction(self) -> float | None:
        if self.total_units <= 0:
            return None
        return min(1.0, self.done_units / self.total_units)

    def eta_seconds(self) -> float | None:
        return self._eta.eta(self.done_units, self.total_units)

    @Slot(float, float, str)
    def _on_progress(self, done: float, total: float, message: str) -> None:
        self.done_units, self.total_units = done, total
        if message:
            self.message = message
        self.progress.emit(done, total, message)

    @Slot(object)
    def _on_partial(self, value: object) -> None:
        self.partial.emit(value)

    @Slot(str, object, str)
    def _on_done(self, outcome: str, payload: object, details: str) -> None:
        self._pending = (outcome, payload, details)

    @Slot()
    def _on_thread_finished(self) -> None:
        outcome, payload, details = self._pending or ("failed", "The job stopped unexpectedly.", "")
        self.outcome = outcome
        if outcome == "finished":
            self.result = payload
            self.finished.emit(payload)
        elif outcome == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(str(payload), details)
        self.ended.emit()


class ExternalJob(QObject):
    """Work running outside this process (the trainer), shown and cancelled like a `Job`.

    Its owner reports progress with `update` and calls `end` when the work is over; Cancel
    calls `on_cancel` (for training: checkpoint, then stop). `wait` does not block: the
    owner stops and waits for its process itself.
    """

    progress = Signal(float, float, str)
    ended = Signal()

    def __init__(self, title: str, on_cancel: Callable[[], None],
                 holds: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__()
        self.title = title
        self.cancellable = True
        self.holds = frozenset(holds)
        self.token = CancelToken()
        self.done_units = 0.0
        self.total_units = 0.0
        self.message = ""
        self._eta_s: float | None = None
        self._on_cancel = on_cancel
        self._running = True

    def update(self, done: float, total: float, message: str = "", eta_s: float | None = None) -> None:
        self.done_units, self.total_units, self._eta_s = float(done), float(total), eta_s
        if message:
            self.message = message
        self.progress.emit(self.done_units, self.total_units, message)

    def cancel(self) -> None:
        if self._running and not self.token.cancelled:
            self.token.cancel()
            self._on_cancel()

    def end(self) -> None:
        if self._running:
            self._running = False
            self.ended.emit()

    def is_running(self) -> bool:
        return self._running

    def wait(self, timeout_ms: int = 0) -> bool:
        return True

    def fraction(self) -> float | None:
        return min(1.0, self.done_units / self.total_units) if self.total_units > 0 else None

    def eta_seconds(self) -> float | None:
        return self._eta_s


AnyJob = Job | ExternalJob


class JobManager(QObject):
    """Knows every running job; the status bar shows them and shutdown stops them."""

    jobAdded = Signal(object)
    jobRemoved = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[AnyJob] = []

    def jobs(self) -> list[AnyJob]:
        return list(self._jobs)

    def run(self, title: str, func: Callable[..., Any], *args: Any, cancellable: bool = True,
            emits: bool = False, holds: Iterable[tuple[str, str]] = (), **kwargs: Any) -> Job:
        """Create, register and start a job; connect to its signals before control returns
        to the event loop (signals are queued, so none is missed)."""
        job = Job(title, func, *args, cancellable=cancellable, emits=emits, **kwargs)
        job.holds = frozenset(holds)
        self._add(job)
        return job.start()

    def track(self, job: ExternalJob) -> ExternalJob:
        """List work that runs elsewhere until it calls `end`."""
        self._add(job)
        return job

    def _add(self, job: AnyJob) -> None:
        self._jobs.append(job)
        job.ended.connect(lambda: self._remove(job))
        self.jobAdded.emit(job)

    def holder(self, kind: str, name: str) -> AnyJob | None:
        """The running job that holds this item, if any (see the module docstring)."""
        return next((job for job in self._jobs if (kind, name) in job.holds and job.is_running()), None)

    def _remove(self, job: Job) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
            self.jobRemoved.emit(job)

    def cancel_all(self) -> None:
        for job in self._jobs:
            job.cancel()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel every job and wait for its thread; True when all stopped in time."""
        return stop_jobs(self._jobs, timeout_ms)


def stop_jobs(jobs: Iterable[AnyJob], timeout_ms: int) -> bool:
    """Cancel every job first (each checks its token between stages), then wait for them all
    within one deadline; True when all stopped in time. Cancelling all before the first wait
    lets them wind down together instead of one after another."""
    jobs = list(jobs)
    for job in jobs:
        job.cancel()
    deadline = time.monotonic() + timeout_ms / 1000
    stopped = True
    for job in jobs:
        remaining = max(0, int((deadline - time.monotonic()) * 1000))
        stopped = job.wait(remaining) and stopped
    return stopped
