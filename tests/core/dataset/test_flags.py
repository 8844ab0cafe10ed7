"""Quality flags: each one fires on the case it names and stays quiet on a clean clip."""

from __future__ import annotations

import pytest

from voicelab.core.dataset.flags import (
    LOW_CONFIDENCE,
    FlagContext,
    compute_flags,
    describe,
    doubtful_words,
    severity,
)
from voicelab.core.dataset.records import Clip


def clip(text="A perfectly ordinary sentence here.", start=0.0, end=2.5, **fields) -> Clip:
    values = dict(confidence=0.9, rms_db=-20.0, clipped=0.0, language="en")
    values.update(fields)
    return Clip(id="c", source="s", start=start, end=end, text=text, **values)


def normal_clips(n=6):
    return [clip(f"Sentence number {w} is spoken at a normal rate.", 10 * i, 10 * i + 3.0)
            for i, w in enumerate(["one", "two", "three", "four", "five", "six"][:n])]


def flags_of(target: Clip, context: FlagContext | None = None) -> list:
    return compute_flags(normal_clips() + [target], context or FlagContext(language="en"))[-1]


def test_clean_clip_has_no_flags():
    assert flags_of(clip("Sentence number seven is spoken at a normal rate.", 0, 3.0)) == []


@pytest.mark.parametrize("target, flag", [
    (clip(end=0.6), "too_short"),
    (clip(end=13.0, text="A long sentence " * 12), "too_long"),
    (clip(clipped=0.01), "clipping"),
    (clip(rms_db=-50.0), "low_level"),
    (clip(confidence=0.2), "low_confidence"),
    (clip("Thank you for watching!"), "hallucination"),
    (clip("so so so so what"), "hallucination"),
    (clip("I think I think I think that is it"), "hallucination"),
    (clip(language="de"), "hallucination"),
    (clip("Hi.", 0, 6.0), "hallucination"),  # far too slow for this speaker
    (clip("It cost $5 at 3pm."), "spell_out"),
    (clip(""), "no_text"),
])
def test_each_flag_fires(target, flag):
    assert flag in flags_of(target)


def test_duplicates_and_excluded_ones():
    a, b = clip("The same words."), clip("the same, words")
    assert compute_flags([a, b], FlagContext()) == [["duplicate"], ["duplicate"]]
    b.excluded = True
    assert compute_flags([a, b], FlagContext()) == [[], []]


def test_order_is_worst_first_and_readable():
    found = flags_of(clip("Thank you for watching 2 times", end=0.5, confidence=0.1))
    assert found[:2] == ["hallucination", "low_confidence"]
    assert severity(found) < severity(["spell_out"]) < severity([])
    assert describe(["too_short"]) == "shorter than the minimum"


def test_doubtful_words_are_the_ones_whisper_was_unsure_of():
    heard = clip(words=[("The", 0.0, 0.2, 0.9), ("lighthouse", 0.2, 0.8, 0.31), ("stood", 0.8, 1.0, 0.5)])
    assert doubtful_words(heard) == [(1, "lighthouse", 0.31)]  # under DOUBTFUL_WORD (0.5) only
    assert doubtful_words(clip(words=[("Old", 0.0, 0.2)])) == []  # rows from before probabilities


def test_a_clip_heard_with_little_confidence_is_flagged_for_review():
    assert "low_confidence" in flags_of(clip(confidence=LOW_CONFIDENCE - 0.01))
    assert "low_confidence" not in flags_of(clip(confidence=LOW_CONFIDENCE + 0.01))
