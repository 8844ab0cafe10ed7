"""English number words: cardinals, ordinals, years, decimals and money.

Piper voices are trained on words, and espeak's own number reading differs between
versions and gets money and years wrong ("$3.50" → "dollar three point five zero"). Writing
the words ourselves makes what a voice says predictable and testable.
"""

from __future__ import annotations

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}

#: Largest number read as words; beyond it digits are read one by one (phone numbers, IDs).
MAX_CARDINAL = 10**15 - 1


def _below_thousand(number: int) -> str:
    hundreds, rest = divmod(number, 100)
    words = []
    if hundreds:
        words.append(f"{_ONES[hundreds]} hundred")
    if rest:
        if rest < 20:
            words.append(_ONES[rest])
        else:
            tens, ones = divmod(rest, 10)
            words.append(_TENS[tens] + (f"-{_ONES[ones]}" if ones else ""))
    return " ".join(words)


def cardinal(number: int) -> str:
    """1234 → 'one thousand two hundred thirty-four'; negative numbers get 'minus'."""
    if number < 0:
        return "minus " + cardinal(-number)
    if number > MAX_CARDINAL:
        return digits(str(number))
    if number < 20:
        return _ONES[number]
    words = []
    for value, name in _SCALES:
        count, number = divmod(number, value)
        if count:
            words.append(f"{_below_thousand(count)} {name}")
    if number:
        words.append(_below_thousand(number))
    return " ".join(words)


def ordinal(number: int) -> str:
    """21 → 'twenty-first', 100 → 'one hundredth'."""
    words = cardinal(number)
    head, sep, last = words.rpartition(" ")
    prefix, dash, unit = last.rpartition("-")
    if unit in _ORDINAL_WORDS:
        unit = _ORDINAL_WORDS[unit]
    elif unit.endswith("y"):
        unit = unit[:-1] + "ieth"
    else:
        unit += "th"
    return head + sep + prefix + dash + unit


def digits(text: str) -> str:
    """'007' → 'zero zero seven': each digit on its own."""
    return " ".join(_ONES[int(ch)] for ch in text if ch.isdigit())


def year(number: int) -> str:
    """How years are said: 1999 → 'nineteen ninety-nine', 2005 → 'two thousand five',
    1900 → 'nineteen hundred', 2024 → 'twenty twenty-four'."""
    if not 1000 <= number <= 9999 or 2000 <= number <= 2009 or number % 1000 == 0:
        return cardinal(number)
    high, low = divmod(number, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    if low < 10:
        return f"{cardinal(high)} oh {_ONES[low]}"
    return f"{cardinal(high)} {cardinal(low)}"


def decimal(integer_part: str, fraction_part: str, negative: bool = False) -> str:
    """('3', '14') → 'three point one four'; the fraction is read digit by digit."""
    whole = cardinal(int(integer_part or "0"))
    words = f"{whole} point {digits(fraction_part)}" if fraction_part else whole
    return ("minus " + words) if negative else words


# Currency symbol → (singular, plural, minor singular, minor plural); None: no minor unit.
CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", None, None),
    "₹": ("rupee", "rupees", "paisa", "paise"),
}


def money(symbol: str, integer_part: str, fraction_part: str | None,
          scale: str | None = None) -> str:
    """('$', '3', '50') → 'three dollars and fifty cents'; ('$', '1', '5', 'million') →
    'one point five million dollars'."""
    one, many, minor_one, minor_many = CURRENCIES[symbol]
    whole = int(integer_part.replace(",", "") or "0")
    if scale:
        amount = decimal(str(whole), fraction_part or "")
        return f"{amount} {scale} {many}"
    cents: int | None = None
    if fraction_part:
        if len(fraction_part) == 2 and minor_one:
            cents = int(fraction_part)
        else:
            return f"{decimal(str(whole), fraction_part)} {many}"
    parts = []
    if whole or not cents:
        parts.append(f"{cardinal(whole)} {one if whole == 1 else many}")
    if cents:
        parts.append(f"{cardinal(cents)} {minor_one if cents == 1 else minor_many}")
    return " and ".join(parts)
