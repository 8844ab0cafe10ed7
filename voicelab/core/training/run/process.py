"""`TrainerProcess`: start the trainer for a run folder as a child process and follow it.

The GUI's controller (on a QThread) and the CLI both use this; it holds no Qt. The child is
`python -m voicelab --run-trainer RUN_DIR` (in the frozen app `VoiceLab --run-trainer
RUN_DIR`, since there `sys.executable` is the app). Its stdout carries only events (see
events.py); its stderr goes to `RUN_DIR/logs/stderr.log`, so a chatty library can never
fill a pipe nobody reads and block training.

    process = TrainerProcess(run_dir, on_event=print)   # on_event runs on the reader thread
    process.start()
    for event in process.events():                      # or poll next_event(timeout)
        ...
    process.stop()          # "stop" line, then SIGTERM after a grace period, then kill
    process.returncode      # 0 finished, 3 stopped, 1 failed, 2 could not start

Watchdog: the trainer sends a heartbeat every ~2 s with its phase and the seconds since its
last step. `last_event_at`, `last_step_at` and `looks_stuck(after_s)` tell a caller when
to say "looks stuck" (no heartbeat at all, or no step while the phase is "training").

The child runs in its own process group/session, so a Ctrl-C in the CLI's terminal reaches
only the CLI (which then asks for a clean stop) and `kill()` ends the whole tree, ddp
workers included.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from voicelab.core.training.run import events as ev
from voicelab.core.training.run.runs import LOG_DIR

EventCallback = Callable[[dict[str, Any]], None]
EXIT_FINISHED, EXIT_FAILED, EXIT_NO_START, EXIT_STOPPED = 0, 1, 2, 3
STOP_GRACE_S = 60.0  # a stop checkpoints first; a big model on a slow disk takes a while
TERM_GRACE_S = 20.0


def trainer_command(run_dir: os.PathLike | str) -> list[str]:
    """The command line that runs the trainer on `run_dir` with this interpreter or app."""
    from voicelab.core.appexec import RUN_TRAINER, app_command

    return app_command(RUN_TRAINER, str(run_dir))


class TrainerProcess:
    """One trainer child process: start, events, stop, exit code."""

    def __init__(self, run_dir: os.PathLike | str, *, on_event: EventCallback | None = None,
                 env: Mapping[str, str] | None = None,
                 command: Sequence[str] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.on_event = on_event
        self.command = list(command) if command else trainer_command(self.run_dir)
        self._env = dict(os.environ if env is None else env)
        self._env.setdefault("PYTHONUNBUFFERED", "1")
        self._env["PYTHONIOENCODING"] = "utf-8"
        self._popen: subprocess.Popen | None = None
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader: threading.Thread | None = None
        self._lock = threading.Lock()
        self._finished_reading = threading.Event()
        self.last_event: dict[str, Any] | None = None
        self.last_event_at: float | None = None  # time.monotonic() of the latest event
        self.last_step_at: float | None = None  # time.monotonic() of the latest step event
        self.last_heartbeat: dict[str, Any] | None = None
        self.final_event: dict[str, Any] | None = None  # finished / stopped / error
        self.started_at: float | None = None

    # -- lifetime ----------------------------------------------------------------------------
    def start(self) -> TrainerProcess:
        if self._popen is not None:
            raise RuntimeError("this TrainerProcess was already started")
        logs = self.run_dir / LOG_DIR
        logs.mkdir(parents=True, exist_ok=True)
        stderr = open(logs / "stderr.log", "ab")
        kwargs: dict[str, Any] = {}
        if os.name == "nt":  # pragma: no cover - Windows
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        else:
            kwargs["start_new_session"] = True
        try:
            self._popen = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           stderr=stderr, env=self._env, **kwargs)
        finally:
            stderr.close()  # the child has its own copy
        self.started_at = time.monotonic()
        self._reader = threading.Thread(target=self._read, name="voicelab-trainer-reader", daemon=True)
        self._reader.start()
        return self

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen else None

    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code once the process has exited and its events are read; None on timeout."""
        if self._popen is None:
            return None
        try:
            code = self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._finished_reading.wait(None if timeout is None else max(0.1, timeout))
        return code

    def close(self) -> None:
        """Kill the process if it still runs, and join the reader thread (tests, shutdown)."""
        if self.running():
            self.kill()
        if self._popen is not None:
            self._popen.wait()
            if self._popen.stdin:
                try:
                    self._popen.stdin.close()
                except OSError:
                    pass
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self._popen is not None and self._popen.stdout:
            self._popen.stdout.close()

    def __enter__(self) -> TrainerProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- stopping ----------------------------------------------------------------------------
    def request_stop(self) -> bool:
        """Ask for a checkpoint and a clean exit (a `stop` line on stdin); never blocks long."""
        if not self.running() or self._popen is None or self._popen.stdin is None:
            return False
        try:
            with self._lock:
                self._popen.stdin.write(b"stop\n")
                self._popen.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def terminate(self) -> None:
        """SIGTERM (the trainer treats it as a stop request; on Windows it ends the process)."""
        if self.running() and self._popen is not None:
            try:
                self._popen.terminate()
            except OSError:
                pass

    def kill(self) -> None:
        """End the trainer and its children at once (loses the steps since the last checkpoint)."""
        if self._popen is None or self._popen.poll() is not None:
            return
        try:
            if os.name == "nt":  # pragma: no cover - Windows
                subprocess.run(["taskkill", "/F", "/T", "/PID", str(self._popen.pid)],
                               capture_output=True, check=False)
            else:
                os.killpg(self._popen.pid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass
        try:
            self._popen.kill()
        except OSError:
            pass

    def stop(self, grace_s: float = STOP_GRACE_S, term_s: float = TERM_GRACE_S) -> int | None:
        """Stop line; after `grace_s` SIGTERM; after `term_s` more, kill. Returns the exit code."""
        if self._popen is None:
            return None
        if self.running():
            self.request_stop()
            code = self.wait(grace_s)
            if code is None:
                self.terminate()
                code = self.wait(term_s)
            if code is None:
                self.kill()
        return self.wait()

    # -- events ------------------------------------------------------------------------------
    def _read(self) -> None:
        assert self._popen is not None and self._popen.stdout is not None
        try:
            for raw in self._popen.stdout:
                event = ev.parse_line(raw)
                if event is None:
                    continue
                now = time.monotonic()
                self.last_event, self.last_event_at = event, now
                kind = event["type"]
                if kind == "step":
                    self.last_step_at = now
                elif kind == "heartbeat":
                    self.last_heartbeat = event
                elif kind in ev.TERMINAL_TYPES:
                    self.final_event = event
                self._queue.put(event)
                if self.on_event is not None:
                    self.on_event(event)
        except (OSError, ValueError):
            pass  # the pipe was closed under us (close())
        finally:
            self._queue.put(None)
            self._finished_reading.set()

    def next_event(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next event; None on timeout or once the stream has ended (see `ended`)."""
        try:
            event = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if event is None:
            self._queue.put(None)  # keep the end marker for later calls
        return event

    @property
    def ended(self) -> bool:
        """True once the child closed its stdout (it exited) and every event was read."""
        return self._finished_reading.is_set()

    def events(self, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Every event until the process ends; with `timeout`, also ends after that long idle."""
        while True:
            event = self.next_event(timeout)
            if event is None:
                return
            yield event

    # -- watchdog ----------------------------------------------------------------------------
    def seconds_since_event(self) -> float | None:
        reference = self.last_event_at or self.started_at
        return None if reference is None else time.monotonic() - reference

    def seconds_since_step(self) -> float | None:
        return None if self.last_step_at is None else time.monotonic() - self.last_step_at

    def looks_stuck(self, after_s: float = 300.0) -> bool:
        """True when the trainer seems hung: silent for `after_s`, or training without steps.

        Long phases that legitimately have no steps (preparing data, validating, writing
        previews, saving) count only when even their heartbeats stop.
        """
        if not self.running():
            return False
        silent = self.seconds_since_event()
        if silent is not None and silent > after_s:
            return True
        beat = self.last_heartbeat
        if beat and beat.get("phase") == "training":
            since = beat.get("since_step_s")
            return since is not None and float(since) > after_s
        return False
