"""Which characters a voice can say, judged from its language.

An espeak voice does not fail on a character outside its language: it spells it out by
name ("Chinese letter", "Cyrillic small letter pe", "grinning face"), which is never what
the user wanted. So characters are checked before synthesis and the user is told which
ones, by name, instead. A letter's script is the first word of its Unicode name
("LATIN SMALL LETTER E WITH ACUTE" → LATIN), which needs no extra dependency.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# Scripts espeak reads natively, by language; every other language is written in Latin.
# Non-Latin languages also accept Latin letters, which espeak reads as English.
_SCRIPTS: dict[str, frozenset[str]] = {}
for _codes, _names in (
    ("ru uk bg be mk sr kk ky tt ba cv mn tg", {"CYRILLIC"}),
    ("el grc", {"GREEK"}),
    ("ar fa ur ps sd ug", {"ARABIC"}),
    ("he", {"HEBREW"}),
    ("hi mr ne sa kok bh", {"DEVANAGARI"}),
    ("bn as bpy", {"BENGALI"}),
    ("pa", {"GURMUKHI"}), ("gu", {"GUJARATI"}), ("or", {"ORIYA"}), ("ta", {"TAMIL"}),
    ("te", {"TELUGU"}), ("kn", {"KANNADA"}), ("ml", {"MALAYALAM"}), ("si", {"SINHALA"}),
    ("th", {"THAI"}), ("lo", {"LAO"}), ("my", {"MYANMAR"}), ("ka", {"GEORGIAN"}),
    ("hy hyw", {"ARMENIAN"}), ("am", {"ETHIOPIC"}),
    ("zh cmn yue hak", {"CJK"}), ("ja", {"CJK", "HIRAGANA", "KATAKANA"}),
    ("ko", {"HANGUL", "CJK"}),
):
    for _code in _codes.split():
        _SCRIPTS[_code] = frozenset(_names | {"LATIN"})
_LATIN_ONLY = frozenset({"LATIN"})
_LETTER_EXCEPTIONS = {"ª", "º"}


def language_code(language: str) -> str:
    """'en' for 'en-us', 'en_GB' or 'EN'."""
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] if language else ""


def scripts_for_language(language: str) -> frozenset[str]:
    """Unicode script names (first word of a letter's name) a voice of `language` reads."""
    return _SCRIPTS.get(language_code(language), _LATIN_ONLY)


def unsupported_characters(text: str, language: str) -> list[str]:
    """Characters of `text` a voice for `language` cannot say, in order of appearance.

    Letters of another script and non-ASCII symbols (emoji, arrows, math signs that
    `normalize_text` did not write out) count; ASCII punctuation and symbols do not.
    """
    scripts = scripts_for_language(language)
    found: dict[str, None] = {}
    for ch in text:
        if ch in found or ch.isascii() or ch.isspace():
            continue
        category = unicodedata.category(ch)
        if category[0] == "L" and category != "Lm":
            script = unicodedata.name(ch, "").split(" ", 1)[0]
            if script not in scripts and ch not in _LETTER_EXCEPTIONS:
                found[ch] = None
        elif category[0] == "S" or category in ("Co", "Cn", "Cs", "No"):
            found[ch] = None
    return list(found)


def describe_characters(chars: Sequence[str], limit: int = 8) -> str:
    """'"你" (CJK UNIFIED IDEOGRAPH-4F60), "😀" (GRINNING FACE)' for an error message."""
    shown = [f'"{ch}" ({unicodedata.name(ch, f"U+{ord(ch):04X}")})' for ch in chars[:limit]]
    more = f" and {len(chars) - limit} more" if len(chars) > limit else ""
    return ", ".join(shown) + more
