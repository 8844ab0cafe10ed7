"""Trainer events as lines a person reads: what happened, when, and for errors what to do.

Step events arrive up to ten a second, so only the first step of a start and the first of
each epoch get a line (the chart and the progress bar show the rest); every other event
gets one. The pane keeps the last `MAX_LINES` lines.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from voicelab.core.training.event_text import frozen_text, preview_text, stopped_text, warmup_status

MAX_LINES = 5000


def _num(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{float(value):.{digits}g}"


def _name(path: Any) -> str:
    return Path(str(path)).name if path else "none"


def describe(event: Mapping[str, Any]) -> str | None:
    """One line for an event (several for an error), or None for events not worth a line."""
    kind = event.get("type")
    step, epoch = event.get("step"), event.get("epoch")
    if kind == "preparing":
        return f"Preparing the clips: {event.get('message') or ''}".rstrip(": ")
    if kind == "warmup":  # "cached" is followed by "done", which says so
        return None if event.get("stage") == "cached" else warmup_status(event)
    if kind == "prepared":
        dropped = event.get("dropped") or []
        line = (f"Data: {event.get('train')} training and {event.get('validation')} validation "
                f"clips, {float(event.get('seconds') or 0) / 60:.1f} min of audio")
        if dropped:
            reasons = "; ".join(f"{d.get('id')}: {d.get('reason')}" for d in dropped[:3])
            line += f". {len(dropped)} clip(s) left out ({reasons}{'; …' if len(dropped) > 3 else ''})"
        unknown = event.get("unknown_phonemes") or []
        if unknown:
            line += f". Unknown phonemes: {' '.join(unknown[:10])}"
        return line
    if kind == "started":
        line = (f"Training on {event.get('device')} ({event.get('devices')} device(s)), "
                f"{float(event.get('parameters') or 0) / 1e6:.1f} M parameters, "
                f"{event.get('steps_per_epoch')} steps per epoch")
        if event.get("resumed_from"):
            line += f"; resumed at step {step} from {_name(event.get('resumed_from'))}"
        base = event.get("base")
        if base:
            line += f"; base {_name(base.get('path'))}"
        return line + frozen_text(event)
    if kind == "step":
        losses = event.get("losses") or {}
        return (f"Epoch {epoch}, step {step}: loss_g {_num(losses.get('loss_g'))}, "
                f"mel {_num(losses.get('mel'))}, {_num(event.get('steps_per_s'))} steps/s")
    if kind == "validation":
        losses = event.get("losses") or {}
        return (f"Validation at step {step}: mel {_num(losses.get('mel'))}, "
                f"loss_g {_num(losses.get('loss_g'))}")
    if kind == "checkpoint":
        return f"Checkpoint at step {step} ({event.get('reason')}): {_name(event.get('path'))}"
    if kind == "preview":
        return preview_text(event)
    if kind == "exported":
        state = "verified" if event.get("verified") else "NOT verified"
        return f"Exported the voice {event.get('path')} ({state})"
    if kind == "stopped":
        return stopped_text(event)
    if kind == "finished":
        return f"Finished at step {step}; final checkpoint {_name(event.get('checkpoint'))}."
    if kind == "error":
        line = f"Error ({event.get('kind') or 'internal'}): {event.get('message')}"
        if event.get("hint"):
            line += f"\n    Hint: {event['hint']}"
        return line
    return None


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
        text = describe(event)
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
