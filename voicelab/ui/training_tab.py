"""The Training tab: set up a run, watch it learn, stop and resume it, export the voice.

Thin by design. The core does the work: `runs.create_run` writes a run folder, the trainer
runs as a child process followed by `TrainingController` (on its own QThread), and
`export_voice` makes the voice. This module lays out the form, the run list, the chart, the
log, the previews and the ranking, and routes trainer events to them; the run training now
(`training_live.py`) and the export (`training_export.py`) are mixins of their own.
Anything that reads or writes files runs off the UI thread: user-visible work (creating a
run, checking a base, downloads, export) as jobs in the status bar, quick reads (the run
list, a run's log, an export's check) as quiet jobs only this tab tracks.

A run's view is rebuilt from its `events.jsonl` whenever it is selected, so reopening the
app shows its history. For the run training here, live events that arrive while that file
is being read are held back and then applied, skipping the ones the file already had.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from voicelab.core.dataset.store import list_datasets
from voicelab.core.progress import format_duration
from voicelab.core.workspace import Workspace
from voicelab.ui import training_jobs as tj
from voicelab.ui.audio_out import AudioOutput
from voicelab.ui.base_chooser import BaseChooser
from voicelab.ui.guide import GuidePage
from voicelab.ui.training_controller import TrainingController
from voicelab.ui.training_export import VoiceExport
from voicelab.ui.training_live import LiveTraining, event_key
from voicelab.ui.widgets.checkpoint_panel import CheckpointPanel
from voicelab.ui.widgets.item_menu import RunMenu
from voicelab.ui.widgets.loss_chart import LossChart
from voicelab.ui.widgets.preview_list import PreviewList
from voicelab.ui.widgets.run_list import RunListPanel
from voicelab.ui.widgets.splitter import splitter
from voicelab.ui.widgets.train_form import TrainForm
from voicelab.ui.widgets.train_log import TrainingLog
from voicelab.ui.widgets.train_progress import TrainingProgress
from voicelab.ui.workers import ExternalJob, Job, JobManager, stop_jobs
from voicelab.ui.workspace_tab import WorkspaceTab

log = logging.getLogger(__name__)


class TrainingTab(LiveTraining, VoiceExport, WorkspaceTab):
    goToDataset = Signal()
    voiceExported = Signal(object)  # Path of the new .onnx
    runsChanged = Signal()  # a run was made, deleted or saved a checkpoint (Generate lists them)

    #: The watchdog: "looks stuck" after this long without progress, checked this often.
    stuck_after_s = 300.0
    stuck_poll_s = 5.0

    def __init__(self, workspace: Workspace, jobs: JobManager, audio_output: AudioOutput | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(workspace, jobs, audio_output, parent)
        self.trainer_env: dict[str, str] | None = None  # the trainer's environment (default: ours)
        self.trainer_command: list[str] | None = None  # default: `python -m voicelab --run-trainer`
        self.controller: TrainingController | None = None
        self.status_job: ExternalJob | None = None  # the live run in the status bar
        self._live_total: int | None = None
        self.live_run: Path | None = None
        self._live_since = 0.0
        self.shown_run: Path | None = None
        self.shown_events: list[dict[str, Any]] = []
        self._pending_live: list[dict[str, Any]] | None = None
        self._loaded_keys: set = set()
        self._serial = 0
        self._quiet: set = set()
        self._select_run: str | None = None
        self._creating: Job | None = None
        self._closed = False
        self._ranking_timer = QTimer(self, singleShot=True, interval=1000)
        self._ranking_timer.timeout.connect(self._reload_ranking)
        self._build()
        self.reload_datasets()
        self._first_show = True  # the run list and the base voices are read when first shown

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.form = TrainForm()
        self.form.trainRequested.connect(self.train)
        self.form.datasetsRefreshRequested.connect(self.reload_datasets)
        self.form.suggestBatchRequested.connect(self.suggest_batch)
        self.bases = BaseChooser(self.workspace, self.jobs, self.form, self._quietly, self)
        form_box = QWidget()  # the form scrolls its own fields, with Train under them
        form_layout = QVBoxLayout(form_box)
        form_layout.addWidget(QLabel("<b>New run</b>"))
        form_layout.addWidget(self.form, 1)

        self.runs_panel = RunListPanel()
        self.run_model, self.run_table = self.runs_panel.model, self.runs_panel.table
        self.stop_button, self.resume_button = self.runs_panel.stop_button, self.runs_panel.resume_button
        self.run_table.selectionModel().currentRowChanged.connect(lambda *_: self._run_selected())
        self.runs_panel.refresh_button.clicked.connect(lambda: self.refresh_runs())
        self.run_menu = RunMenu(self.workspace, lambda: (self.selected_run().path.name
                                                         if self.selected_run() else None), self)
        self.run_menu.setObjectName("runMenuButton")
        self.run_menu.busy = lambda name: self.job_holding("run", name)
        self.run_menu.changed.connect(self._run_deleted)
        self.runs_panel.head.addWidget(self.run_menu)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self.resume)
        left = splitter(Qt.Vertical, (form_box, 3), (self.runs_panel, 2))

        self.progress = TrainingProgress()
        self.chart = LossChart()
        self.log_view = TrainingLog()
        self.previews = PreviewList(self.output)
        self.checkpoints = CheckpointPanel()
        self.checkpoints.exportRequested.connect(self.export_voice)
        self.details = QTabWidget()
        self.details.addTab(self.log_view, "Log")
        self.details.addTab(self.previews, "Previews")
        self.details.addTab(self.checkpoints, "Checkpoints && export")
        right_split = splitter(Qt.Vertical, (self.chart, 3), (self.details, 2), sizes=[460, 260])
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(right_split, 1)

        main = splitter(Qt.Horizontal, (left, 0), (right, 1), sizes=[420, 780])
        self.guide = GuidePage(
            "Train a voice",
            "Fine-tune a Piper voice on your dataset, starting from a base voice close to yours.",
            ["Make a dataset in the Dataset tab: recordings of one voice, transcribed and reviewed.",
             "Pick a base voice: download one, or use a checkpoint you already have.",
             "Click Train and watch the loss and the preview score improve.",
             "Export the voice when the previews sound right."],
            [("Go to the Dataset tab", self.goToDataset.emit), ("Base voices and models…", self.bases.open_models)])
        self.pages = QStackedWidget()
        self.pages.addWidget(self.guide)
        self.pages.addWidget(main)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        self._update_buttons()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._first_show:  # not at start-up: the window appears sooner
            self._first_show = False
            self.refresh_runs()
            self.bases.reload()
        else:
            self.reload_datasets()  # a dataset made in the Dataset tab shows up here

    # -- background reads --------------------------------------------------------------------
    def _quietly(self, func, *args, then, otherwise=None) -> Job:
        """Run a quick read off the UI thread without a status-bar entry."""
        job = Job(f"training tab: {func.__name__}", func, *args)
        self._quiet.add(job)
        job.finished.connect(then)
        job.failed.connect(lambda message, details: log.warning("%s failed: %s\n%s", func.__name__,
                                                                message, details))
        if otherwise is not None:
            job.failed.connect(lambda message, _details: otherwise(message))
        job.ended.connect(lambda: self._quiet.discard(job))
        return job.start()

    # -- datasets, bases ---------------------------------------------------------------------
    def reload_datasets(self) -> None:
        datasets = list_datasets(self.workspace)
        self.form.set_datasets([(d.name, d.path, f"{d.clips} clips, {format_duration(d.usable_seconds)}"
                                 if d.clips else "") for d in datasets],
                               select=self.workspace.settings.last_dataset or None)
        self._update_page(bool(datasets))

    def _update_page(self, has_datasets: bool | None = None) -> None:
        if has_datasets is None:
            has_datasets = self.form.dataset_combo.count() > 0
        self.pages.setCurrentIndex(1 if has_datasets or self.run_model.rowCount() else 0)

    def suggest_batch(self) -> Job:
        """Ask the GPU (in a child process) for the largest batch; put it in the form."""
        settings = self.form.settings()
        self.form.suggest_button.setEnabled(False)
        self.form.set_batch_status("Finding the largest batch size that fits the GPU…")
        job = self.jobs.run("Finding the largest batch size", tj.suggest_batch, settings)
        job.finished.connect(self._batch_suggested)
        job.failed.connect(lambda message, _details: self.form.set_batch_status(message, ok=False))
        job.cancelled.connect(lambda: self.form.set_batch_status(""))
        job.ended.connect(lambda: self.form.suggest_button.setEnabled(True))
        return job

    def _batch_suggested(self, answer: dict[str, Any]) -> None:
        size = answer.get("batch_size")
        if size:
            self.form.batch_spin.setValue(int(size))
        self.form.set_batch_status(str(answer.get("message") or ""), ok=True if size else None)

    # -- runs ---------------------------------------------------------------------------------
    def refresh_runs(self, select: str | None = None) -> None:
        if select:
            self._select_run = select
        self._quietly(tj.list_runs, self.workspace.runs, then=self._runs_listed)

    def _run_deleted(self, name: str, _new: str) -> None:
        if self.shown_run is not None and self.shown_run.name == name:
            self.shown_run = None
            self.chart.clear()
            self.previews.clear()
            self.log_view.reset()
            self.checkpoints.set_ranking([])
            self.progress.reset("")
        self.refresh_runs()
        self.runsChanged.emit()

    def _runs_listed(self, infos: list) -> None:
        chosen = self._select_run or (self.shown_run.name if self.shown_run else
                                      self.workspace.settings.last_run)  # where the user was
        self._select_run = None
        self.run_model.set_items(infos)
        if self.live_run is not None and self.controller is not None:
            self.run_model.update_live(self.live_run.name, status="running")
        row = self.run_model.row_of(chosen) if chosen else -1
        if row < 0 and infos and self.shown_run is None:
            row = 0
        if row >= 0:
            self.run_table.selectionModel().setCurrentIndex(
                self.run_model.index(row, 0), QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
        self.progress.set_title(self._title())
        self._update_page()
        self._update_buttons()

    def selected_run(self) -> Any | None:
        return self.runs_panel.selected()

    def _run_selected(self) -> None:
        info = self.selected_run()
        if info is not None and info.path != self.shown_run:
            self.show_run(info.path)
            if self.workspace.settings.last_run != info.path.name:
                self.workspace.settings.last_run = info.path.name
                self.workspace.save_settings()
        self._update_buttons()

    def show_run(self, run_dir: Path) -> None:
        """Show a run: its chart, log, previews and ranking, rebuilt from its events.jsonl."""
        self._serial += 1
        serial = self._serial
        self.shown_run = Path(run_dir)
        self.previews.clear()
        self.chart.clear()
        self.log_view.reset()
        self.shown_events = []
        self._loaded_keys = set()
        self._pending_live = []  # live events wait until the file has been read
        self.progress.reset(self._title())
        self.checkpoints.set_ranking([], voice_name=self.shown_run.name)
        self.checkpoints.set_status("")
        self._quietly(tj.read_run, self.shown_run, then=lambda result: self._history_read(serial, result),
                      otherwise=lambda message: (self._history_read(serial, tj.EMPTY_RUN),
                                                 self.log_view.appendPlainText(message)))

    def _title(self) -> str:
        if self.shown_run is None:
            return ""
        row = self.run_model.row_of(self.shown_run.name)
        info = self.run_model.info_at(row)
        status = "running" if self._is_live_shown() else (info.status if info else "")
        return f"<b>{self.shown_run.name}</b>" + (f" — {status}" if status else "")

    def _history_read(self, serial: int, result: dict[str, Any]) -> None:
        if serial != self._serial:
            return  # another run was selected meanwhile
        events = result["events"]
        self.shown_events = list(events)
        if self.shown_run == self.live_run:  # its live events may be in the file too
            for event in reversed(events):
                if float(event.get("time") or 0) < self._live_since - 5:
                    break
                self._loaded_keys.add(event_key(event))
        if result["chart"] is not None:
            self.chart.load_columns(result["chart"])
        else:
            self.chart.clear()
        self.log_view.set_history(result["lines"], events)
        self.previews.load(result["previews"])
        self.progress.replay(events)
        self.checkpoints.set_ranking(result["ranking"])
        pending, self._pending_live = self._pending_live or [], None
        for event in pending:
            self._apply(event)

    def _is_live_shown(self) -> bool:
        return self.controller is not None and self.shown_run is not None and self.shown_run == self.live_run

    def _reload_ranking(self) -> None:
        """Read the shown run's checkpoint ranking again (off the UI thread)."""
        run = self.shown_run
        if run is not None:
            self._quietly(tj.run_ranking, run, then=lambda items: run == self.shown_run
                          and self.checkpoints.set_ranking(items))

    # -- state --------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        info = self.selected_run()
        training = self.is_training()
        live_selected = training and info is not None and info.path == self.live_run
        self.stop_button.setEnabled(live_selected and not self.controller.stop_requested
                                    or (info is not None and info.status == "running" and not live_selected))
        if not (training and self.controller.stop_requested):
            self.stop_button.setText("■ Stop")
        self.resume_button.setEnabled(not training and self._creating is None and info is not None
                                      and info.status in ("stopped", "interrupted"))
        if training:
            self.form.set_busy(True, "Training…")
        elif self._creating is not None:
            self.form.set_busy(True, "Creating the run…")
        else:
            self.form.set_busy(False)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Window close: stop the trainer cleanly (it saves a checkpoint), end quiet reads."""
        self._closed = True
        self._ranking_timer.stop()
        self.previews.stop()
        if self.controller is not None:
            self.controller.shutdown(timeout_s)
            self.controller = None
        stop_jobs(self._quiet, int(timeout_s * 1000))  # a base check: tens of seconds when busy
