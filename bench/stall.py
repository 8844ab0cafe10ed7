"""How long the UI thread's event loop froze: the meter bench/bench_ui_stall.py and
bench/record_stall.py measure against their 50 ms target, and the Training-tab test bounds
(a hang of seconds).

One meter, so all of them measure the same way. It belongs to the measuring kit of bench/
(tests may use it; bench/ never imports from tests): a test asserts only that the window
did not hang (a loaded machine alone delays a timer by tens of milliseconds), a bench prints
the figure beside an idle event loop's and says whether the target was met.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEventLoop, Qt, QTimer


class StallMeter:
    """The longest time the UI thread's event loop went without running a 10 ms timer."""

    def __init__(self) -> None:
        self.timer = QTimer(interval=10)
        self.timer.setTimerType(Qt.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.worst = 0.0
        self.last = None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.worst = max(self.worst, now - self.last)
        self.last = now

    def start(self) -> None:
        self.last = None
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()


def wait_for(condition, timeout_s=60.0):
    """Run the event loop as the app does until `condition()` holds.

    `qtbot.waitUntil` sleeps 10 ms between rounds of events (QTest::qWait), which the stall
    meter would count against the tab; a real `QEventLoop.exec()` wakes for each event.
    """
    loop = QEventLoop()
    poll = QTimer(interval=20)
    poll.timeout.connect(lambda: condition() and loop.quit())
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    if not condition():
        poll.start()
        loop.exec()
        poll.stop()
    assert condition(), f"timed out after {timeout_s} s"
