"""Status-bar widget that shows background jobs: title, progress, ETA and Cancel.

It shows the newest job; when several run, a count says so and a menu lists them all, each
with its own Cancel. It hides itself when nothing runs.
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QProgressBar, QToolButton, QWidget

from voicelab.core.progress import format_time_left
from voicelab.ui.workers import Job, JobManager


class JobStatusWidget(QWidget):
    def __init__(self, jobs: JobManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._shown: Job | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(True)
        self.eta = QLabel()
        self.others = QToolButton()
        self.others.setPopupMode(QToolButton.InstantPopup)
        self.others.setToolTip("All running jobs")
        self.others_menu = QMenu(self.others)
        self.others_menu.aboutToShow.connect(self._fill_menu)
        self.others.setMenu(self.others_menu)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Cancel this job")
        self.cancel_button.clicked.connect(self._cancel_shown)
        for widget in (self.label, self.bar, self.eta, self.others, self.cancel_button):
            layout.addWidget(widget)
        jobs.jobAdded.connect(self._on_added)
        jobs.jobRemoved.connect(self._on_removed)
        self._refresh()

    @Slot(object)
    def _on_added(self, job: Job) -> None:
        job.progress.connect(lambda *_: self._refresh())
        self._shown = job
        self._refresh()

    @Slot(object)
    def _on_removed(self, job: Job) -> None:
        if job is self._shown:
            remaining = self._jobs.jobs()
            self._shown = remaining[-1] if remaining else None
        self._refresh()

    def _cancel_shown(self) -> None:
        if self._shown is not None:
            self._shown.cancel()
            self.cancel_button.setEnabled(False)
            self.label.setText(f"{self._shown.title}: cancelling…")

    def _refresh(self) -> None:
        job = self._shown
        self.setVisible(job is not None)
        if job is None:
            return
        text = job.title if not job.message else f"{job.title}: {job.message}"
        if not job.token.cancelled:
            self.label.setText(text)
        fraction = job.fraction()
        if fraction is None:
            self.bar.setRange(0, 0)  # busy indicator until the job reports a total
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(fraction * 1000))
            self.bar.setFormat(f"{fraction * 100:.0f}%")
        eta = job.eta_seconds()
        self.eta.setText(format_time_left(eta) if eta is not None else "")
        self.cancel_button.setVisible(job.cancellable)
        self.cancel_button.setEnabled(not job.token.cancelled)
        count = len(self._jobs.jobs())
        self.others.setVisible(count > 1)
        if count > 1:
            self.others.setText(f"+{count - 1}")

    def _fill_menu(self) -> None:
        """Built when opened, so the list is current and progress ticks cost nothing."""
        self.others_menu.clear()
        for job in self._jobs.jobs():
            action = self.others_menu.addAction(f"Cancel “{job.title}”")
            action.setEnabled(job.cancellable and not job.token.cancelled)
            action.triggered.connect(job.cancel)

    def shown_job(self) -> Job | None:
        return self._shown
