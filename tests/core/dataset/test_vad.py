"""Slicing by silence alone (Silero VAD), on joe's speech."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.dataset_audio import SENTENCES, recording, sentence_audio
from voicelab.core.audio import resample
from voicelab.core.dataset.slicing import SliceOptions
from voicelab.core.dataset.vad import speech_probabilities, speech_regions, vad_cuts
from voicelab.core.errors import Cancelled
from voicelab.core.progress import CancelToken

PAUSE = 1.2  # longer than the merge gap, so each sentence is its own clip


@pytest.fixture(scope="module")
def speech16k():
    return resample(recording(SENTENCES[:4], pause=PAUSE, noise_db=-50), 22050, 16000)


def sentence_spans():
    """(start, end) of each sentence in the `speech16k` recording."""
    spans, at = [], 0.4
    for text in SENTENCES[:4]:
        length = len(sentence_audio(text)) / 22050
        spans.append((at, at + length))
        at += length + PAUSE
    return spans


def test_one_clip_per_sentence_cut_in_the_pauses(speech16k):
    cuts = vad_cuts(speech16k)
    spans = sentence_spans()
    assert len(cuts) == len(spans)
    for cut, (start, end) in zip(cuts, spans):
        assert cut.text == "" and cut.words == []
        assert 1.0 <= cut.duration <= 12.0
        # The clip holds the whole sentence (joe's quiet edges may fall outside by a hair)
        # and ends in the pause, not in the next sentence.
        assert cut.start <= start + 0.1 and cut.end >= end - 0.15
        assert cut.start >= start - 0.5 and cut.end <= end + 0.5


def test_silence_and_noise_give_no_clips():
    assert vad_cuts(np.zeros(16000 * 3, np.float32)) == []
    noise = np.random.default_rng(1).standard_normal(16000 * 3).astype(np.float32) * 0.01
    assert vad_cuts(noise) == []


def test_long_speech_without_pauses_is_split_under_the_maximum():
    joined = np.concatenate([sentence_audio(t) for t in SENTENCES])  # ~18 s, no pauses
    audio = resample(joined, 22050, 16000)
    options = SliceOptions(max_seconds=6.0)
    regions = speech_regions(audio, max_seconds=options.max_seconds)
    assert all(end - start <= 6.0 - 0.3 for start, end in regions)
    cuts = vad_cuts(audio, options)
    assert cuts and all(c.duration <= 6.0 for c in cuts)
    assert sum(c.duration for c in cuts) > 0.7 * len(audio) / 16000  # most of the speech kept


def test_probabilities_follow_the_speech(speech16k):
    probabilities = speech_probabilities(speech16k)
    assert len(probabilities) == int(np.ceil(len(speech16k) / 512))
    start, end = sentence_spans()[0]
    inside = probabilities[int((start + 0.3) * 16000 / 512): int((end - 0.3) * 16000 / 512)]
    pause = probabilities[int((end + 0.3) * 16000 / 512): int((end + PAUSE - 0.3) * 16000 / 512)]
    assert np.mean(inside) > 0.7 and np.mean(pause) < 0.2


def test_vad_honours_cancel_and_reports_progress(speech16k):
    seen = []
    speech_probabilities(speech16k, progress=lambda d, t, m: seen.append(d))
    assert seen and seen == sorted(seen)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        vad_cuts(speech16k, cancel=token)
