"""Pitch numbers of previews: median F0, its spread, and the frame-rate buzz share."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voicelab.core.training.run import events as ev
from voicelab.core.training.scoring.pitch import f0_track, pooled, semitones_between, stats_of
from voicelab.core.training.scoring.previews import Preview, round_pitch

RATE = 22050
FRAME_RATE = RATE / 256


def pitch_stats(samples):
    return stats_of(f0_track(samples, RATE), FRAME_RATE)


def _glottal(f0_of_t, seconds=1.0):
    """A voiced-speech-like pulse train whose pitch follows `f0_of_t`, through a resonance."""
    t = np.arange(int(RATE * seconds)) / RATE
    phase = 2 * np.pi * np.cumsum(f0_of_t(t)) / RATE
    source = sum(np.sin(k * phase) / k for k in range(1, 15))
    return (0.3 * source / np.max(np.abs(source))).astype(np.float32)


def test_intonated_voice_has_its_pitch_and_spread():
    stats = pitch_stats(_glottal(lambda t: 120 * 2 ** (3 * np.sin(2 * np.pi * 2 * t) / 12)))
    assert 110 < stats.median_hz < 130
    assert 1.0 < stats.spread_st < 3.5
    assert stats.frame_rate_share < 0.1 and stats.voiced_frames > 30
    assert stats.frame_rate_hz == pytest.approx(86.13, abs=0.01)


def test_frame_rate_buzz_is_recognised():
    stats = pitch_stats(_glottal(lambda t: np.full_like(t, FRAME_RATE)))
    assert stats.frame_rate_share > 0.9
    assert stats.spread_st < 0.3
    assert abs(semitones_between(stats.median_hz, FRAME_RATE)) < 0.3


def test_silence_and_empty_input_give_no_pitch():
    assert pitch_stats(np.zeros(RATE, dtype=np.float32)).median_hz is None
    assert stats_of(np.array([]), FRAME_RATE).voiced_frames == 0
    assert round_pitch([]) is None


def _preview(f0):
    return Preview(path=None, text="a", heard=None, wer=None, pitch=stats_of(f0, FRAME_RATE).to_dict(), f0=f0)


def test_a_round_pools_its_previews_voiced_frames():
    """As the bench and the research measure a voice: one median and one spread over every
    voiced frame of the round, so two sentences at different pitches count as intonation."""
    a = 100.0 * 2 ** (np.linspace(-1, 1, 30) / 12)  # 100 Hz, within ±1 st
    b = np.full(10, 200.0)
    together = pooled([a, b], FRAME_RATE)
    assert together.voiced_frames == 40 and together.median_hz == pytest.approx(float(np.median(np.r_[a, b])))
    summary = round_pitch([_preview(a), _preview(b), _preview(np.zeros(0))])
    assert summary == together.to_dict()
    assert summary["spread_st"] > 4.0  # an octave apart; each sentence alone moves ≤ 0.6 st
    assert max(stats_of(x, FRAME_RATE).spread_st for x in (a, b)) < 0.7
    assert round_pitch([_preview(np.zeros(0))]) is None  # nothing voiced


def test_preview_events_carry_pitch():
    item = {"path": "p/00.wav", "text": "Hi.", "heard": "hi", "wer": 0.0,
            "pitch": {"median_hz": 90.0, "spread_st": float("nan"), "frame_rate_share": 0.9,
                      "voiced_frames": 12, "frame_rate_hz": FRAME_RATE}}
    event = ev.preview(step=3, epoch=1, previews=[item], pitch=item["pitch"])
    line = ev.encode(event)
    parsed = ev.parse_line(line)
    assert parsed["previews"][0]["pitch"]["spread_st"] is None  # NaN cannot be JSON
    assert parsed["pitch"]["frame_rate_share"] == pytest.approx(0.9)
    assert json.loads(line)["pitch"]["voiced_frames"] == 12
    no_pitch = ev.preview(step=4, epoch=1, previews=[{**item, "pitch": None}])
    assert no_pitch["pitch"] is None and no_pitch["previews"][0]["pitch"] is None


def test_a_process_s_first_pitch_track_holds_the_compile_lock(monkeypatch):
    """numba compiles pyin's ufuncs on a process's first call and writes their cache with no
    lock of its own; two trainers doing that at once left a cache that crashed every later
    preview. The first call runs under locks.compile_lock, later ones do not wait for it."""
    import librosa

    from voicelab.core import locks
    from voicelab.core.training.scoring import pitch

    held = []

    def pyin(audio, **options):
        probe = locks.compile_lock()
        free = probe.acquire(wait=False)  # another open file: blocked while the caller holds it
        if free:
            probe.release()
        held.append(not free)
        return np.full(4, 120.0), np.ones(4, dtype=bool), np.ones(4)

    monkeypatch.setattr(librosa, "pyin", pyin)
    monkeypatch.setattr(pitch, "_compiled", False)
    audio = np.zeros(RATE, dtype=np.float32)
    assert list(f0_track(audio, RATE)) == [120.0] * 4
    f0_track(audio, RATE)
    assert held == [True, False]
