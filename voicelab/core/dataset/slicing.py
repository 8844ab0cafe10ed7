"""Where to cut a recording into clips: pure functions over word times and the audio level.

A TTS dataset wants one utterance per clip, 1–12 s long, cut in silence with a little of
it kept at each end. `slice_transcript` gets there in four steps:

1. Boundaries (`boundaries.word_bounds`). For every pair of neighbouring words, find the
   silence between them. Whisper's word times are often a few tenths of a second off (a
   word's end stretched over the pause, the next word starting inside it), so when the
   audio is given the cut is placed in the longest quiet stretch (10 ms frames below a
   level fitted to the recording) between the middles of the two words; only without
   audio or without a quiet stretch do the word times decide. Each side gets up to
   `padding` seconds of that silence, never crossing into the neighbour's word and never
   overlapping the next clip.
2. Utterances: break after every sentence end (. ! ? … outside abbreviations) and at every
   pause of `pause_seconds` or more.
3. Too long: an utterance longer than `max_seconds` is split at its widest gap between
   words (preferring splits that leave both sides at least `min_seconds`), again and again.
4. Too short: an utterance under `min_seconds` joins the neighbour it is closer to, when
   the pause between them is short and the result still fits; what cannot be joined is
   dropped, as is a single "word" longer than the maximum (a timing error, not speech).

`slice_regions` does the same for speech regions found by voice activity detection (no
text), for recordings whose text the user will type.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from voicelab.core.dataset.asr import Segment, Transcript, Word
from voicelab.core.dataset.boundaries import Bounds, QuietMap, word_bounds


@dataclass(frozen=True)
class SliceOptions:
    min_seconds: float = 1.0
    max_seconds: float = 12.0
    padding: float = 0.15  # silence kept before and after the words, at most
    pause_seconds: float = 0.5  # a pause this long ends a clip even mid-sentence
    max_merge_gap: float = 1.0  # a short piece joins a neighbour only across a shorter pause


@dataclass
class Cut:
    """One clip to make: seconds in the audio that was sliced, and what is said in it."""

    start: float
    end: float
    text: str = ""
    words: list[Word] = field(default_factory=list)
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    language: str | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start

    def shifted(self, offset: float) -> Cut:
        """The same cut with every time moved by `offset` seconds (a window's cut placed in
        its recording)."""
        return dataclasses.replace(
            self, start=self.start + offset, end=self.end + offset,
            words=[dataclasses.replace(w, start=w.start + offset, end=w.end + offset) for w in self.words])


# --------------------------------------------------------------------------- sentences

_SENTENCE_END = re.compile(r"[.!?\u2026\u3002\uff01\uff1f\u061f\u0964]+[\"'\u201d\u2019)\]}\u00bb]*$")
_CLAUSE_END = re.compile(r"[,;:\u3001\uff0c\u2014-]+[\"'\u201d\u2019)\]}\u00bb]*$")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "vs", "mt", "no", "e.g",
                  "i.e", "approx", "dept", "fig", "gen", "gov", "lt", "col", "capt", "sgt"}


def is_sentence_end(word: str) -> bool:
    """Whether a word ends a sentence ("Yes." yes, "Dr." and "U.S." no)."""
    text = word.strip()
    if not _SENTENCE_END.search(text):
        return False
    if text.endswith((".", ".\"", ".'")) and not text.endswith(".."):
        bare = text.rstrip("\"'").rstrip(".").lower()
        if bare in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+[a-z]", bare):
            return False
    return True


# --------------------------------------------------------------------------- grouping


def _group(words: Sequence[Word], bounds: Bounds, options: SliceOptions,
           sentence_ends: Sequence[bool]) -> list[tuple[int, int]]:
    """Index ranges (first word, last word) of the clips, after all four steps."""

    def length(i: int, j: int) -> float:
        return bounds.ends[j] - bounds.starts[i]

    pieces: list[tuple[int, int]] = []
    first = 0
    for k in range(len(words)):
        if k == len(words) - 1 or sentence_ends[k] or bounds.gaps[k] >= options.pause_seconds:
            pieces.append((first, k))
            first = k + 1

    def split(i: int, j: int) -> list[tuple[int, int]]:
        if i == j or length(i, j) <= options.max_seconds:
            return [(i, j)]
        choices = range(i, j)
        balanced = [k for k in choices if length(i, k) >= options.min_seconds
                    and length(k + 1, j) >= options.min_seconds]

        def score(k: int) -> tuple[float, float]:
            bonus = 0.08 if _CLAUSE_END.search(words[k].text.strip()) or sentence_ends[k] else 0.0
            return round(bounds.gaps[k] + bonus, 3), -abs(length(i, k) - length(k + 1, j))

        k = max(balanced or choices, key=score)
        return split(i, k) + split(k + 1, j)

    pieces = [part for i, j in pieces for part in split(i, j)]
    pieces = _merge_short(pieces, length, bounds.gaps, options)
    return [(i, j) for i, j in pieces if options.min_seconds <= length(i, j) <= options.max_seconds]


def _merge_short(pieces: list[tuple[int, int]], length, gaps: Sequence[float],
                 options: SliceOptions) -> list[tuple[int, int]]:
    pieces = list(pieces)
    changed = True
    while changed:
        changed = False
        for index, (i, j) in enumerate(pieces):
            if length(i, j) >= options.min_seconds:
                continue
            options_here = []
            if index > 0:
                pi, _ = pieces[index - 1]
                if gaps[i - 1] <= options.max_merge_gap and length(pi, j) <= options.max_seconds:
                    options_here.append((gaps[i - 1], length(pi, j), index - 1))
            if index + 1 < len(pieces):
                _, nj = pieces[index + 1]
                if gaps[j] <= options.max_merge_gap and length(i, nj) <= options.max_seconds:
                    options_here.append((gaps[j], length(i, nj), index))
            if not options_here:
                continue
            _, _, left = min(options_here)
            pieces[left:left + 2] = [(pieces[left][0], pieces[left + 1][1])]
            changed = True
            break
    return pieces


# --------------------------------------------------------------------------- entry points


def slice_transcript(transcript: Transcript, samples: np.ndarray | None = None,
                     rate: int = 16000, options: SliceOptions = SliceOptions()) -> list[Cut]:
    """Clips for a transcript of `samples` (float mono at `rate`; None: word times only)."""
    indexed = [(w, s) for s, segment in enumerate(transcript.segments) for w in segment.words]
    duration = transcript.duration
    if samples is not None and rate:
        duration = max(duration, len(samples) / rate) if duration else len(samples) / rate
    indexed = _clean_words(indexed, duration)
    if not indexed:
        return []
    words = [w for w, _ in indexed]
    quiet = QuietMap(samples, rate) if samples is not None else None
    bounds = word_bounds(words, duration, quiet, options.padding)
    ends = [is_sentence_end(w.text) for w in words]
    cuts = []
    for i, j in _group(words, bounds, options, ends):
        chosen = indexed[i:j + 1]
        logprob, no_speech = confidence_figures([w for w, _ in chosen],
                                                [transcript.segments[s] for _, s in chosen])
        start, end = bounds.starts[i], bounds.ends[j]
        cuts.append(Cut(start=start, end=end, text=join_words([w for w, _ in chosen]),
                        words=[_within(w, start, end) for w, _ in chosen],
                        avg_logprob=logprob, no_speech_prob=no_speech,
                        language=transcript.language))
    return cuts


def slice_regions(regions: Sequence[tuple[float, float]], duration: float,
                  samples: np.ndarray | None = None, rate: int = 16000,
                  options: SliceOptions = SliceOptions()) -> list[Cut]:
    """Clips (with empty text) from speech regions found by voice activity detection.

    Regions longer than the maximum should already be split (see `vad.speech_regions`);
    one that is not is dropped rather than cut blindly.
    """
    words = [Word("", float(s), float(e)) for s, e in regions if e > s]
    if not words:
        return []
    segment = Segment("", words[0].start, words[-1].end, words)
    transcript = Transcript([segment], None, None, duration)
    cuts = slice_transcript(transcript, samples, rate, options)
    for cut in cuts:
        cut.words, cut.avg_logprob, cut.no_speech_prob = [], None, None
    return cuts


def _within(word: Word, start: float, end: float) -> Word:
    """The word with its times moved inside its clip: where the audio put the cut, Whisper's
    time for an edge word was off, and a word must not hang outside the clip it is in."""
    first = min(max(word.start, start), end)
    return Word(word.text, first, min(max(word.end, first), end), word.probability)


def join_words(words: Sequence[Word]) -> str:
    """The words' text as Whisper spaced it (its words carry their leading space)."""
    text = "".join(w.text for w in words)
    if words and not any(w.text[:1].isspace() for w in words[1:]):
        text = " ".join(w.text.strip() for w in words) if _spaced_script(text) else text
    return re.sub(r"\s+", " ", text).strip()


def _spaced_script(text: str) -> bool:
    """Whether words are written with spaces (Latin, Cyrillic …) rather than without (CJK)."""
    return not re.search(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f]", text)


def _clean_words(indexed, duration: float):
    """Drop empty-timed junk and keep times inside the audio and in order."""
    cleaned = []
    last_end = 0.0
    for word, segment in indexed:
        start = min(max(0.0, float(word.start)), duration) if duration else max(0.0, float(word.start))
        end = min(max(start, float(word.end)), duration) if duration else max(start, float(word.end))
        start = max(start, last_end) if start < last_end else start
        end = max(end, start)
        if not word.text.strip() and word.text:
            continue
        cleaned.append((Word(word.text, start, end, word.probability), segment))
        last_end = end
    return cleaned


def _words_logprob(words: Sequence[Word]) -> float | None:
    """The mean log-probability of the words: a clip's own confidence.

    Whisper's `avg_logprob` belongs to a whole decoded segment (in batched decoding, a 30 s
    chunk), so every clip cut from it got the same value, clips with misheard words too.
    Each word's probability is its own, and one misheard word pulls the mean down.
    """
    if not words:
        return None
    logs = [math.log(min(1.0, max(float(w.probability), 1e-6))) for w in words]
    return round(float(np.mean(logs)), 4)


def confidence_figures(words: Sequence[Word], segments: Sequence[Segment]
                       ) -> tuple[float | None, float | None]:
    """A clip's (avg_logprob, no_speech_prob): its words' mean log-probability (the
    segments' when it has no words) and the worst no-speech probability of the segments
    they came from."""
    logprobs = [s.avg_logprob for s in segments if s.avg_logprob is not None
                and np.isfinite(s.avg_logprob)]
    no_speech = [s.no_speech_prob for s in segments if s.no_speech_prob is not None
                 and np.isfinite(s.no_speech_prob)]
    logprob = _words_logprob(words)
    if logprob is None and logprobs:
        logprob = round(float(np.mean(logprobs)), 4)
    return logprob, (round(float(max(no_speech)), 4) if no_speech else None)
