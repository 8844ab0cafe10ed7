"""Export checks a checkpoint's preview scores first, and says in words what is wrong.

The run folders are synthetic (`ScoredRun`): a train.yaml naming the dataset, checkpoint
files, and an events.jsonl written with the trainer's event builders.
"""

from __future__ import annotations

import pytest

from tests.support.training_data import ScoredRun
from voicelab.core.training.voice.export import ExportResult
from voicelab.core.training.voice.export_check import check_export, export_summary, heard_concerns


@pytest.fixture
def run(tmp_path):
    run = ScoredRun(tmp_path / "runs" / "joe-run", dataset="joe")
    yield run
    run.close()


def test_an_unintelligible_voice_that_lost_the_speaker_has_both_concerns(run):
    run.preview(0, wer=0.05, likeness=0.0, naturalness=3.9)  # the voice the run started from
    early = run.checkpoint(8, wer=0.96, likeness=-0.12, naturalness=2.1)

    check = check_export(run.root, early)

    assert check.concerns == (
        "This voice is not intelligible yet: WER 96% at step 8.",
        "It sounds less like joe than the voice it started from (likeness -0.12 at step 8).")
    assert (check.step, check.wer, check.likeness, check.naturalness) == (8, 0.96, -0.12, 2.1)
    assert check.scores == "Scores at step 8: WER 96%, likeness -0.12, naturalness 2.1 / 5."


def test_a_ready_voice_has_no_concerns_and_says_its_scores(run):
    run.checkpoint(10, wer=0.5, likeness=0.0)  # exactly at the limits: not below them
    ready = run.checkpoint(20, wer=0.08, likeness=0.61, naturalness=3.4)
    assert check_export(run.root, run.root / "checkpoints" / "step-10.ckpt").concerns == ()
    check = check_export(run.root, ready)
    assert check.concerns == () and check.scores == ("Scores at step 20: WER 8%, likeness 0.61, "
                                                     "naturalness 3.4 / 5.")


def test_without_previews_there_are_no_concerns_and_the_scores_are_unknown(run):
    run.preview(0, wer=0.05, likeness=0.0)  # the start's round scores no trained checkpoint
    path = run.checkpoint(30)
    check = check_export(run.root, path)
    assert check.concerns == () and check.step is None
    assert "scores are unknown" in check.scores


def test_a_round_without_likeness_checks_only_the_wer(run):
    path = run.checkpoint(40, wer=0.7)  # an older run, or no speaker encoder
    check = check_export(run.root, path)
    assert check.concerns == ("This voice is not intelligible yet: WER 70% at step 40.",)
    assert check.scores == "Scores at step 40: WER 70%."


def test_the_summary_says_what_the_export_proved(run, tmp_path):
    path = run.checkpoint(50, wer=0.1, likeness=0.4, naturalness=3.0)
    result = ExportResult(onnx_path=tmp_path / "v.onnx", config_path=tmp_path / "v.onnx.json",
                          verified=True, heard="hello this voice")
    assert export_summary(result, check_export(run.root, path)) == (
        "Checked: it loads in a fresh process and speaks (Whisper heard “hello this voice”). "
        "Scores at step 50: WER 10%, likeness 0.40, naturalness 3.0 / 5.")


def test_a_voice_no_preview_scored_is_judged_by_its_test_sentence(run, tmp_path):
    path = run.checkpoint(2)  # a two-step run: no preview round after it
    check = check_export(run.root, path)
    noise = ExportResult(onnx_path=tmp_path / "v.onnx", config_path=tmp_path / "v.onnx.json",
                         verified=True, heard="", wer=1.0)
    assert check.concerns == () and heard_concerns(noise) == (
        "Whisper understood little of its test sentence (WER 100%): this voice is not intelligible yet.",)
    assert "(Whisper heard “”, WER 100%)" in export_summary(noise, check)
    clear = ExportResult(onnx_path=tmp_path / "v.onnx", config_path=tmp_path / "v.onnx.json",
                         verified=True, heard="hello", wer=0.1)
    assert heard_concerns(clear) == ()
