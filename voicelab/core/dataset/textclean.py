"""Transcript text as it goes into a manifest, and its spoken-out form.

Transcripts are kept as spoken ("It cost $5"), because that is what the user reviews and
what Whisper heard. Two things are still done to them:

- `clean_text` makes a line that cannot break an LJSpeech manifest: `|` is the column
  separator and a newline ends the row, so both (and tabs) are replaced;
- `spoken_text` spells numbers, symbols and abbreviations out, reusing the synthesis
  normalizer, so the text the phonemizer reads in training matches what the voice will be
  asked to read later.
"""

from __future__ import annotations

import re

_BREAKERS = re.compile(r"[|\t\r\n\u2028\u2029\x0b\x0c]+")
_SPACES = re.compile(r"[ \u00a0]{2,}")


def clean_text(text: str) -> str:
    """One manifest-safe line: separators and line breaks become spaces, runs collapse."""
    line = _BREAKERS.sub(" ", text or "")
    line = _SPACES.sub(" ", line.replace("\u00a0", " "))
    return line.strip()


def spoken_text(text: str, language: str = "en") -> str:
    """`text` with numbers, symbols and abbreviations written as words (English)."""
    from voicelab.core.text.normalize import normalize_text

    return clean_text(normalize_text(clean_text(text), language))


_NEEDS_SPELLING = re.compile(r"[0-9%$€£¥&@#+=/*<>^~_\\]")


def needs_spelling_out(text: str) -> bool:
    """Whether the text holds digits or symbols a phonemizer would read badly."""
    return bool(_NEEDS_SPELLING.search(text or ""))
