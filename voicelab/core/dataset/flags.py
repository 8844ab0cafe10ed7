"""Which clips look wrong, and why: the reviewer's to-do list, worst first.

Flags are computed from what the store already knows of each clip (length, level, Whisper's
confidence, the text) plus a little context from the whole dataset (the speaker's usual
speaking rate, which texts repeat). They are recomputed on every save, so an edit that fixes
a problem clears its flag at once. A flag never excludes a clip by itself: the person
decides; the table sorts and filters by them.

Whisper's typical failures on TTS datasets are what most of these catch: text invented over
silence or music ("Thank you for watching"), a phrase repeated in a loop, a segment heard in
the wrong language, and a transcript much too long or short for its audio.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from voicelab.core.dataset.textclean import needs_spelling_out

# Worst first: the order the table sorts by and the order flags are listed in.
FLAG_LABELS: dict[str, str] = {
    "hallucination": "likely Whisper hallucination",
    "low_confidence": "low transcription confidence",
    "no_text": "no transcript",
    "clipping": "clipping (distorted peaks)",
    "too_long": "longer than the maximum",
    "too_short": "shorter than the minimum",
    "duplicate": "same text as another clip",
    "low_level": "very quiet",
    "spell_out": "digits or symbols: spell them out",
}
FLAG_ORDER = tuple(FLAG_LABELS)

LOW_LEVEL_DB = -40.0
CLIPPED_SHARE = 0.001
#: A clip whose words Whisper heard with a mean (geometric) probability under this is
#: flagged for review. With tiny.en on joe's speech (tests/core/dataset/test_confidence.py,
#: four runs, 96 clips, 41 % with a word error) it flagged 35 % of the clips, and 79 % of
#: those had errors: 69 % of the clips with errors (0.75 caught 36 %, 0.85 95 % while
#: flagging 65 %). A larger model is surer of itself and wrong less often: it flags fewer.
LOW_CONFIDENCE = 0.8
#: A word heard with a probability under this is doubtful: review shows it highlighted.
DOUBTFUL_WORD = 0.5
RATE_FACTOR = 1.9  # a clip speaking this much faster or slower than the median is suspect
STOCK_PHRASES = (
    "thank you for watching", "thanks for watching", "please subscribe", "like and subscribe",
    "subtitles by", "subtitled by", "captions by", "amara.org", "transcribed by",
    "translated by", "www.", ".com", "see you in the next video",
)


@dataclass
class FlagContext:
    min_seconds: float = 1.0
    max_seconds: float = 12.0
    language: str | None = None  # the chosen language; None = auto


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def _repeats(words: Sequence[str]) -> bool:
    """A word said 3+ times in a row, or any 2–4 word phrase said 3+ times."""
    run = 1
    for previous, word in zip(words, words[1:]):
        run = run + 1 if word == previous else 1
        if run >= 3:
            return True
    for size in (2, 3, 4):
        grams = Counter(tuple(words[i:i + size]) for i in range(len(words) - size + 1))
        if grams and max(grams.values()) >= 3:
            return True
    return False


def _rate(clip) -> float | None:
    letters = len(re.sub(r"\W", "", clip.text))
    return letters / clip.duration if clip.duration > 0.2 and letters else None


def compute_flags(clips: Sequence, context: FlagContext) -> list[list[str]]:
    """The flags of each clip, in `FLAG_ORDER`, as a list parallel to `clips`."""
    rates = [r for r in (_rate(c) for c in clips) if r is not None]
    median_rate = statistics.median(rates) if len(rates) >= 5 else None
    texts = Counter(" ".join(_words(c.text)) for c in clips if not c.excluded and c.text.strip())
    result: list[list[str]] = []
    for clip in clips:
        found = set()
        text = clip.text.strip()
        lowered = text.lower()
        words = _words(text)
        if not text:
            found.add("no_text")
        else:
            rate = _rate(clip)
            if (_repeats(words) or any(p in lowered for p in STOCK_PHRASES)
                    or (context.language and clip.language and clip.language != context.language)
                    or (median_rate and rate and not median_rate / RATE_FACTOR <= rate <= median_rate * RATE_FACTOR)):
                found.add("hallucination")
            if needs_spelling_out(text):
                found.add("spell_out")
            if not clip.excluded and texts[" ".join(words)] > 1:
                found.add("duplicate")
        if clip.confidence is not None and clip.confidence < LOW_CONFIDENCE:
            found.add("low_confidence")
        if clip.duration < context.min_seconds:
            found.add("too_short")
        if clip.duration > context.max_seconds:
            found.add("too_long")
        if clip.clipped is not None and clip.clipped >= CLIPPED_SHARE:
            found.add("clipping")
        if clip.rms_db is not None and clip.rms_db < LOW_LEVEL_DB:
            found.add("low_level")
        result.append([flag for flag in FLAG_ORDER if flag in found])
    return result


def doubtful_words(clip) -> list[tuple[int, str, float]]:
    """(index in `clip.words`, text, probability) of the words Whisper was least sure of.

    Word rows carry a probability as their fourth value (clips made before that have none,
    and so no doubtful words)."""
    return [(index, str(row[0]), float(row[3])) for index, row in enumerate(clip.words)
            if len(row) > 3 and row[3] is not None and float(row[3]) < DOUBTFUL_WORD]


def severity(flags: Sequence[str]) -> int:
    """A sort key: lower is worse; clips without flags sort last."""
    return min((FLAG_ORDER.index(f) for f in flags if f in FLAG_ORDER), default=len(FLAG_ORDER))


def describe(flags: Sequence[str]) -> str:
    return "; ".join(FLAG_LABELS.get(f, f) for f in flags)
