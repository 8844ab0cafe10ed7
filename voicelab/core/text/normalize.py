"""`normalize_text`: write out what a voice cannot read as it stands.

Numbers, money, percentages, times, abbreviations and symbols (English rules; other
languages get the language-neutral clean-up only and leave numbers to espeak). Expanding
"Dr." and "3.50" before text is cut into sentences is what keeps their periods from ending
a sentence (sentences.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from re import Match

from voicelab.core.text import numbers
from voicelab.core.text.characters import language_code

_TYPOGRAPHY = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"', "\u2033": '"',
    "\u2026": "...", "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u2009": " ", "\u200a": " ",
    "\u2022": "\n", "\u25cf": "\n", "\u25aa": "\n",  # bullets start a new sentence
    "\u2212": "-", "\u2010": "-", "\u2011": "-",
}
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = text.translate(_INVISIBLE)
    out = []
    for ch in text:
        if ch in _TYPOGRAPHY:
            out.append(_TYPOGRAPHY[ch])
        elif ch in "\r\n\t":
            out.append("\n" if ch != "\t" else " ")
        elif unicodedata.category(ch) == "Cc":
            out.append(" ")
        elif unicodedata.category(ch) == "Nd" and not ch.isascii():
            out.append(str(unicodedata.digit(ch)))  # Arabic-Indic, fullwidth… digits
        else:
            out.append(ch)
    text = "".join(out)
    # Dashes: a range between numbers reads "to"; a spaced or doubled dash is a pause.
    text = re.sub(r"(?<=\d)\s?[\u2013\u2014]\s?(?=\d)", " to ", text)
    text = re.sub(r"\s*(?:[\u2013\u2014]|--+)\s*", ", ", text)
    return text


# --------------------------------------------------------------------------- abbreviations

# Before a name: the period never ends a sentence ("Dr. Smith" → "Doctor Smith").
_TITLES = {
    "Mr": "Mister", "Mrs": "Missus", "Ms": "Miz", "Dr": "Doctor", "Prof": "Professor",
    "St": "Saint", "Mt": "Mount", "Ft": "Fort", "Gen": "General", "Gov": "Governor",
    "Sen": "Senator", "Rep": "Representative", "Capt": "Captain", "Lt": "Lieutenant",
    "Col": "Colonel", "Sgt": "Sergeant", "Rev": "Reverend", "Hon": "Honorable",
    "Pres": "President", "Messrs": "Messieurs",
}
# After a word: the period may also end the sentence ("on Main St." → "on Main Street.").
_TRAILING = {
    "St": "Street", "Dr": "Drive", "Ave": "Avenue", "Rd": "Road", "Blvd": "Boulevard",
    "Ln": "Lane", "Hwy": "Highway", "Jr": "Junior", "Sr": "Senior", "Inc": "Incorporated",
    "Ltd": "Limited", "Co": "Company", "Corp": "Corporation", "Bros": "Brothers",
    "etc": "et cetera", "Etc": "Et cetera",
}
# Mid-sentence only: never taken as a sentence end.
_INLINE = {
    "e.g.": "for example", "E.g.": "For example", "i.e.": "that is", "I.e.": "That is",
    "vs.": "versus", "Vs.": "Versus", "approx.": "approximately", "Approx.": "Approximately",
    "dept.": "department", "Dept.": "Department", "misc.": "miscellaneous",
}
_MONTHS = {
    "Jan": "January", "Feb": "February", "Mar": "March", "Apr": "April", "Jun": "June",
    "Jul": "July", "Aug": "August", "Sep": "September", "Sept": "September",
    "Oct": "October", "Nov": "November", "Dec": "December",
}
_ENDS_SENTENCE = r"(?=\s*$|\s+[\"'(]?[A-Z])"


def _title(match: Match[str]) -> str:
    short = match.group(1)
    if short in _TRAILING:  # "Elm Dr. Smith…" is a street; "met Dr. Smith" a title
        before = match.string[:match.start()].rstrip().rsplit(" ", 1)[-1]
        if before[:1].isupper() and not before.endswith((".", "!", "?", ":", '"')):
            return match.group(0)
    return _TITLES[short]


def _expand_abbreviations(text: str) -> str:
    text = re.sub(r"\b(Mr|Mrs|Ms|Prof|Messrs)\.", lambda m: _TITLES[m.group(1)], text)
    titles = "|".join(sorted(_TITLES, key=len, reverse=True))
    text = re.sub(rf"\b({titles})\.?(?=\s+[A-Z])", _title, text)
    trailing = "|".join(sorted(_TRAILING, key=len, reverse=True))
    text = re.sub(rf"\b({trailing})\.{_ENDS_SENTENCE}", lambda m: _TRAILING[m.group(1)] + ".", text)
    text = re.sub(rf"\b({trailing})\.", lambda m: _TRAILING[m.group(1)], text)
    for short, long in _INLINE.items():
        text = re.sub(rf"(?<![\w.]){re.escape(short)}", long, text)
    text = re.sub(r"\b[Nn]o\.\s?(?=\d)", lambda m: "Number " if m.group(0)[0] == "N" else "number ", text)
    text = re.sub(r"#\s?(?=\d)", "number ", text)
    months = "|".join(sorted(_MONTHS, key=len, reverse=True))
    text = re.sub(rf"\b({months})\.(?=\s+\d)", lambda m: _MONTHS[m.group(1)], text)
    # Dotted acronyms ("U.S.", "a.m.") lose their dots; they end a sentence only at the end.
    text = re.sub(r"\b([aApP])\.?[mM]\.(?=\s*$)", lambda m: m.group(1).upper() + "M.", text)
    text = re.sub(r"(?<=\d)\s?([aApP])\.?[mM]\.?(?![\w.])", lambda m: " " + m.group(1).upper() + "M", text)
    text = re.sub(r"\b((?:[A-Z]\.){2,})(?=\s*$)", lambda m: " ".join(m.group(1).split(".")).strip() + ".", text)
    text = re.sub(r"\b((?:[A-Z]\.){2,})", lambda m: " ".join(m.group(1).split(".")).strip(), text)
    return text


# --------------------------------------------------------------------------- numbers

_INT = r"(\d{1,3}(?:,\d{3})+|\d+)"  # 1234 or 1,234
_NOT_AFTER = r"(?<![\w.,])"
_NOT_BEFORE = r"(?![\w]|[.,]\d)"
_SCALE_WORDS = {"k": "thousand", "m": "million", "mn": "million", "bn": "billion",
                "thousand": "thousand", "million": "million", "billion": "billion",
                "trillion": "trillion"}
_CURRENCY = "".join(re.escape(c) for c in numbers.CURRENCIES)


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _number_words(integer: str, fraction: str | None, negative: bool = False, *,
                  years: bool = False) -> str:
    if fraction:
        return numbers.decimal(integer.replace(",", ""), fraction, negative)
    if "," not in integer and len(integer) > 1 and integer.startswith("0"):
        return numbers.digits(integer)  # 007, 0800: read digit by digit
    value = _int(integer)
    if years and "," not in integer and not negative and 1100 <= value <= 2099:
        words = numbers.year(value)
    else:
        words = numbers.cardinal(value)
    return ("minus " + words) if negative else words


def _money(match: Match[str]) -> str:
    negative, symbol, integer, fraction, scale = match.groups()
    words = numbers.money(symbol, integer, fraction, _SCALE_WORDS[scale.lower()] if scale else None)
    return ("minus " + words) if negative else words


def _time(match: Match[str]) -> str:
    hour, minute, meridiem = int(match.group(1)), int(match.group(2)), match.group(3)
    words = numbers.cardinal(hour)
    if minute == 0:
        words += "" if meridiem else " o'clock"
    elif minute < 10:
        words += " oh " + numbers.cardinal(minute)
    else:
        words += " " + numbers.cardinal(minute)
    if meridiem:
        words += " " + meridiem[0].upper() + "M"
    return words


def _plural(words: str) -> str:
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def _decade(match: Match[str]) -> str:
    value = int(match.group(1))
    if value < 100:  # '90s, 80s
        return _plural(numbers.cardinal(value))
    return _plural(numbers.year(value))


_NUMBER_RULES: Sequence[tuple] = (
    # $3.50, -$5, €1.5 million, $10k
    (re.compile(rf"{_NOT_AFTER}(-)?([{_CURRENCY}])\s?{_INT}(?:\.(\d+))?"
                rf"(?:\s?(thousand|million|billion|trillion|bn|mn|k|m)\b)?", re.IGNORECASE), _money),
    # 45%, 3.5 %
    (re.compile(rf"{_NOT_AFTER}(-)?{_INT}(?:\.(\d+))?\s?%"),
     lambda m: _number_words(m.group(2), m.group(3), bool(m.group(1))) + " percent"),
    # 10:30, 9:05 pm
    (re.compile(r"(?<![\w:])(\d{1,2}):([0-5]\d)(?::[0-5]\d)?(?:\s?([aApP])[mM]\b)?(?![\w:])"), _time),
    # 1st, 22nd, 103rd, 4th
    (re.compile(rf"{_NOT_AFTER}{_INT}(st|nd|rd|th)\b", re.IGNORECASE),
     lambda m: numbers.ordinal(_int(m.group(1)))),
    # 1990s, '90s
    (re.compile(r"(?<![\w.,])(1[1-9]\d0|20\d0)'?s\b"), _decade),
    (re.compile(r"(?<![\w.,])'?([1-9]0)'?s\b"), _decade),
    # 2½
    (re.compile(r"(\d+)\s?([½¼¾⅓⅔])"),
     lambda m: f"{numbers.cardinal(int(m.group(1)))} and {_FRACTIONS_AFTER[m.group(2)]}"),
    # -12.5, 3.14, 1,234,567, 1999, 42
    (re.compile(rf"(?:(?<=\s)|(?<=^)|(?<=[(\[]))(-)(?=\d){_INT}(?:\.(\d+))?{_NOT_BEFORE}"),
     lambda m: _number_words(m.group(2), m.group(3), True)),
    (re.compile(rf"{_NOT_AFTER}{_INT}(?:\.(\d+))?{_NOT_BEFORE}"),
     lambda m: _number_words(m.group(1), m.group(2), years=True)),
)

_FRACTIONS_AFTER = {"½": "a half", "¼": "a quarter", "¾": "three quarters",
                    "⅓": "a third", "⅔": "two thirds"}

# --------------------------------------------------------------------------- symbols

_SYMBOLS: dict[str, str] = {
    "&": " and ", "@": " at ", "+": " plus ", "=": " equals ", "%": " percent ",
    "×": " times ", "÷": " divided by ", "½": " one half ", "¼": " one quarter ",
    "¾": " three quarters ", "⅓": " one third ", "⅔": " two thirds ", "²": " squared ",
    "³": " cubed ", "©": " copyright ", "®": "", "™": "", "§": " section ", "¶": " paragraph ",
    "°": " degrees ", "±": " plus or minus ", "≈": " about ", "≠": " not equal to ",
    "≤": " less than or equal to ", "≥": " greater than or equal to ", "→": " to ",
    "*": " ", "_": " ", "~": " about ",
}


def _replace_symbols(text: str) -> str:
    text = re.sub(r"°\s?C\b", " degrees Celsius", text)
    text = re.sub(r"°\s?F\b", " degrees Fahrenheit", text)
    for symbol, words in _SYMBOLS.items():
        if symbol in text:
            text = text.replace(symbol, words)
    return text


def _tidy_spaces(text: str) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r" +([,.;:!?])", r"\1", text)
    text = re.sub(r",(\s*,)+", ",", text)
    return text.strip()


def normalize_text(text: str, language: str = "en") -> str:
    """Text as a voice should read it: numbers, money, abbreviations and symbols as words.

    Line breaks are kept (they matter for sentence splitting). For languages other than
    English only typography, invisible characters and spacing are cleaned.
    """
    text = _clean(text)
    if language_code(language) == "en":
        text = _expand_abbreviations(text)
        for pattern, replace in _NUMBER_RULES:
            text = pattern.sub(replace, text)
        text = _replace_symbols(text)
    text = unicodedata.normalize("NFKC", text)  # fullwidth letters, ligatures
    return _tidy_spaces(text)
