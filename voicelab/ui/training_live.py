"""The Training tab's live run: start the trainer, follow its events, stop it, resume it.

A mixin of `TrainingTab`, kept apart so the tab module holds the layout, the run list and
reading runs from disk, and this one the one run training now: the `TrainingController`
(the child process on its own QThread), its line in the status bar (an `ExternalJob`, whose
Cancel is Stop), and routing each live event to the chart, progress, log and previews.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer

from voicelab.core.training.run import events as ev
from voicelab.core.training.run.event_text import total_steps, warmup_fraction, warmup_status
from voicelab.ui import training_jobs as tj
from voicelab.ui.training_controller import TrainingController
from voicelab.ui.workers import ExternalJob, Job

_FINAL_STATUS = {"finished": "finished", "stopped": "stopped", "error": "failed"}


def event_key(event: dict[str, Any]) -> tuple:
    """What tells one event from another, to skip live events the file already had."""
    return event.get("type"), event.get("time"), event.get("step")


class LiveTraining:
    """Training-now part of the Training tab (see the module docstring)."""

    # -- training -----------------------------------------------------------------------------
    def train(self) -> Job | None:
        """Create a run from the form and start training it."""
        config = self.form.check()
        if config is None or self.is_training() or self._creating is not None:
            return None
        self.form.set_busy(True, "Creating the run…")
        job = self.jobs.run("Creating a training run", tj.create_run, self.workspace.runs, config,
                            self.form.run_name())
        self._creating = job
        job.finished.connect(self._start)
        job.failed.connect(lambda message, _details: self.form.show_problem(message))
        job.ended.connect(lambda: (setattr(self, "_creating", None), self._update_buttons()))
        return job

    def resume(self) -> None:
        info = self.selected_run()
        if info is not None and info.status in ("stopped", "interrupted") and not self.is_training():
            self._start(info.path)

    def _start(self, run_dir: Path) -> None:
        if self._closed or self.is_training():  # one trainer at a time; none after the window closed
            return
        run_dir = Path(run_dir)
        self.live_run = run_dir
        self._live_since = time.time()
        self.controller = TrainingController(run_dir, env=self.trainer_env, command=self.trainer_command,
                                             stuck_after_s=self.stuck_after_s, stuck_poll_s=self.stuck_poll_s)
        self.controller.event.connect(self._on_live_event)
        self.controller.stuck.connect(self._on_stuck)
        self.controller.ended.connect(self._on_ended)
        self._live_total = None
        self.status_job = self.jobs.track(ExternalJob(f"Training {run_dir.name}", self._stop_live,
                                                      holds=[("run", run_dir.name)]))
        self.status_job.update(0, 0, "Starting the trainer…")
        self.show_run(run_dir)
        self.controller.start()
        if self.run_model.row_of(run_dir.name) >= 0:  # a resume: the row follows the events
            self.run_model.update_live(run_dir.name, status="running", message="")
        else:
            self.refresh_runs(select=run_dir.name)
            self.runsChanged.emit()
        self.details.setCurrentWidget(self.log_view)
        self._update_buttons()

    def _stop_live(self) -> None:
        """Cancel from the status bar (or the close prompt): checkpoint, then stop."""
        if self.controller is not None:
            self.controller.stop()
            self._update_buttons()

    def _status_event(self, event: dict[str, Any]) -> None:
        """The live run's line in the status bar: preparing, then steps of the total."""
        job, kind = self.status_job, event.get("type")
        if job is None:
            return
        if kind == "preparing":  # the clips
            job.update(float(event.get("done") or 0), float(event.get("total") or 0),
                       str(event.get("message") or "Preparing the clips"))
        elif kind == "warmup":  # a voice base's untrained parts: the whole warm-up's share and time
            share = warmup_fraction(event)
            job.update(0 if share is None else round(1000 * share), 0 if share is None else 1000,
                       warmup_status(event, time_left=False), event.get("eta_s"))
        elif kind == "started":
            self._live_total = total_steps(event.get("config") or {}, event.get("steps_per_epoch"))
            job.update(int(event.get("step") or 0), self._live_total or 0, "Training")
        elif kind == "step":
            step = int(event.get("step") or 0)
            job.update(step, self._live_total or 0, f"step {step}", event.get("eta_s"))
        elif kind == "stopping":
            job.update(job.done_units, job.total_units, "Saving a checkpoint…")

    def stop(self) -> None:
        info = self.selected_run()
        if self.controller is not None and (info is None or info.path == self.live_run):
            self.controller.stop()
            if self.status_job is not None:
                self.status_job.token.cancel()  # its Cancel greys out: the stop is under way
                self.status_job.update(self.status_job.done_units, self.status_job.total_units,
                                       "Saving a checkpoint and stopping…")
            self.stop_button.setText("Stopping…")
            self.stop_button.setEnabled(False)
        elif info is not None and info.status == "running":  # trained by another process (the CLI)
            from voicelab.core.training.run.runs import request_stop

            request_stop(info.path)
            QTimer.singleShot(3000, self, lambda: self.refresh_runs())

    def _on_live_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "heartbeat" or self.live_run is None:
            return
        name = self.live_run.name
        self._status_event(event)
        if kind == "checkpoint":
            self.runsChanged.emit()  # its newest checkpoint can be heard in the Generate tab
        if kind in ("started", "step"):
            self.run_model.update_live(name, status="running", step=int(event.get("step") or 0),
                                       epoch=int(event.get("epoch") or 0))
        elif kind in _FINAL_STATUS:
            self.run_model.update_live(name, status=_FINAL_STATUS[kind], step=int(event.get("step") or 0),
                                       message=str(event.get("message") or "") if kind == "error" else "")
        if self.shown_run == self.live_run:
            if self._pending_live is not None:
                self._pending_live.append(event)
            else:
                self._apply(event)

    def _apply(self, event: dict[str, Any]) -> None:
        """One live event of the shown run into the chart, progress, log, previews, ranking."""
        if event_key(event) in self._loaded_keys:
            return
        self.shown_events.append(event)
        kind = event.get("type")
        if kind == "started" and self.chart.steps and self.chart.steps[-1] > int(event.get("step") or 0):
            self.chart.load(ev.training_history(self.shown_events))  # resumed from an earlier step
        else:
            self.chart.add_event(event)
        self.progress.add_event(event)
        self.log_view.add_event(event)
        self.previews.add_event(event)
        if (kind == "checkpoint" or kind in ev.TERMINAL_TYPES) and not self._ranking_timer.isActive():
            self._ranking_timer.start()  # the trainer ranks right after each save: read it soon
        if kind in ev.TERMINAL_TYPES:
            self.progress.set_title(self._title())

    def _on_stuck(self, stuck: bool) -> None:
        if self._is_live_shown():
            self.progress.set_stuck(stuck)

    def _on_ended(self, code: int) -> None:
        controller, self.controller = self.controller, None
        if self.status_job is not None:
            self.status_job.end()
            self.status_job = None
        final = controller.final_event if controller is not None else None
        self.progress.set_stuck(False)
        if final is None and self.shown_run == self.live_run:
            self.log_view.appendPlainText(f"The trainer exited (code {code}) without a final event; "
                                          f"see {self.live_run / 'logs' / 'stderr.log'}.")
        if final is not None and final.get("type") == "finished" and self.shown_run == self.live_run:
            self.details.setCurrentWidget(self.checkpoints)
        if final is None:  # killed or crashed: the disk says what state it left
            self.refresh_runs()
        self.progress.set_title(self._title())
        self._update_buttons()

    def is_training(self) -> bool:
        return self.controller is not None and self.controller.is_running()

    def training_title(self) -> str:
        return f"Training {self.live_run.name}" if self.is_training() and self.live_run else ""

