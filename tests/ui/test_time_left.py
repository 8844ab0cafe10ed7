"""The Training tab's progress line and the status bar say the time left in words
("11 min left"), never as a clock ("ETA 11:12" was read as a time of day)."""

from __future__ import annotations

from voicelab.core.training.run import events as ev
from voicelab.ui.widgets.job_status import JobStatusWidget
from voicelab.ui.widgets.train_progress import TrainingProgress
from voicelab.ui.workers import ExternalJob, JobManager


def test_the_time_left_reads_as_a_duration_not_a_clock(qtbot):
    progress = TrainingProgress()
    qtbot.addWidget(progress)
    progress.add_event(ev.started(config={"max_steps": 1000}, device="cpu", devices=1, parameters=1,
                                  step=0, epoch=0, resumed_from=None, train_utterances=10,
                                  validation_utterances=1, steps_per_epoch=10))
    progress.add_event(ev.step(step=250, epoch=25, losses={}, lr=1e-4, steps_per_s=0.11, eta_s=672))
    assert progress.detail.text() == "epoch 25 · step 250 · 0.11 steps/s · 11 min left"
    progress.add_event(ev.step(step=990, epoch=99, losses={}, lr=1e-4, steps_per_s=0.2, eta_s=45))
    assert progress.detail.text().endswith(" · 45 s left")
    progress.add_event(ev.step(step=100, epoch=10, losses={}, lr=1e-4, steps_per_s=0.02, eta_s=3900))
    assert progress.detail.text().endswith(" · 1 h 5 min left") and "ETA" not in progress.detail.text()


def test_a_warm_up_shows_its_share_and_time_left_beside_the_bar(qtbot):
    progress = TrainingProgress()
    qtbot.addWidget(progress)
    progress.add_event(ev.warmup(stage="encoder", done=120, total=300, message="m", overall=0.4,
                                 eta_s=65))
    assert progress.bar.format() == "Warm-up · teaching the posterior encoder: step 120 of 300"
    assert progress.detail.text() == "40% of the warm-up done · 1 min left"
    progress.add_event(ev.warmup(stage="speaking", done=3, total=48, message="m", overall=0.05))
    assert progress.detail.text() == "5% of the warm-up done"  # no pace yet: no time left


def test_the_status_bar_says_the_time_left_of_the_job_it_shows(qtbot):
    jobs = JobManager()
    status = JobStatusWidget(jobs)
    qtbot.addWidget(status)
    job = jobs.track(ExternalJob("Training anna", on_cancel=lambda: None))
    job.update(250, 1000, "step 250", eta_s=672)
    assert status.shown_job() is job and status.eta.text() == "11 min left"
    job.update(990, 1000, "step 990", eta_s=45)
    assert status.eta.text() == "45 s left"
    job.update(995, 1000, "step 995")  # no pace known: nothing, rather than a guess
    assert status.eta.text() == ""
    job.end()
