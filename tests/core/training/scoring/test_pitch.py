"""Pitch numbers of previews: median F0, its spread, and the frame-rate buzz share."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voicelab.core.training.run import events as ev
from voicelab.core.training.scoring.pitch import pitch_stats, pooled, semitones_between, stats_of, summarize

RATE = 22050
FRAME_RATE = RATE / 256


def _glottal(f0_of_t, seconds=1.0):
    """A voiced-speech-like pulse train whose pitch follows `f0_of_t`, through a resonance."""
    t = np.arange(int(RATE * seconds)) / RATE
    phase = 2 * np.pi * np.cumsum(f0_of_t(t)) / RATE
    source = sum(np.sin(k * phase) / k for k in range(1, 15))
    return (0.3 * source / np.max(np.abs(source))).astype(np.float32)


def test_intonated_voice_has_its_pitch_and_spread():
    stats = pitch_stats(_glottal(lambda t: 120 * 2 ** (3 * np.sin(2 * np.pi * 2 * t) / 12)), RATE)
    assert 110 < stats.median_hz < 130
    assert 1.0 < stats.spread_st < 3.5
    assert stats.frame_rate_share < 0.1 and stats.voiced_frames > 30
    assert stats.frame_rate_hz == pytest.approx(86.13, abs=0.01)


def test_frame_rate_buzz_is_recognised():
    stats = pitch_stats(_glottal(lambda t: np.full_like(t, FRAME_RATE)), RATE)
    assert stats.frame_rate_share > 0.9
    assert stats.spread_st < 0.3
    assert abs(semitones_between(stats.median_hz, FRAME_RATE)) < 0.3


def test_silence_and_empty_input_give_no_pitch():
    assert pitch_stats(np.zeros(RATE, dtype=np.float32), RATE).median_hz is None
    assert stats_of(np.array([]), FRAME_RATE).voiced_frames == 0
    assert summarize([]) is None


def test_pooling_and_summaries_weight_by_voiced_frames():
    a, b = np.full(30, 100.0), np.full(10, 200.0)
    together = pooled([a, b], FRAME_RATE)
    assert together.voiced_frames == 40 and together.median_hz == 100.0
    summary = summarize([stats_of(a, FRAME_RATE).to_dict(), stats_of(b, FRAME_RATE).to_dict()])
    assert summary["median_hz"] == pytest.approx(125.0) and summary["voiced_frames"] == 40


def test_preview_events_carry_pitch():
    item = {"path": "p/00.wav", "text": "Hi.", "heard": "hi", "wer": 0.0,
            "pitch": {"median_hz": 90.0, "spread_st": float("nan"), "frame_rate_share": 0.9,
                      "voiced_frames": 12, "frame_rate_hz": FRAME_RATE}}
    event = ev.preview(step=3, epoch=1, previews=[item])
    line = ev.encode(event)
    parsed = ev.parse_line(line)
    assert parsed["previews"][0]["pitch"]["spread_st"] is None  # NaN cannot be JSON
    assert parsed["pitch"]["frame_rate_share"] == pytest.approx(0.9)
    assert json.loads(line)["pitch"]["voiced_frames"] == 12
    no_pitch = ev.preview(step=4, epoch=1, previews=[{**item, "pitch": None}])
    assert no_pitch["pitch"] is None and no_pitch["previews"][0]["pitch"] is None
