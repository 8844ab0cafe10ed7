"""Likeness and naturalness, scored offline: resemblyzer's speaker encoder read safely, the
run's two anchors (0 the start, 1 the dataset's speaker), and DNSMOS on speech and noise."""

from __future__ import annotations

import pickle
import subprocess

import numpy as np
import pytest
import soundfile

from voicelab.core.training.scoring import likeness, naturalness
from voicelab.selftest.tiny import speak

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SENTENCES = ("The cat sat on the mat.", "It is a sunny day today.", "Please open the window.",
             "We walked to the old mill.", "She reads a book at night.", "The train leaves at noon.",
             "Dogs like to run and play.", "Bring me a cup of tea.")


def _shifted(tmp_path, samples, rate, cents):
    """joe moved in pitch with sox: another "speaker" with the same words."""
    plain, moved = tmp_path / "plain.wav", tmp_path / "moved.wav"
    soundfile.write(str(plain), samples, rate)
    subprocess.run(["sox", "-q", str(plain), str(moved), "pitch", str(cents)], check=True)
    audio, _ = soundfile.read(str(moved), dtype="float32")
    return audio


def test_same_speaker_is_closer_than_a_moved_one(tmp_path):
    clips = [speak(text) for text in SENTENCES[:6]]
    reference = likeness.build_reference([a for a, _r in clips], clips[0][1])
    assert reference is not None and reference.held_out == 2 and reference.clips == 4
    assert reference.ceiling > 0.8  # held-out joe against the other joe clips (short clips: ~0.89)
    rate = clips[0][1]
    other, _ = speak(SENTENCES[6])
    same = reference.cosine(likeness.embed(other, rate))
    moved = reference.cosine(likeness.embed(_shifted(tmp_path, other, rate, 500), rate))
    assert same > moved + 0.05


def test_likeness_is_zero_at_the_floor_one_at_the_ceiling_and_unknown_without_a_span():
    reference = likeness.Reference(centroid=[1.0, 0.0], ceiling=0.95, clips=4, held_out=2)
    assert reference.likeness(0.9) is None  # no floor yet
    reference.floor = 0.75
    assert reference.likeness(0.75) == pytest.approx(0.0)
    assert reference.likeness(0.95) == pytest.approx(1.0)
    assert reference.likeness(0.85) == pytest.approx(0.5)
    assert reference.likeness(0.70) < 0  # further from the speaker than where the run started
    reference.floor = 0.94  # a voice fine-tuned on its own speech: nothing to tell apart
    assert reference.likeness(0.95) is None


def test_reference_round_trips_through_the_run_folder(tmp_path):
    reference = likeness.Reference(centroid=[0.6, 0.8], ceiling=0.97, clips=8, held_out=2,
                                   floor=0.7, floor_step=0)
    likeness.save_reference(tmp_path, reference)
    assert likeness.load_reference(tmp_path) == reference
    (tmp_path / likeness.REFERENCE_FILE).write_text("{broken", encoding="utf-8")
    assert likeness.load_reference(tmp_path) is None


def test_too_little_speech_gives_no_embedding_and_no_reference():
    rate = 22050
    assert likeness.embed(np.zeros(rate // 10, dtype=np.float32), rate) is None
    assert likeness.build_reference([np.zeros(rate // 10, dtype=np.float32)] * 5, rate) is None


def test_encoder_weights_that_would_run_code_are_refused(tmp_path, monkeypatch):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    bad = tmp_path / "pretrained.pt"
    bad.write_bytes(pickle.dumps({"model_state": Payload()}))
    monkeypatch.setattr(likeness, "_weights_path", lambda: bad)
    monkeypatch.setattr(likeness, "_encoder", None)
    with pytest.raises(likeness.LikenessUnavailable, match="cannot be read safely"):
        likeness.encoder()


def test_naturalness_prefers_speech_to_noise():
    speech, rate = speak("Please remember to close the door when you leave the office.")
    noise = np.random.default_rng(0).normal(0, 0.3, len(speech)).astype(np.float32)
    clean = naturalness.naturalness(speech, rate)
    noisy = naturalness.naturalness(noise, rate)
    assert 1.0 <= noisy < clean <= 5.0 and clean - noisy > 1.0
    assert naturalness.naturalness(np.zeros(100, dtype=np.float32), rate) is None
