"""What every `voicelab-cli` command shares on the terminal: exit codes, the one-line progress
bar with its time left, and Ctrl-C that cancels the running work cleanly (a second one stops
at once). The commands' own modules import this, never the dispatcher (main.py), so the
package has no import circle.
"""

from __future__ import annotations

import signal
import sys
import time

from voicelab.core.progress import CancelToken, EtaEstimator, format_bytes, format_time_left

EXIT_ERROR = 1
EXIT_CANCELLED = 130


class TerminalProgress:
    """A one-line progress bar with ETA on a terminal; plain lines when not a terminal.

    `unit` "bytes" shows amounts as sizes, "share" shows none (the done and total are a
    share of the work, 0-1, as a warm-up reports it). An `eta_s` given with a call (the
    work's own estimate) is shown instead of the one from this bar's rate.
    """

    def __init__(self, stream=None, width: int = 28, unit: str = "") -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.unit = unit
        self.eta = EtaEstimator()
        self._last = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def __call__(self, done: float, total: float, message: str = "", eta_s: float | None = None) -> None:
        now = time.monotonic()
        final = bool(total) and done >= total
        if not final and now - self._last < (0.1 if self._tty else 2.0):
            return
        self._last = now
        if total:
            fraction = min(1.0, done / total)
            filled = int(fraction * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            amount = (f"{format_bytes(done)}/{format_bytes(total)} " if self.unit == "bytes"
                      else "" if self.unit == "share" else f"{done:g}/{total:g} ")
            eta = self.eta.eta(done, total) if eta_s is None else eta_s
            left = f"{format_time_left(eta)} " if eta is not None else ""  # unknown at first
            line = f"[{bar}] {fraction * 100:5.1f}% {amount}{left}{message}"
        else:
            line = f"{message} …"
        if self._tty:
            self.stream.write("\r" + line[:160].ljust(160))
            if final:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def cancel_on_ctrl_c() -> CancelToken:
    token = CancelToken()

    def handler(signum, frame):
        if token.cancelled:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        print("\nCancelling… (press Ctrl-C again to stop at once)", file=sys.stderr)
        token.cancel()

    signal.signal(signal.SIGINT, handler)
    return token
