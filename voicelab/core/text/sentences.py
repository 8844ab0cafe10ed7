"""`split_sentences`: cut text into sentences, so synthesis can stream one at a time and the
first one plays while the rest are made."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: A sentence longer than this is cut at a comma or space; long inputs cost latency and memory.
MAX_SENTENCE_CHARS = 400

_BOUNDARY = re.compile(r"([.!?]+[\"')\]]*)(\s+)")


def _blocks(text: str) -> Iterable[str]:
    """Lines joined into runs of prose: a line break ends a sentence unless the next line
    starts in lower case (a hard-wrapped paragraph) or the line ends with a comma."""
    current: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            if current:
                yield " ".join(current)
                current = []
            continue
        if current and not (line[0].islower() or current[-1][-1] in ",;:-"):
            yield " ".join(current)
            current = []
        current.append(line)
    if current:
        yield " ".join(current)


def _split_block(block: str) -> Iterable[str]:
    start = 0
    for match in _BOUNDARY.finditer(block):
        following = block[match.end():match.end() + 1]
        if following and following.islower():
            continue  # "... and so on" or an abbreviation we did not know
        before = block[start:match.start(1)].rsplit(" ", 1)[-1]
        if match.group(1) == "." and len(before) == 1 and before.isupper():
            continue  # an initial: "J. K. Rowling"
        yield block[start:match.end(1)]
        start = match.end()
    yield block[start:]


def _cut_long(sentence: str, max_chars: int) -> Iterable[str]:
    while len(sentence) > max_chars:
        window = sentence[:max_chars]
        cut = max(window.rfind(", "), window.rfind("; "), window.rfind(": "))
        if cut < max_chars // 3:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = max_chars - 1
        yield sentence[:cut + 1].strip()
        sentence = sentence[cut + 1:].strip()
    if sentence:
        yield sentence


def is_speakable(text: str) -> bool:
    """True when the text holds at least one letter or digit."""
    return any(ch.isalnum() for ch in text)


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Sentences in reading order; pieces with no letter or digit ("...", "!!!") are dropped."""
    sentences: list[str] = []
    for block in _blocks(text):
        for sentence in _split_block(block):
            for piece in _cut_long(sentence.strip(), max_chars):
                if is_speakable(piece):
                    sentences.append(piece)
    return sentences
