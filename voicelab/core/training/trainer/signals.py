"""The trainer's signal handlers: SIGTERM and the first Ctrl-C ask for a clean stop (a
checkpoint first), a second Ctrl-C interrupts at once. Lightning installs its own SIGTERM
handler when training starts, which would raise out of the loop without a checkpoint, so the
control callback puts VoiceLab's back (`reinstall_signal_handlers`). A module of its own so
that the runner, which installs them, and the callbacks, which reinstall them, do not import
each other.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

from voicelab.core.progress import CancelToken


def install_signal_handlers(cancel: CancelToken) -> Callable[[], None]:
    """SIGTERM and the first Ctrl-C ask for a clean stop; a second Ctrl-C interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def on_signal(signum: int, frame: Any) -> None:
        if signum == signal.SIGINT and cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()

    for sig in previous:
        signal.signal(sig, on_signal)
    _our_handlers[0] = on_signal

    def restore() -> None:
        _our_handlers[0] = None
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

    return restore


#: The handler `install_signal_handlers` set, re-installed after Lightning replaces it.
_our_handlers: list = [None]


def reinstall_signal_handlers() -> None:
    """Put VoiceLab's SIGTERM handler back (Lightning's would raise out of the loop instead of
    letting the stop checkpoint first); called by the control callback at train start."""
    handler = _our_handlers[0]
    if handler is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
