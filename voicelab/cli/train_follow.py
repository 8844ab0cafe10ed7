"""A training run's trainer, run from the terminal: followed in the foreground, or detached.

Both run the same trainer process the GUI runs (`TrainerProcess`: `voicelab --run-trainer
RUN`); the foreground shows its events as a progress bar, so a terminal run and a GUI run
are the same thing. A foreground command owns its trainer: Ctrl-C, SIGTERM and SIGHUP (a
closed terminal, `kill`, a service manager) ask it to checkpoint and stop, and the command
waits for that; a second Ctrl-C ends it at once. `--detach` leaves the trainer running in
the background (follow it in the run's events.jsonl; stop it with `train stop`).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from voicelab.core.errors import Cancelled, VoiceLabError


def run_trainer(run_dir: Path, *, detach: bool) -> int:
    from voicelab.core.training.run.process import TrainerProcess

    if detach:
        return _detach(run_dir)
    from voicelab.cli.terminal import cancel_on_ctrl_c

    cancel = cancel_on_ctrl_c()
    printer = _EventPrinter()
    process = TrainerProcess(run_dir)
    restore_signals = _stop_on_signals(cancel)
    process.start()
    stop_sent = False
    try:
        while True:
            try:
                event = process.next_event(timeout=0.25)
                if event is not None:
                    try:
                        printer(event)
                    except (OSError, ValueError):  # the terminal went away (SIGHUP): carry on
                        printer = _silent
                elif process.ended:
                    break
                if cancel.cancelled and not stop_sent:
                    process.request_stop()
                    stop_sent = True
            except KeyboardInterrupt:  # the second Ctrl-C: end it now
                process.kill()
                print("\nTrainer killed; resume continues from its last checkpoint.", file=sys.stderr)
                raise Cancelled() from None
        code = process.wait()
    finally:
        process.close()
        restore_signals()
    return _exit_code(process.final_event, code, run_dir.name)


def _stop_on_signals(cancel) -> Callable[[], None]:
    """SIGTERM and SIGHUP ask the trainer to save a checkpoint and stop, as the first Ctrl-C
    does (the trainer runs in its own session, so these reach only this command, which must
    pass them on, or the trainer would outlive it). Returns what puts the old handlers back."""
    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {sig: signal.getsignal(sig) for sig in wanted}

    def handler(signum: int, frame: Any) -> None:
        if not cancel.cancelled:
            _say(f"\n{signal.Signals(signum).name}: asking the trainer to save a checkpoint and "
                 "stop…")
        cancel.cancel()

    for sig in wanted:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)

    return restore


def _silent(event: dict[str, Any]) -> None:
    """The event printer once there is no terminal to print on."""


def _say(text: str) -> None:
    """A line on stderr that may not be there any more (SIGHUP: the terminal closed)."""
    try:
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _exit_code(final: dict[str, Any] | None, code: int | None, run_name: str = "RUN") -> int:
    from voicelab.cli.terminal import EXIT_CANCELLED, EXIT_ERROR
    from voicelab.core.training.run.event_text import stopped_text

    kind = (final or {}).get("type")
    if kind == "finished":
        return 0
    if kind == "stopped":
        _say(f"{stopped_text(final).rstrip('.')} (`voicelab-cli train resume {run_name}`).")
        return EXIT_CANCELLED
    if kind == "error":
        hint = final.get("hint")
        raise VoiceLabError(str(final.get("message")) + (f"\n{hint}" if hint else ""))
    if code == 0:
        return 0
    print(f"The trainer exited ({code}) without a final event; see the run's logs/ folder.",
          file=sys.stderr)
    return EXIT_ERROR


def _detach(run_dir: Path) -> int:
    import os
    import subprocess

    from voicelab.core.training.run import runs
    from voicelab.core.training.run.process import trainer_command

    logs = run_dir / runs.LOG_DIR
    logs.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {}
    if os.name == "nt":  # pragma: no cover - Windows
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
    else:
        kwargs["start_new_session"] = True
    with open(logs / "stderr.log", "ab") as stderr:
        process = subprocess.Popen(trainer_command(run_dir), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=stderr, **kwargs)
    print(f"Training in the background (pid {process.pid}). Follow {run_dir / 'events.jsonl'}; "
          f"stop with `voicelab-cli train stop {run_dir.name}`.", file=sys.stderr)
    print(run_dir)
    return 0


class _EventPrinter:
    """Events as a progress bar (preparation, warm-up, steps) and, for the rest, the lines the
    Training tab's log shows (run/event_text.event_line). A stop and an error are said once,
    by the command's ending (`_exit_code`)."""

    def __init__(self) -> None:
        from voicelab.cli.terminal import TerminalProgress

        self.bar = TerminalProgress()
        self.warmup_bar = TerminalProgress(unit="share")
        self.total: int | None = None
        self.stream = sys.stderr
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def line(self, text: str) -> None:
        self.stream.write(("\r\033[K" if self._tty else "") + text + "\n")
        self.stream.flush()

    def __call__(self, event: dict[str, Any]) -> None:
        from voicelab.core.training.run.event_text import event_line, total_steps, warmup_fraction, warmup_status

        kind = event.get("type")
        if kind == "preparing":
            self.bar(event.get("done", 0), event.get("total", 0), event.get("message", ""))
        elif kind == "step":
            self.bar(float(event.get("step") or 0), self.total or 0, event_line(event) or "")
        elif kind == "warmup" and event.get("stage") not in ("done", "cached"):
            self.warmup_bar(warmup_fraction(event) or 0.0, 1.0, warmup_status(event, time_left=False),
                            eta_s=event.get("eta_s"))
        elif kind not in ("stopped", "error"):
            if kind == "started":
                self.total = total_steps(event.get("config") or {}, event.get("steps_per_epoch"))
                self.bar = type(self.bar)()
            text = event_line(event)
            if text:
                self.line(text)


