"""Checkpoint ranking: keep the last and the best few, delete the rest, say which is best.

The run folders are synthetic: checkpoint files with known contents and an events.jsonl
written with the trainer's own event builders, so the ranking reads exactly what a run
writes.
"""

from __future__ import annotations

import json

import pytest

from voicelab.core.training.run import events
from voicelab.core.training.run.ranking import (
    RANKING_FILE,
    best_checkpoint,
    current_ranking,
    preview_for,
    read_ranking,
    update_ranking,
)


class Run:
    """A run folder that grows like a real one: checkpoints, validations, previews."""

    def __init__(self, root):
        self.root = root
        self.checkpoints = root / "checkpoints"
        self.checkpoints.mkdir(parents=True)
        self.writer = events.EventWriter(root / "events.jsonl")

    def checkpoint(self, step, epoch=None, reason="epoch"):
        path = self.checkpoints / f"epoch={epoch if epoch is not None else step}-step={step}.ckpt"
        path.write_bytes(b"weights of step %d" % step)
        self.writer.emit(events.checkpoint(step=step, epoch=epoch or 0, path=path, reason=reason))
        return path

    def validation(self, step, mel, epoch=0):
        self.writer.emit(events.validation(step=step, epoch=epoch, losses={"loss_g": 30.0, "mel": mel}))

    def preview(self, step, wer, epoch=0, likeness=None):
        self.writer.emit(events.preview(step=step, epoch=epoch, likeness=likeness, previews=[
            {"path": "previews/x/00.wav", "text": "a", "heard": "a", "wer": wer, "likeness": likeness}]))

    def close(self):
        self.writer.close()

    def names(self):
        return sorted(p.name for p in self.checkpoints.glob("*.ckpt"))


@pytest.fixture
def run(tmp_path):
    run = Run(tmp_path / "run")
    yield run
    run.close()


def test_keeps_the_last_and_the_best_by_mel_and_wer_and_deletes_the_rest(run):
    mels = {100: 0.90, 200: 0.70, 300: 0.50, 400: 0.65, 500: 0.80, 600: 0.85, 700: 0.95}
    wers = {100: 0.60, 200: 0.40, 300: 0.30, 400: 0.00, 500: 0.20, 600: 0.50, 700: 0.50}
    paths = {}
    for step in sorted(mels):
        run.validation(step, mels[step])
        run.preview(step, wers[step])
        paths[step] = run.checkpoint(step, epoch=step // 100)

    ranked = update_ranking(run.root, keep_best=2)

    # best by WER: 400 (0.0) then 500 (0.2); by mel: 300 then 400; last: 700
    assert [r.step for r in ranked] == [400, 500, 300, 700]
    assert ranked[0].is_best and ranked[0].reasons == ("best", "mel", "wer")
    assert {r.step: r.reasons for r in ranked}[700] == ("last",)
    assert run.names() == sorted(paths[s].name for s in (300, 400, 500, 700))
    assert (ranked[0].mel, ranked[0].wer, ranked[0].epoch) == (0.65, 0.0, 4)

    document = json.loads((run.checkpoints / RANKING_FILE).read_text(encoding="utf-8"))
    assert document["best"] == "checkpoints/epoch=4-step=400.ckpt"
    assert document["last"] == "checkpoints/epoch=7-step=700.ckpt"
    assert [c["step"] for c in document["checkpoints"]] == [400, 500, 300, 700]
    assert sorted(document["deleted"]) == sorted(paths[s].name for s in (100, 200, 600))
    assert best_checkpoint(run.root) == paths[400]
    assert [r.path for r in read_ranking(run.root)] == [paths[s] for s in (400, 500, 300, 700)]


def test_wer_within_tolerance_counts_as_equal_and_mel_decides(run):
    run.validation(10, 0.50)
    run.preview(10, 0.00)
    run.checkpoint(10)
    run.validation(20, 0.30)
    run.preview(20, 0.04)  # Whisper noise on a few sentences, not a worse voice
    best = run.checkpoint(20)
    run.validation(30, 0.20)
    run.preview(30, 0.50)  # clearly less intelligible, whatever the loss says
    run.checkpoint(30)

    assert update_ranking(run.root)[0].path == best


def test_without_previews_mel_decides(run):
    for step, mel in ((1, 0.9), (2, 0.4), (3, 0.6)):
        run.validation(step, mel)
        run.checkpoint(step)
    ranked = update_ranking(run.root, keep_best=1)
    assert [r.step for r in ranked] == [2, 3]
    assert run.names() == ["epoch=2-step=2.ckpt", "epoch=3-step=3.ckpt"]


def test_without_any_scores_the_newest_are_kept_and_none_is_best(run):
    for step in (5, 10, 15, 20):
        run.checkpoint(step)
    ranked = update_ranking(run.root, keep_best=2)
    assert [r.step for r in ranked] == [20, 15]
    assert ranked[0].reasons == ("last", "recent") and not any(r.is_best for r in ranked)
    assert run.names() == ["epoch=15-step=15.ckpt", "epoch=20-step=20.ckpt"]
    document = json.loads((run.checkpoints / RANKING_FILE).read_text(encoding="utf-8"))
    assert document["best"] is None and document["last"] == "checkpoints/epoch=20-step=20.ckpt"
    assert best_checkpoint(run.root) is None


def test_right_after_stop_best_stays_on_a_scored_checkpoint(run):
    """A Stop saves a checkpoint mid-epoch: no validation or preview round has scored it."""
    run.validation(10, 0.8)
    run.preview(10, 0.2, likeness=0.3)
    scored = run.checkpoint(10)
    stopped = run.checkpoint(14, reason="stop")
    ranked = update_ranking(run.root)
    assert [(r.path, r.is_best, r.scored) for r in ranked] == [(scored, True, True), (stopped, False, False)]
    assert ranked[1].reasons == ("last",)
    assert best_checkpoint(run.root) == scored


def test_a_view_before_the_ranking_file_gets_the_scores_from_the_log(run):
    run.validation(10, 0.8)
    run.preview(10, 0.2)
    scored = run.checkpoint(10)
    stopped = run.checkpoint(14, reason="stop")
    assert [(r.path, r.mel, r.wer, r.is_best) for r in current_ranking(run.root)] == [
        (scored, 0.8, 0.2, True), (stopped, None, None, False)]
    assert not (run.checkpoints / RANKING_FILE).exists() and stopped.exists()  # only read


def test_a_ranking_file_that_calls_an_unscored_checkpoint_best_is_not_believed(run):
    path = run.checkpoint(4, reason="stop")
    (run.checkpoints / RANKING_FILE).write_text(json.dumps({"v": 1, "best": "checkpoints/" + path.name,
        "checkpoints": [{"path": "checkpoints/" + path.name, "step": 4, "rank": 1,
                         "reasons": ["best", "last", "recent"]}]}), encoding="utf-8")
    assert [(r.path, r.is_best) for r in read_ranking(run.root)] == [(path, False)]
    assert best_checkpoint(run.root) is None


def test_a_scored_checkpoint_is_best_over_a_newer_unscored_one_whatever_it_was_scored_by(run):
    run.preview(10, None, likeness=0.4)  # likeness without a WER (no Whisper model)
    scored = run.checkpoint(10)
    run.checkpoint(20, reason="stop")
    ranked = update_ranking(run.root)
    assert ranked[0].path == scored and ranked[0].is_best and ranked[0].rank == 1


def test_a_checkpoint_between_validations_gets_no_borrowed_score(run):
    run.validation(100, 0.5)
    run.checkpoint(100)
    run.checkpoint(150, reason="interval")  # no validation since step 100
    run.validation(200, 0.4)
    run.checkpoint(200)
    scores = {r.step: r.mel for r in update_ranking(run.root)}
    assert scores == {100: 0.5, 200: 0.4}  # 150 cannot be ranked, and is not the last
    assert run.names() == ["epoch=100-step=100.ckpt", "epoch=200-step=200.ckpt"]


def test_validation_logged_after_its_checkpoint_still_counts(run):
    run.checkpoint(100)
    run.validation(100, 0.5)
    assert update_ranking(run.root)[0].mel == 0.5


def test_files_outside_the_run_and_missing_files_are_never_touched(run, tmp_path):
    outsider = tmp_path / "elsewhere" / "mine.ckpt"
    outsider.parent.mkdir()
    outsider.write_bytes(b"a base the user keeps")
    run.writer.emit(events.checkpoint(step=1, epoch=0, path=outsider, reason="epoch"))
    gone = run.checkpoint(2)
    gone.unlink()
    run.validation(3, 0.1)
    run.checkpoint(3)
    unrelated = run.checkpoints / "not-in-the-log.ckpt"
    unrelated.write_bytes(b"?")

    ranked = update_ranking(run.root, keep_best=1)

    assert outsider.exists() and unrelated.exists()
    assert [r.step for r in ranked] == [3]


def test_update_is_idempotent_and_keeps_up_as_the_run_grows(run):
    run.validation(1, 0.5)
    first = run.checkpoint(1)
    update_ranking(run.root, keep_best=1)
    update_ranking(run.root, keep_best=1)
    assert first.exists()
    run.validation(2, 0.9)
    second = run.checkpoint(2)
    run.validation(3, 0.4)
    third = run.checkpoint(3)
    ranked = update_ranking(run.root, keep_best=1)
    assert [r.path for r in ranked] == [third]
    assert not first.exists() and not second.exists()


def test_best_checkpoint_without_ranking_file_or_checkpoints(run):
    assert best_checkpoint(run.root) is None
    run.validation(7, 0.3)
    path = run.checkpoint(7)
    assert not (run.checkpoints / RANKING_FILE).exists()
    assert best_checkpoint(run.root) == path
    assert read_ranking(run.root) == [] and not (run.checkpoints / RANKING_FILE).exists()


def test_run_folder_moved_elsewhere_still_resolves(run, tmp_path):
    run.validation(4, 0.3)
    run.checkpoint(4)
    run.close()
    moved = tmp_path / "moved"
    run.root.rename(moved)
    assert best_checkpoint(moved) == moved / "checkpoints" / "epoch=4-step=4.ckpt"


def test_wer_is_a_gate_and_likeness_picks_among_the_intelligible(run):
    scores = {10: (0.10, 0.30, 0.2), 20: (0.14, 0.60, 0.5), 30: (0.30, 0.90, 0.1), 40: (0.12, None, 0.1)}
    for step, (wer, likeness, mel) in scores.items():
        run.validation(step, mel)
        run.preview(step, wer, likeness=likeness)
        run.checkpoint(step)

    ranked = update_ranking(run.root, keep_best=3)

    # 30 sounds most like the speaker but is clearly harder to understand than 10 (0.30 >
    # 0.10 + tolerance); of those that pass, 20 is the most alike; 40 passes without a
    # likeness, so it follows those with one, and 30, which fails the gate, comes last.
    assert [r.step for r in ranked] == [20, 10, 40, 30]
    assert (ranked[0].wer, ranked[0].likeness) == (0.14, 0.60)
    document = json.loads((run.checkpoints / RANKING_FILE).read_text(encoding="utf-8"))
    assert [c["likeness"] for c in document["checkpoints"]] == [0.60, 0.30, None, 0.90]
    assert [(r.step, r.likeness) for r in read_ranking(run.root)] == [
        (20, 0.6), (10, 0.3), (40, None), (30, 0.9)]


def test_a_voice_over_half_wrong_words_never_passes_the_gate(run):
    run.preview(10, 0.48, likeness=0.1)
    run.checkpoint(10)
    run.preview(20, 0.52, likeness=0.9)  # within the tolerance of 0.48, but not intelligible
    run.checkpoint(20)
    assert [r.step for r in update_ranking(run.root)] == [10, 20]


def test_an_old_ranking_file_without_likeness_still_reads(run):
    path = run.checkpoint(5)
    (run.checkpoints / RANKING_FILE).write_text(json.dumps({"v": 1, "checkpoints": [
        {"path": "checkpoints/" + path.name, "step": 5, "epoch": 0, "mel": 0.4, "wer": 0.1, "rank": 1,
         "reasons": ["best", "last"]}]}), encoding="utf-8")
    [item] = read_ranking(run.root)
    assert (item.path, item.wer, item.likeness, item.is_best) == (path, 0.1, None, True)


def test_the_step_0_previews_score_no_trained_checkpoint(run):
    run.preview(0, 0.02, likeness=0.0)  # the voice the run started from
    first = run.checkpoint(8)
    run.preview(16, 0.4, likeness=0.5)
    second = run.checkpoint(16)
    ranked = {r.step: (r.wer, r.likeness) for r in update_ranking(run.root, delete=False)}
    assert ranked == {16: (0.4, 0.5)}  # 8 has no score of its own: not kept, not best
    assert preview_for(run.root, first) is None
    assert preview_for(run.root, second)["wer"] == 0.4


def test_preview_for_a_checkpoint_the_log_does_not_name_takes_the_latest_round_before_it(run):
    run.preview(10, 0.3)
    run.preview(20, 0.2)
    run.preview(30, 0.1)
    loose = run.checkpoints / "step-25.ckpt"  # the trainer's own naming (runs.checkpoint_step)
    loose.write_bytes(b"copied in by hand")
    assert preview_for(run.root, loose)["step"] == 20
    assert preview_for(run.root, run.checkpoints / "not-a-checkpoint.ckpt") is None
