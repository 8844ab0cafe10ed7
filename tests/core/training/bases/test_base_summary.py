"""The base check in a person's words: whose voice, which quality, what happens first.

The facts come from real inspections where it matters (joe, rebuilt from its .onnx) and
from `BaseInfo`s as `inspect_base` makes them for the cases a bundled file cannot show
(a multi-speaker checkpoint, a shape of no quality).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.voices import joe_path
from voicelab.core.training.bases.base import BaseInfo, inspect_base
from voicelab.core.training.bases.base_summary import summarize_base


def _checkpoint(**changes) -> BaseInfo:
    facts = dict(path=Path("/bases/en_US-lessac-medium/epoch=2164-step=1355540.ckpt"), sha256="ab" * 32,
                 sample_rate=22050, quality="medium", num_speakers=1, num_symbols=256, hparams={},
                 origin="piper_train (PyTorch Lightning 1.7.7)", lightning_version="1.7.7",
                 epoch=2164, global_step=1355540)
    facts.update(changes)
    return BaseInfo(**facts)


@pytest.fixture(scope="module")
def joe():
    return inspect_base(joe_path())  # rebuilt from the .onnx and proved: seconds


def test_joe_is_said_in_plain_words_and_the_rebuild_is_a_detail(joe):
    summary = summarize_base(joe, "Joe (US English)")

    assert summary.text == ("Joe (US English), medium quality: ready to fine-tune; "
                            "a short warm-up runs first")
    for jargon in ("weights", "correlation", "untrained", "ONNX", "Hz"):
        assert jargon not in summary.text
    details = "\n".join(summary.details)
    assert str(joe_path()) in details and "22050 Hz, one speaker" in details
    assert "correlation 1.0" in details and "posterior encoder" in details
    assert "warmed up for 400 steps" in details


def test_the_warm_up_is_said_as_the_run_sets_it(joe):
    off = summarize_base(joe, "Joe (US English)", warmup_steps=0)
    assert off.text.endswith("the warm-up is off, so the first previews may sound rough")
    assert "the warm-up is off" in "\n".join(off.details)
    assert "warmed up for 50 steps" in "\n".join(summarize_base(joe, warmup_steps=50).details)


def test_without_a_name_the_file_names_the_voice_and_its_quality_is_not_said_twice(joe):
    assert summarize_base(joe).text == "en_US-joe-medium: ready to fine-tune; a short warm-up runs first"
    # A word that merely contains the quality's name does not say it.
    assert summarize_base(_checkpoint(quality="low"), "Willow").text.startswith("Willow, low quality")
    assert summarize_base(_checkpoint(quality="low"), "Anna (x-low)").text.startswith(
        "Anna (x-low), low quality")


def test_a_checkpoint_needs_no_warm_up_and_its_training_is_a_detail():
    summary = summarize_base(_checkpoint(), "Lessac (US English, medium)")
    # The catalog name says the quality already: it is not said twice.
    assert summary.text == "Lessac (US English, medium): ready to fine-tune"
    assert "Trained 1,355,540 steps, epoch 2,164 before this run." in summary.details
    assert "From: piper_train (PyTorch Lightning 1.7.7)" in summary.details


def test_a_multi_speaker_base_says_which_speaker_it_speaks_as():
    info = _checkpoint(num_speakers=904, quality="x_low", sample_rate=16000)
    assert summarize_base(info, "LibriTTS").text == ("LibriTTS, x-low quality: ready to fine-tune; "
                                                     "it speaks as speaker 0 of its 904")
    assert "speaks as speaker 12 of its 904" in summarize_base(info, "LibriTTS", speaker=12).text
    assert "16000 Hz, 904 speakers" in "\n".join(summarize_base(info).details)


def test_a_shape_of_no_quality_is_named_by_its_rate_and_a_mislabelled_file_is_a_detail():
    summary = summarize_base(_checkpoint(quality=None, saved_quality="high"), "custom.ckpt")
    assert summary.text == "custom.ckpt, 22050 Hz: ready to fine-tune"
    mislabelled = summarize_base(_checkpoint(saved_quality="high"))
    assert "The file says quality high; its weights are medium." in mislabelled.details
