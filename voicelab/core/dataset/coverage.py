"""How much of a recording's speech ends up in clips, and a second listen where none did.

A recognizer can skip speech without a word of warning: faster-whisper's batched decoder
keeps whatever its one pass over a 30 s chunk gives, and that pass sometimes ends at the
first sentence end, leaving the rest of the chunk unheard (see `asr_faster`). Voice
activity detection (`vad.speech_regions`) says independently where the speech is, so:

- `listen_again` finds stretches of speech that got no words and transcribes just those
  once more (short audio, which the recognizer decodes with its seek-on decoder), and
  puts the words it hears in order among the others;
- `covered_seconds` measures, per recording, how much of the voiced speech lies inside
  its clips. The pipeline saves that on the source (`Source.voiced`, `Source.covered`)
  and `coverage_warning` turns a low figure into a sentence for the Dataset tab, since
  some speech is always left out on purpose (a lone "Yes." shorter than a clip may be)
  but a recording whose clips hold much less than its speech has lost some.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from voicelab.core.dataset.asr import ASR_RATE, Segment, Transcriber, Transcript, Word
from voicelab.core.progress import CancelToken

Span = tuple[float, float]

#: Clips holding less than this share of a recording's voiced speech get a warning…
LOW_COVERAGE = 0.8
#: …when at least this much speech (seconds) is missing: a short file's few stray
#: syllables are not worth one.
MISSING_SECONDS = 2.0
#: Speech this long (seconds) with no word near it is listened to again.
UNHEARD_SECONDS = 1.0
_REACH = 0.3  # word times are often this far off the speech they cover
_BRIDGE = 0.5  # unheard pieces this close together are one stretch (a pause inside it)
_MARGIN = 0.5  # audio kept around an unheard stretch when it is transcribed again


# --------------------------------------------------------------------------- spans


def merged(spans: Sequence[Span]) -> list[Span]:
    """The union of (start, end) spans, sorted, with touching ones joined."""
    result: list[Span] = []
    for start, end in sorted((float(a), float(b)) for a, b in spans if b > a):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def covered_seconds(regions: Sequence[Span], spans: Sequence[Span]) -> float:
    """Seconds of `regions` that lie inside any of `spans`."""
    total = 0.0
    cover = merged(spans)
    for start, end in merged(regions):
        for a, b in cover:
            if b <= start:
                continue
            if a >= end:
                break
            total += min(end, b) - max(start, a)
    return total


def _outside(regions: Sequence[Span], spans: Sequence[Span]) -> list[Span]:
    """The parts of `regions` outside every one of `spans`."""
    cover = merged(spans)
    pieces: list[Span] = []
    for start, end in merged(regions):
        at = start
        for a, b in cover:
            if b <= at:
                continue
            if a >= end:
                break
            if a > at:
                pieces.append((at, a))
            at = max(at, b)
        if at < end:
            pieces.append((at, end))
    return pieces


def unheard(voiced: Sequence[Span], words: Sequence[Word],
            shortest: float = UNHEARD_SECONDS) -> list[Span]:
    """Stretches of voiced speech at least `shortest` seconds long with no word near them."""
    pieces = _outside(voiced, [(w.start - _REACH, w.end + _REACH) for w in words])
    stretches: list[Span] = []
    for start, end in pieces:
        if stretches and start - stretches[-1][1] < _BRIDGE:
            stretches[-1] = (stretches[-1][0], end)
        else:
            stretches.append((start, end))
    return [(a, b) for a, b in stretches if b - a >= shortest]


# --------------------------------------------------------------------------- second listen


def listen_again(transcript: Transcript, samples: np.ndarray, voiced: Sequence[Span],
                 transcriber: Transcriber, *, language: str | None = None,
                 cancel: CancelToken | None = None) -> Transcript:
    """`transcript` of 16 kHz `samples` with the speech it skipped transcribed again.

    Only words that land inside a skipped stretch (or within the reach of word times of
    it) are taken, so a word the first pass heard is never added twice; the transcript is
    returned unchanged when nothing was skipped (the usual case), or when the second listen
    hears nothing either.
    """
    stretches = unheard(voiced, transcript.words)
    if not stretches:
        return transcript
    duration = samples.shape[0] / ASR_RATE
    found: list[Segment] = []
    for start, end in stretches:
        lo, hi = max(0.0, start - _MARGIN), min(duration, end + _MARGIN)
        piece = samples[int(lo * ASR_RATE):int(hi * ASR_RATE)]
        heard = transcriber.transcribe(piece, language=language or transcript.language,
                                       cancel=cancel).shifted(lo)
        for segment in heard.segments:
            words = [w for w in segment.words
                     if start - _REACH <= (w.start + w.end) / 2 <= end + _REACH]
            if words:
                found.append(dataclasses.replace(segment, words=words))
    if not found:
        return transcript
    return dataclasses.replace(transcript, segments=_in_time_order(list(transcript.segments) + found))


def _in_time_order(segments: Sequence[Segment]) -> list[Segment]:
    """Segments regrouped so their words run in time order: a segment whose words lie on
    both sides of a stretch heard later is split around it (the slicer reads words in
    segment order)."""
    pairs = sorted(((w, s) for s in segments for w in s.words), key=lambda pair: pair[0].start)
    runs: list[tuple[Segment, list[Word]]] = []
    for word, segment in pairs:
        if runs and runs[-1][0] is segment:
            runs[-1][1].append(word)
        else:
            runs.append((segment, [word]))
    wordless = [s for s in segments if not s.words]
    regrouped = [dataclasses.replace(s, words=ws, text="".join(w.text for w in ws),
                                     start=ws[0].start, end=ws[-1].end) for s, ws in runs]
    return sorted(regrouped + wordless, key=lambda s: s.start)


# --------------------------------------------------------------------------- the figure


def coverage_of(source) -> float | None:
    """Share (0..1) of a source's voiced speech inside its clips; None before it is known."""
    voiced = getattr(source, "voiced", None)
    covered = getattr(source, "covered", None)
    if voiced is None or covered is None:
        return None
    return 1.0 if voiced <= 0 else max(0.0, min(1.0, covered / voiced))


def coverage_warning(source) -> str | None:
    """A sentence for the user when a recording's clips hold much less than its speech."""
    share = coverage_of(source)
    if share is None or share >= LOW_COVERAGE:
        return None
    missing = source.voiced - source.covered
    if missing < MISSING_SECONDS:
        return None
    name = str(source.file).rsplit("/", 1)[-1]
    return (f"{name}: its clips hold {share * 100:.0f} % of the {source.voiced:.1f} s of speech "
            f"found in it; {missing:.1f} s are in no clip. Play the recording where it has no "
            "clips: a larger Whisper model (Settings) may hear what this one missed.")


def coverage_summary(sources: Sequence) -> str | None:
    """"Speech in clips: 97 % of 12 min found" over the sources measured; None if none was."""
    known = [s for s in sources if coverage_of(s) is not None]
    voiced = sum(s.voiced for s in known)
    if not known or voiced <= 0:
        return None
    covered = sum(min(s.covered, s.voiced) for s in known)
    minutes = f"{voiced / 60:.1f} min" if voiced >= 60 else f"{voiced:.1f} s"
    return f"Speech in clips: {covered / voiced * 100:.0f} % of the {minutes} found in the recordings"
