"""Where a run is: a progress bar with epoch and step, speed and time left, and a stuck warning.

Everything comes from trainer events: the `started` event's settings give the total
(max_steps, or max_epochs × steps per epoch, whichever ends first), each `step` event the
position, speed and the trainer's own ETA. Replaying a run's log shows where it stopped.
Before training, the bar follows the clips' preparation, then a voice base's warm-up: its
stage and step N of M as text, the share of the *whole* warm-up and its time left beside
the bar, and that share as the bar's fill, so the bar never falls back to empty when one
stage ends and the next begins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from voicelab.core.progress import format_time_left
from voicelab.core.training.run.event_text import total_steps, warmup_fraction, warmup_status

STUCK_TEXT = ("⚠ No progress for a while: the trainer looks stuck. It may be saving or validating "
              "a large model; if this lasts, Stop it (it saves a checkpoint) and Resume.")


class TrainingProgress(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setObjectName("runTitle")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setTextVisible(True)
        self.detail = QLabel()
        self.detail.setObjectName("runDetail")
        self.stuck_label = QLabel(STUCK_TEXT)
        self.stuck_label.setObjectName("stuckWarning")
        self.stuck_label.setWordWrap(True)
        self.stuck_label.setStyleSheet("color: #b45309; font-weight: bold;")
        self.stuck_label.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.title)
        row.addStretch(1)
        row.addWidget(self.detail)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.bar)
        layout.addWidget(self.stuck_label)
        self.total: int | None = None
        self.step = 0
        self.epoch = 0
        self.steps_per_s: float | None = None
        self.eta_s: float | None = None
        self.reset("")

    def reset(self, title: str) -> None:
        """Start showing a run; an empty title shows the hint for when no run is shown."""
        self.total, self.step, self.epoch, self.steps_per_s, self.eta_s = None, 0, 0, None, None
        self.set_title(title)
        self.detail.setText("")
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("")
        self.set_stuck(False)

    def set_title(self, title: str) -> None:
        self.title.setText(title or "No run yet: choose the settings on the left and click Train.")

    def replay(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Show where a run's log ends (no time left: it is not training now).

        Only the last `started` and the last position matter; a long log is read backwards."""
        started = last = None
        for event in reversed(events):
            kind = event.get("type")
            if last is None and kind in ("step", "checkpoint", "stopped", "finished"):
                last = event
            if kind == "started":
                started = event
                break
        for event in (started, last):
            if event is not None:
                self.add_event(event)
        self.steps_per_s, self.eta_s = None, None
        self._show()

    def add_event(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "preparing":
            total = float(event.get("total") or 0)
            self._set_share(min(1.0, float(event.get("done") or 0) / total) if total else None)
            self.bar.setFormat("Preparing the clips…")
            self.detail.setText(str(event.get("message") or ""))
            return
        if kind == "warmup":
            share = warmup_fraction(event)
            self._set_share(share)
            self.bar.setFormat(warmup_status(event, time_left=False))
            eta = event.get("eta_s")
            done = [] if share is None else [f"{share:.0%} of the warm-up done"]
            self.detail.setText(" · ".join(done + ([format_time_left(eta)] if eta is not None else [])))
            return
        if kind == "started":
            self.total = total_steps(event.get("config") or {}, event.get("steps_per_epoch"))
            self.step, self.epoch = int(event.get("step") or 0), int(event.get("epoch") or 0)
        elif kind == "step":
            self.step, self.epoch = int(event.get("step") or 0), int(event.get("epoch") or 0)
            self.steps_per_s, self.eta_s = event.get("steps_per_s"), event.get("eta_s")
        elif kind in ("checkpoint", "stopped", "finished"):
            self.step = max(self.step, int(event.get("step") or 0))
            self.epoch = max(self.epoch, int(event.get("epoch") or 0))
            if kind != "checkpoint":
                self.steps_per_s, self.eta_s = None, None
                if kind == "finished" and self.total:
                    self.step = max(self.step, self.total)
        else:
            return
        self._show()

    def _set_share(self, share: float | None) -> None:
        """The bar as a share done (0–1), or busy when the share is not known."""
        self.bar.setRange(0, 0 if share is None else 1000)
        if share is not None:
            self.bar.setValue(int(round(1000 * share)))

    def _show(self) -> None:
        if self.total:
            self.bar.setRange(0, self.total)
            self.bar.setValue(min(self.step, self.total))
            self.bar.setFormat(f"step {self.step:,} of {self.total:,} (%p%)")
        else:
            self.bar.setRange(0, 0 if self.steps_per_s else 1)
            self.bar.setFormat(f"step {self.step:,}")
        parts = [f"epoch {self.epoch}", f"step {self.step:,}"]
        if self.steps_per_s:
            parts.append(f"{float(self.steps_per_s):.2f} steps/s")
        if self.eta_s is not None:
            parts.append(format_time_left(self.eta_s))
        self.detail.setText(" · ".join(parts))

    def set_stuck(self, stuck: bool) -> None:
        self.stuck_label.setVisible(stuck)
