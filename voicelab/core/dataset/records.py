"""What a dataset holds, as plain records, and the pure rules about them.

Separate from the store so the GUI, the pipeline and the tests can use clips, summaries
and the train/validation split without the store's files, lock and listeners.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voicelab.core.dataset.textclean import clean_text
from voicelab.core.errors import VoiceLabError

SOURCE_STATES = ("pending", "done", "failed")
#: Minutes of usable speech a fine-tune needs to sound good (the hint below, the studio's goal).
GOOD_MINUTES = 10


class DatasetError(VoiceLabError):
    """A dataset cannot be created, opened or changed as asked."""


class DatasetDamaged(DatasetError):
    """dataset.json cannot be read; the message says how to recover the clips."""


@dataclass
class Source:
    """A recording the user added, as copied into `sources/`."""

    id: str
    file: str  # relative to the dataset folder, e.g. "sources/interview.mp3"
    original: str  # where the user's file was
    sha256: str
    duration: float = 0.0
    state: str = "pending"  # pending → done | failed
    error: str | None = None
    language: str | None = None
    next_clip: int = 1  # numbering of this source's clips; ids are never reused
    voiced: float | None = None  # seconds of speech voice activity detection found in it
    covered: float | None = None  # how many of those seconds lie inside clips (coverage.py)


@dataclass
class Clip:
    """One utterance: where it came from, what it says, and what the user decided."""

    id: str
    source: str  # Source.id
    start: float  # seconds in the source
    end: float
    text: str = ""
    words: list[tuple] = field(default_factory=list)  # (text, start, end[, probability]), source seconds
    confidence: float | None = None  # 0..1: its words' mean probability (geometric), less no-speech
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    language: str | None = None
    peak: float | None = None  # of the clip's audio, 0..1
    rms_db: float | None = None  # dBFS
    clipped: float | None = None  # share of samples at full scale
    flags: list[str] = field(default_factory=list)
    edited: bool = False  # the user changed text or boundaries: a re-run keeps it
    excluded: bool = False

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass
class NewClip:
    """What the slicer hands the store; the store gives it an id and audio."""

    start: float
    end: float
    text: str = ""
    words: list[list] = field(default_factory=list)
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    language: str | None = None


@dataclass
class Change:
    """What a listener is told after an edit: `kind` and the clip ids it touched."""

    kind: str  # "clips" (added/removed/reordered), "clip" (fields changed), "sources", "reset"
    clip_ids: tuple[str, ...] = ()


@dataclass
class Summary:
    clips: int
    usable_clips: int
    usable_seconds: float
    flagged: int
    excluded: int
    hint: str


@dataclass
class DatasetInfo:
    name: str
    path: Path
    clips: int
    usable_seconds: float
    problem: str | None = None  # why it cannot be opened, and how to recover; None if it can


def confidence_of(avg_logprob: float | None, no_speech_prob: float | None) -> float | None:
    """One 0..1 number from Whisper's two: the mean token probability, discounted by the
    chance the segment is not speech at all."""
    if avg_logprob is None:
        return None
    value = math.exp(min(0.0, float(avg_logprob)))
    if no_speech_prob is not None:
        value *= 1.0 - max(0.0, min(1.0, float(no_speech_prob)))
    return round(value, 4)


def clip_from_dict(data: dict) -> Clip:
    names = {f.name for f in dataclasses.fields(Clip)}
    clip = Clip(**{k: v for k, v in data.items() if k in names})
    clip.words = word_rows(clip.words)
    return clip


def word_rows(words) -> list[tuple]:
    """Word timings as (text, start, end) tuples: tuples of plain values drop out of the
    cyclic garbage collector's scans, and a big dataset holds hundreds of thousands of them
    (as lists they made full collections, and so the window, stall)."""
    return [tuple(w) for w in words]


def source_from_dict(data: dict) -> Source:
    names = {f.name for f in dataclasses.fields(Source)}
    return Source(**{k: v for k, v in data.items() if k in names})


def summarize(clips: Sequence[Clip]) -> Summary:
    """Counts for the summary line. Takes a list, not the dataset, so the GUI can summarize
    the clips it shows without waiting for the lock while the pipeline saves."""
    usable = [c for c in clips if not c.excluded and clean_text(c.text)]
    seconds = sum(c.duration for c in usable)
    flagged = sum(1 for c in clips if c.flags and not c.excluded)
    excluded = sum(1 for c in clips if c.excluded)
    return Summary(len(clips), len(usable), seconds, flagged, excluded, data_hint(seconds, len(usable)))


def data_hint(seconds: float, clips: int) -> str:
    """What to tell the user about the amount of data they have."""
    minutes = seconds / 60
    if clips == 0:
        return "Add recordings to start: drop audio files or a folder here."
    if minutes < 1:
        return (f"{minutes:.1f} minutes of usable speech is very little: a fine-tune needs "
                f"at least a few minutes, and {GOOD_MINUTES}+ minutes for good results.")
    if minutes < GOOD_MINUTES:
        return (f"{minutes:.1f} minutes of usable speech: enough to try, but under "
                f"~{GOOD_MINUTES} minutes the voice will sound rough. Add more recordings if you can.")
    if minutes > 600:
        return (f"{minutes / 60:.1f} hours of speech: more than a fine-tune needs; training "
                "epochs will be long, so set a step limit or raise the batch size.")
    return f"{minutes:.1f} minutes of usable speech: a good amount for a fine-tune."


def split_rows(rows: Sequence[str], share: float, seed: int) -> tuple[list[str], list[str]]:
    """Split manifest rows into train and validation, fixed by `seed`.

    Each row's place comes from a hash of the seed and its id, not from shuffling the list,
    so adding clips later does not move existing ones between the two sets.
    """
    if not rows or share <= 0:
        return list(rows), []
    count = max(1, round(len(rows) * share)) if len(rows) >= 2 else 0
    ranked = sorted(rows, key=lambda row: hashlib.sha1(f"{seed}:{row.split('|', 1)[0]}".encode()).hexdigest())
    chosen = set(ranked[:count])
    return [r for r in rows if r not in chosen], [r for r in rows if r in chosen]


def _lines(rows: Sequence[str]) -> str:
    return "".join(f"{row}\n" for row in rows)


def _reviewed(clip: Clip) -> bool:
    """A person's decision is on this clip: a re-run must leave it alone."""
    return clip.edited or clip.excluded


def _language_option(value: object) -> str | None:
    return value if isinstance(value, str) and value not in ("", "auto") else None


def _min_or_none(a: float | None, b: float | None) -> float | None:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


def _split_text(clip: Clip, at: float) -> tuple[str, str, list[list], list[list]]:
    """Divide a clip's words at a time; without word timings, divide the text by length."""
    if clip.words:
        first = [w for w in clip.words if (w[1] + w[2]) / 2 < at]
        second = [w for w in clip.words if (w[1] + w[2]) / 2 >= at]
        return (clean_text(" ".join(str(w[0]).strip() for w in first)),
                clean_text(" ".join(str(w[0]).strip() for w in second)), first, second)
    words = clip.text.split()
    share = (at - clip.start) / max(clip.duration, 1e-6)
    cut = int(round(len(words) * share))
    return " ".join(words[:cut]), " ".join(words[cut:]), [], []
