"""Word error rate: how far what Whisper heard is from the sentence the voice was given.

Previews are scored with it, and the checkpoint ranking uses the scores, so it must not
punish differences that are not errors. Both sides are compared as lower-case words
without punctuation, with numbers and symbols spelled out the way the synthesis
normalizer speaks them: the voice read "twenty-five" while Whisper writes "25", which is
the same word. WER = (substitutions + deletions + insertions) / words in the sentence, so
it is 0 for a perfect match and can exceed 1 when the voice babbles extra words.
"""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[^\w' ]+")


def words(text: str, language: str = "en") -> list[str]:
    """Lower-case spoken words ("It's 5 o'clock!" → ["it's", "five", "o'clock"])."""
    from voicelab.core.text.normalize import normalize_text

    spoken = normalize_text(text or "", language) if text and text.strip() else ""
    spoken = spoken.lower().replace("\u2019", "'").replace("-", " ").replace("_", " ")
    spoken = _NOT_WORD.sub(" ", spoken)
    return [word.strip("'") for word in spoken.split() if word.strip("'")]


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance between two word lists (one row of the table at a time)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_word in enumerate(hypothesis, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1,
                             previous[j - 1] + (ref_word != hyp_word))
        previous = current
    return previous[-1]


def wer(reference: str, hypothesis: str, language: str = "en") -> float:
    """Word error rate of `hypothesis` against `reference` (0.0 = every word right)."""
    ref, hyp = words(reference, language), words(hypothesis, language)
    if not ref:
        return 0.0 if not hyp else float(len(hyp))
    return edit_distance(ref, hyp) / len(ref)
