"""Training events as words: the warm-up's phase, step and time left; stops; preview scores."""

from __future__ import annotations

from voicelab.core.training.run import events as ev
from voicelab.core.training.run.event_text import (
    preview_text,
    scores_text,
    stopped_text,
    warmup_fraction,
    warmup_status,
)


def test_a_warm_up_says_its_phase_its_step_and_the_time_left():
    event = ev.warmup(stage="encoder", done=120, total=300, message="m", overall=0.55, eta_s=65)
    assert warmup_status(event) == "Warm-up · teaching the posterior encoder: step 120 of 300 · 1 min left"
    assert warmup_status(event, time_left=False) == ("Warm-up · teaching the posterior encoder: "
                                                     "step 120 of 300")
    assert warmup_fraction(event) == 0.55
    speaking = ev.warmup(stage="speaking", done=12, total=48, message="m", overall=0.1, eta_s=None)
    assert warmup_status(speaking) == ("Warm-up · the base voice speaks its warm-up sentences: "
                                       "sentence 12 of 48")  # no pace yet: no time left
    assert warmup_status(ev.warmup(stage="discriminator", done=5, total=40, message="m", overall=0.9,
                                   eta_s=3725)).endswith("step 5 of 40 · 1 h 2 min left")


def test_a_warm_up_from_the_cache_done_or_from_an_older_log():
    assert warmup_status(ev.warmup(stage="cached", done=1, total=1, message="m", overall=1.0)) == \
        "Warm-up taken from the cache"
    done = ev.warmup(stage="done", done=1, total=1, message="Warm-up finished", overall=1.0, eta_s=0,
                     report={"cached": False, "clips": 48, "seconds": 31.5})
    assert warmup_status(done) == "Warm-up done (48 clips, 31.5 s)"
    old = {"type": "warmup", "stage": "encoder", "done": 100, "total": 400, "message": "m"}
    assert warmup_fraction(old) == 0.25  # no overall in the log: the stage's share stands in
    assert warmup_status({"type": "warmup", "stage": "new-stage", "message": "tuning"}) == "Warm-up · tuning"


def test_a_stop_in_the_warm_up_says_its_work_is_kept():
    stopped = ev.stopped(step=0, epoch=0, checkpoint=None, reason="user", during="warmup")
    assert stopped_text(stopped) == ("Stopped by you during the warm-up; its work is kept and "
                                     "Resume continues it.")
    later = ev.stopped(step=40, epoch=2, checkpoint="/r/checkpoints/step-40.ckpt", reason="signal")
    assert stopped_text(later) == ("Stopped by a signal at step 40; checkpoint step-40.ckpt. "
                                   "Resume continues from there.")


def test_preview_scores_read_plainly_and_unknown_ones_are_left_out():
    event = ev.preview(step=8, epoch=1, likeness=0.423, previews=[
        {"path": "a.wav", "text": "a", "heard": "a", "wer": 0.25, "naturalness": 3.36},
        {"path": "b.wav", "text": "b", "heard": "b", "wer": 0.0, "naturalness": 3.5}])
    assert scores_text(event) == "WER 12%, likeness 0.42, naturalness 3.4 / 5"
    assert preview_text(event) == "Previews at step 8: 2 clip(s), WER 12%, likeness 0.42, naturalness 3.4 / 5"
    start = ev.preview(step=0, epoch=0, likeness=0.0, previews=[{"path": "a.wav", "text": "a"}])
    assert preview_text(start) == ("Previews at step 0 (the voice before training): 1 clip(s), "
                                   "no WER (no Whisper model), likeness 0.00")
