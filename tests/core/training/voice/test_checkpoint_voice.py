"""Quick listen: a training checkpoint speaks through the synthesis engine without export."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.support import checkpoint_builders as builders
from voicelab.core.errors import Cancelled, CheckpointError, UnsafeCheckpointError
from voicelab.core.progress import CancelToken
from voicelab.core.synthesis.engine import SynthesisOptions, synthesize
from voicelab.core.synthesis.model import SpeechModel
from voicelab.core.training.voice.checkpoint_voice import load_checkpoint_voice

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning",
                                        "ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def tiny():
    return builders.tiny_vits_model(seed=21)


@pytest.fixture(scope="module")
def checkpoint(tiny, tmp_path_factory):
    return builders.save_lightning2_checkpoint(tiny, tmp_path_factory.mktemp("run") / "last.ckpt")


def test_checkpoint_speaks_through_the_engine(checkpoint):
    voice = load_checkpoint_voice(checkpoint)
    assert isinstance(voice, SpeechModel)
    assert voice.source == checkpoint and voice.config.sample_rate == 16000

    speech = synthesize(voice, "Good morning. Is the kettle on?")

    assert speech.sentences == ("Good morning.", "Is the kettle on?")
    assert speech.sample_rate == 16000 and speech.samples.dtype == np.float32
    assert speech.samples.size > 1000 and np.isfinite(speech.samples).all()
    assert 0.99 <= np.abs(speech.samples).max() <= 1.0  # normalized per sentence, like piper


def test_it_speaks_with_the_checkpoint_weights(tiny, checkpoint):
    """Noise off, one sentence: the engine's audio is the generator's, normalized."""
    voice = load_checkpoint_voice(checkpoint)
    options = SynthesisOptions(noise_scale=0.0, noise_w=0.0)
    speech = synthesize(voice, "Hello there.", options)
    ids = voice.phonemes_to_ids(voice.phonemize("Hello there.")[0])
    with torch.no_grad():
        raw = tiny.model_g.eval().infer(torch.tensor([ids]), torch.tensor([len(ids)]),
                                        noise_scale=0.0, noise_scale_w=0.0)[0].numpy().reshape(-1)
    expected = raw / np.abs(raw).max()
    assert speech.samples.shape == expected.shape
    assert np.abs(speech.samples - expected).max() < 1e-4


def test_speed_option_changes_the_length(checkpoint):
    voice = load_checkpoint_voice(checkpoint)
    quiet = SynthesisOptions(noise_scale=0.0, noise_w=0.0)
    normal = synthesize(voice, "One more sentence for timing.", quiet)
    slow = synthesize(voice, "One more sentence for timing.",
                      SynthesisOptions(speed=0.25, noise_scale=0.0, noise_w=0.0))
    assert slow.samples.size > normal.samples.size * 1.5  # (an untrained model's phonemes
    # are shorter than a frame, so only slowing down shows)


def test_old_piper_train_checkpoint_speaks(tiny, tmp_path):
    path = tmp_path / "epoch=2164-step=1355540.ckpt"
    builders.build_legacy_checkpoint_of(tiny, path)
    assert synthesize(load_checkpoint_voice(path), "Old but gold.").samples.size > 1000


def test_multi_speaker_checkpoint_uses_the_chosen_speaker(tmp_path):
    model = builders.tiny_vits_model(seed=22, num_speakers=2)
    with torch.no_grad():
        model.model_g.emb_g.weight.mul_(4.0)
    voice = load_checkpoint_voice(builders.save_lightning2_checkpoint(model, tmp_path / "m.ckpt"))
    assert voice.config.num_speakers == 2
    first = synthesize(voice, "Who is speaking?", SynthesisOptions(speaker_id=0, noise_scale=0, noise_w=0))
    second = synthesize(voice, "Who is speaking?", SynthesisOptions(speaker_id=1, noise_scale=0, noise_w=0))
    assert first.samples.shape != second.samples.shape or not np.allclose(first.samples, second.samples)


def test_run_config_decides_the_phonemes(tiny, tmp_path):
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

    run = tmp_path / "run"
    path = builders.save_lightning2_checkpoint(tiny, run / "checkpoints" / "x.ckpt")
    (run / "config.json").write_text(json.dumps({
        "audio": {"sample_rate": 16000}, "espeak": {"voice": "de"}, "num_symbols": 256,
        "num_speakers": 1, "phoneme_id_map": DEFAULT_PHONEME_ID_MAP}), encoding="utf-8")
    voice = load_checkpoint_voice(path)
    assert voice.config.espeak_voice == "de"
    english = load_checkpoint_voice(path, config={**json.loads((run / "config.json").read_text()),
                                                  "espeak": {"voice": "en-us"}})
    assert voice.phonemize("Wasser") != english.phonemize("Wasser")


def test_cancel_stops_before_the_next_sentence(checkpoint):
    voice = load_checkpoint_voice(checkpoint)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        synthesize(voice, "This never plays.", cancel=token)


def test_unsafe_or_foreign_files_are_refused(tmp_path):
    marker = tmp_path / "ran.txt"
    evil = tmp_path / "evil.ckpt"
    builders.write_malicious_zip(evil, "subprocess.call", marker)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_voice(evil)
    assert not marker.exists()
    other = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"w": torch.ones(2)}}, other)
    with pytest.raises(CheckpointError, match="holds no Piper voice generator"):
        load_checkpoint_voice(other)
