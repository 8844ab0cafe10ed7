"""Pitch of a voice in training: how high it speaks, how much it moves, whether it buzzes.

A fine-tune can sound intelligible and still be wrong in two ways a loss curve hides: it
keeps the base voice's pitch instead of moving to the target speaker's, or it collapses
into a monotone buzz at the decoder's frame rate (sample rate / hop length, 86.13 Hz for a
22.05 kHz voice), which pitch trackers then report as the voice's pitch. So three numbers
are read from the voiced frames of probabilistic YIN (librosa's pyin, 60–500 Hz):

* `median_hz`: the median F0, the likeness number to compare with the target recordings;
* `spread_st`: the standard deviation of F0 in semitones; real speech moves ~2.4 st, a
  collapsed voice 0.1–1.1 st;
* `frame_rate_share`: the share of voiced frames within half a semitone of the frame rate;
  target recordings ~1 %, a collapsed voice 84–100 %. A high share makes `median_hz` the
  frame rate, not the speaker's pitch.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from voicelab.core.locks import compile_lock

FMIN_HZ = 60.0
FMAX_HZ = 500.0
#: Within this many semitones of the frame rate a frame counts as "at the frame rate".
FRAME_RATE_BAND_ST = 0.5


@dataclass(frozen=True)
class PitchStats:
    median_hz: float | None
    spread_st: float | None
    frame_rate_share: float | None
    voiced_frames: int
    frame_rate_hz: float

    def to_dict(self) -> dict[str, Any]:
        return {key: (round(value, 4) if isinstance(value, float) else value)
                for key, value in asdict(self).items()}


def f0_track(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """F0 in Hz per frame of the voiced frames only (pyin, 60–500 Hz)."""
    audio = np.asarray(samples, dtype=np.float32).reshape(-1)
    if audio.size < sample_rate // 10:
        return np.zeros(0, dtype=np.float64)
    frame = 2048 if sample_rate > 16000 else 1024
    f0, voiced, _prob = _pyin(audio, int(sample_rate), frame)
    f0 = np.asarray(f0, dtype=np.float64)
    keep = np.asarray(voiced, dtype=bool) & np.isfinite(f0)
    return f0[keep]


_first_call = threading.Lock()
_compiled = False


def _pyin(audio: np.ndarray, sample_rate: int, frame: int) -> tuple:
    """librosa's pyin; a process's first call (numba compiles and caches its generalized
    ufuncs then) runs under `locks.compile_lock`, so two trainers never write that cache
    at once (see there: a cache written twice at once crashed every later preview)."""
    global _compiled
    import librosa

    def track() -> tuple:
        return librosa.pyin(audio, fmin=FMIN_HZ, fmax=FMAX_HZ, sr=sample_rate, frame_length=frame)

    if not _compiled:
        with _first_call, compile_lock():
            if not _compiled:
                result = track()
                _compiled = True
                return result
    return track()


def stats_of(f0: np.ndarray, frame_rate_hz: float) -> PitchStats:
    """The three numbers of the module doc over voiced-frame F0 values."""
    f0 = np.asarray(f0, dtype=np.float64)
    f0 = f0[np.isfinite(f0) & (f0 > 0)]
    if f0.size == 0:
        return PitchStats(None, None, None, 0, float(frame_rate_hz))
    semitones = 12.0 * np.log2(f0)
    near = np.abs(semitones - 12.0 * math.log2(frame_rate_hz)) <= FRAME_RATE_BAND_ST
    return PitchStats(median_hz=float(np.median(f0)), spread_st=float(np.std(semitones)),
                      frame_rate_share=float(np.mean(near)), voiced_frames=int(f0.size),
                      frame_rate_hz=float(frame_rate_hz))


def pooled(tracks: Iterable[np.ndarray], frame_rate_hz: float) -> PitchStats:
    """The numbers over several clips' voiced frames together (as the research pooled them)."""
    values = [np.asarray(track, dtype=np.float64) for track in tracks]
    joined = np.concatenate(values) if values else np.zeros(0)
    return stats_of(joined, frame_rate_hz)


def semitones_between(hz: float | None, reference_hz: float | None) -> float | None:
    if not hz or not reference_hz:
        return None
    return 12.0 * math.log2(hz / reference_hz)
