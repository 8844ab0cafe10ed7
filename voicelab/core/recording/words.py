"""Did the person say the prompt? Whisper hears the take; its words are lined up with the prompt's.

A take whose words differ from its transcript teaches the voice wrong sounds, and people
misread prompts more often than they think (a skipped "the", "house" for "horse"). The
prompt's words that were not heard are returned by position, so the studio can highlight
them where the person reads.

Whisper makes its own small mistakes, so a take is flagged (not refused) and only when
more than one word differs, or a third of a short prompt: the person listens and decides.
Both texts are compared as spoken words (numbers and abbreviations spelled out for
English, `textclean.spoken_text`), lower case, without punctuation; near spellings
("colour"/"color", "realise"/"realize") count as the same word, near words ("house" and
"horse") do not.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from voicelab.core.progress import CancelToken

#: Two words this similar (difflib's ratio) are the same word spelled differently.
SAME_WORD = 0.85
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


@dataclass
class WordCheck:
    """The prompt's words against what was heard."""

    heard: str
    tokens: list[str]  # the prompt split at spaces, as shown to the person
    missed: list[int] = field(default_factory=list)  # indices into `tokens` not heard
    extra: list[str] = field(default_factory=list)  # words heard in addition to the prompt's
    checked: bool = True
    note: str = ""  # why the words were not checked, when they were not

    @property
    def errors(self) -> int:
        return len(self.missed) + len(self.extra)

    @property
    def mismatched(self) -> bool:
        if not self.checked:
            return False
        spoken = sum(1 for t in self.tokens if _WORD.search(t))
        return self.errors >= 2 or (self.errors >= 1 and self.errors * 3 > spoken)

    def message(self) -> str:
        if not self.checked:
            return self.note
        missed = " ".join(self.tokens[i] for i in self.missed)
        parts = []
        if missed:
            parts.append(f"not heard: “{missed}”")
        if self.extra:
            parts.append(f"heard as well: “{' '.join(self.extra)}”")
        return ("The words do not match the prompt (" + "; ".join(parts) + "). Read it again as "
                "written, or keep it if Whisper misheard.")


def words_of(text: str, language: str | None = None) -> list[str]:
    """Lower-case spoken words of `text`, without punctuation."""
    if language in (None, "", "en") or str(language).startswith("en"):
        from voicelab.core.dataset.textclean import spoken_text

        text = spoken_text(text, "en")
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    return [w.strip("'") for w in _WORD.findall(text.replace("-", " ")) if w.strip("'")]


def _same(a: str, b: str) -> bool:
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= SAME_WORD


def compare_words(prompt: str, heard: str, language: str | None = None) -> WordCheck:
    """Line the heard words up with the prompt's (see the module docstring)."""
    tokens = prompt.split()
    expected: list[tuple[str, int]] = [(w, i) for i, token in enumerate(tokens)
                                       for w in words_of(token, language)]
    got = words_of(heard, language)
    result = WordCheck(heard=heard.strip(), tokens=tokens)
    missed = set()
    matcher = difflib.SequenceMatcher(None, [w for w, _ in expected], got, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            continue
        wanted, said = expected[a1:a2], got[b1:b2]
        for offset in range(max(len(wanted), len(said))):
            if offset >= len(wanted):  # said more than the prompt has here
                result.extra.append(said[offset])
            elif offset >= len(said) or not _same(wanted[offset][0], said[offset]):
                missed.add(wanted[offset][1])  # left out, or another word said in its place
    result.missed = sorted(missed)
    return result


def unchecked(prompt: str, note: str) -> WordCheck:
    """A take whose words could not be checked (no Whisper model, a language it lacks)."""
    return WordCheck(heard="", tokens=prompt.split(), checked=False, note=note)


def hear(transcriber, samples: np.ndarray, rate: int, language: str | None,
         cancel: CancelToken | None = None) -> str:
    """What Whisper hears in float mono `samples` at `rate` (resampled to its 16 kHz)."""
    from voicelab.core.audio import resample
    from voicelab.core.dataset.asr import ASR_RATE

    audio = resample(np.asarray(samples, dtype=np.float32), rate, ASR_RATE)
    transcript = transcriber.transcribe(audio, language=language or "auto", cancel=cancel)
    return transcript.text
