"""Trainer events as lines a person reads: what happened, when, and for errors what to do.

Step events arrive up to ten a second, so only the first step of a start and the first of
each epoch get a line (the chart and the progress bar show the rest); every other event
gets one. The pane keeps the last `MAX_LINES` lines.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from voicelab.core.training.run.event_text import event_line

MAX_LINES = 5000


def stamp(event: Mapping[str, Any]) -> str:
    try:
        return _dt.datetime.fromtimestamp(float(event["time"])).strftime("%H:%M:%S")
    except (KeyError, TypeError, ValueError, OSError):
        return "--:--:--"


def history_lines(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """The log's lines for a run's whole history (runs off the UI thread: a long run has
    tens of thousands of events), the last `MAX_LINES` of them."""
    log = _Lines()
    return [line for line in map(log.line, events) if line][-MAX_LINES:]


class _Lines:
    """Which events get a line: the first step of each epoch, one line per preparation and
    per warm-up stage (the progress bar shows the steps in between)."""

    def __init__(self) -> None:
        self.epoch: int | None = None
        self.preparing = ""  # the preparation (and warm-up stage) a line was written for

    def line(self, event: Mapping[str, Any]) -> str | None:
        kind = event.get("type")
        if kind == "started":
            self.epoch = None
        if kind in ("preparing", "warmup") and event.get("stage") not in ("done", "cached"):
            phase = f"{kind} {event.get('stage') or ''}"
            if self.preparing == phase:
                return None  # the progress bar shows the rest
            self.preparing = phase
        elif kind != "heartbeat":
            self.preparing = ""
        if kind == "step":
            if event.get("epoch") == self.epoch:
                return None
            self.epoch = event.get("epoch")
        text = event_line(event)
        return f"{stamp(event)}  {text}" if text else None


class TrainingLog(QPlainTextEdit):
    """The log pane of the Training tab."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.WidgetWidth)
        self.setPlaceholderText("What the trainer does appears here.")
        self._lines = _Lines()

    def reset(self) -> None:
        self.clear()
        self._lines = _Lines()

    def load(self, events: Sequence[Mapping[str, Any]]) -> None:
        self.set_history(history_lines(events), events)

    def set_history(self, lines: list[str], events: Sequence[Mapping[str, Any]]) -> None:
        """Show lines made by `history_lines(events)`; live events then follow on."""
        self.reset()
        for event in reversed(events):  # carry on from where the history ends
            if event.get("type") in ("step", "started"):
                self._lines.epoch = event.get("epoch") if event.get("type") == "step" else None
                break
        self.setPlainText("\n".join(lines))
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())

    def add_event(self, event: Mapping[str, Any]) -> None:
        line = self._lines.line(event)
        if line:
            self.appendPlainText(line)
