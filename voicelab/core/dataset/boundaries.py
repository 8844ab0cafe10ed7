"""Step 1 of slicing (see slicing.py for why): where a clip may start and end around each
word. `QuietMap` finds a recording's quiet stretches once; `word_bounds` places the cut
between two words in the longest of them, keeping up to `padding` of silence each side.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voicelab.core.dataset.asr import Word

# --------------------------------------------------------------------------- the audio level

_FRAME = 0.01  # seconds per level frame
_MIN_QUIET = 0.04  # a quiet stretch shorter than this is a stop consonant, not a pause


class QuietMap:
    """The quiet stretches of a recording, found once and looked up per boundary."""

    def __init__(self, samples: np.ndarray, rate: int) -> None:
        hop = max(1, int(rate * _FRAME))
        frames = len(samples) // hop
        self.duration = len(samples) / rate if rate else 0.0
        if frames == 0:
            self.runs: list[tuple[float, float]] = []
            self._starts: list[float] = []
            return
        blocks = np.asarray(samples[: frames * hop], dtype=np.float32).reshape(frames, hop)
        level = 10 * np.log10(np.mean(np.square(blocks, dtype=np.float64), axis=1) + 1e-12)
        floor = max(float(np.percentile(level, 10)), -90.0)
        loud = float(np.percentile(level, 95))
        # Between the noise floor and speech: 10 dB over the floor, but never more than 40 dB
        # under the loud parts (digital silence would otherwise make breaths "speech"), and
        # always at least 10 dB under them (a recording with no pauses has no floor).
        threshold = min(max(floor + 10.0, loud - 40.0), loud - 10.0)
        quiet = level < threshold
        self.runs = _runs(quiet, _FRAME, self.duration)
        self._starts = [r[0] for r in self.runs]

    def within(self, lo: float, hi: float) -> list[tuple[float, float]]:
        """Quiet runs overlapping [lo, hi] (whole runs, not clipped)."""
        index = max(0, bisect.bisect_right(self._starts, lo) - 1)
        found = []
        for start, end in self.runs[index:]:
            if start > hi:
                break
            if end >= lo:
                found.append((start, end))
        return found


def _runs(mask: np.ndarray, step: float, duration: float) -> list[tuple[float, float]]:
    runs = []
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    for first, last in zip(edges[::2], edges[1::2]):
        start, end = first * step, min(duration, last * step)
        if end - start >= _MIN_QUIET or first == 0 or last == len(mask):
            runs.append((float(start), float(end)))
    return runs


# --------------------------------------------------------------------------- boundaries


@dataclass
class Bounds:
    """Where clips may start and end around each word (seconds, rounded to the ms)."""

    starts: list[float]  # where a clip beginning at word i starts
    ends: list[float]  # where a clip ending at word i ends
    gaps: list[float]  # the pause after word i (len n-1)


def word_bounds(words: Sequence[Word], duration: float, quiet: QuietMap | None,
                padding: float) -> Bounds:
    n = len(words)
    starts, ends, gaps = [0.0] * n, [0.0] * n, [0.0] * max(0, n - 1)
    first, last = words[0], words[-1]
    lead = _leading_silence(first, quiet)
    starts[0] = max(0.0, (lead[1] - padding if lead else first.start - padding), lead[0] if lead else 0.0)
    trail = _trailing_silence(last, duration, quiet)
    ends[-1] = min(duration, trail[0] + padding if trail else last.end + padding,
                   trail[1] if trail else duration)
    for i in range(n - 1):
        a, b = words[i], words[i + 1]
        run = _silence_between(a, b, quiet)
        if run is None:
            gap = max(0.0, b.start - a.end)
            ends[i] = a.end + min(padding, gap / 2)
            starts[i + 1] = b.start - min(padding, gap / 2)
            gaps[i] = gap
        else:
            middle = (run[0] + run[1]) / 2
            ends[i] = min(run[0] + padding, middle)
            starts[i + 1] = max(run[1] - padding, middle)
            gaps[i] = max(run[1] - run[0], b.start - a.end)
    # The audio decides over the word times: a quiet run after a word's nominal start is
    # where its speech really begins. Only the recording's own ends limit the bounds.
    # Rounded to the millisecond here, so the lengths the grouping decides on are the ones
    # the clips get.
    last = math.floor(duration * 1000) / 1000
    starts = [min(max(0.0, round(s, 3)), last) for s in starts]
    ends = [min(max(0.0, round(e, 3)), last) for e in ends]
    return Bounds(starts, ends, gaps)


_REACH = 0.4  # how far inside a word its times may be wrong (Whisper's are often 0.2–0.4 s off)


def _inner_start(word: Word) -> float:
    """The latest point a pause before `word` may reach into it."""
    return min((word.start + word.end) / 2, word.start + _REACH)


def _inner_end(word: Word) -> float:
    """The earliest point a pause after `word` may reach back into it."""
    return max((word.start + word.end) / 2, word.end - _REACH)


def _silence_between(a: Word, b: Word, quiet: QuietMap | None) -> tuple[float, float] | None:
    """The longest quiet run that touches the stretch between the two words (reaching a
    little into each, since their times may be off), trimmed to `a`'s start … `b`'s end."""
    if quiet is None:
        return None
    lo = _inner_end(a)
    hi = max(_inner_start(b), lo)
    best = None
    for start, end in quiet.within(lo, hi):
        start, end = max(start, a.start), min(end, b.end)
        if end - start < _MIN_QUIET or end < lo or start > hi:
            continue
        if best is None or end - start > best[1] - best[0]:
            best = (start, end)
    return best


def _leading_silence(word: Word, quiet: QuietMap | None) -> tuple[float, float] | None:
    if quiet is None:
        return None
    runs = [(s, min(e, word.end)) for s, e in quiet.within(0.0, _inner_start(word))]
    runs = [r for r in runs if r[1] - r[0] >= _MIN_QUIET or r[0] <= 0.0]
    return runs[-1] if runs else None  # the one nearest the speech


def _trailing_silence(word: Word, duration: float,
                      quiet: QuietMap | None) -> tuple[float, float] | None:
    if quiet is None:
        return None
    runs = [(max(s, word.start), e) for s, e in quiet.within(_inner_end(word), duration)]
    runs = [r for r in runs if r[1] - r[0] >= _MIN_QUIET or r[1] >= duration]
    return runs[0] if runs else None
