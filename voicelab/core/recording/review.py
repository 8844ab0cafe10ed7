"""A stopped take, judged: its file put in place, its level checked, its words heard.

`review_take` is what runs after every take, in the studio's worker thread and in the
terminal alike, so both tell a person the same things. The order matters: the file is
made permanent first (a crash during the checks loses nothing), the level checks come
next (milliseconds), and Whisper only hears takes the level checks did not refuse: a
clipped take is refused whatever was said, and the person hears so a second sooner.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicelab.core.progress import CancelToken
from voicelab.core.recording.checks import Problem, TakeCheck, check_take
from voicelab.core.recording.recorder import Take
from voicelab.core.recording.take_writer import read_take
from voicelab.core.recording.words import WordCheck, compare_words, hear, unchecked


@dataclass
class TakeResult:
    """A take and what was found in it."""

    prompt: str
    samples: np.ndarray
    rate: int
    check: TakeCheck
    words: WordCheck | None = None
    path: Path | None = None  # the take's file in takes/ (None: a test recording)

    @property
    def refused(self) -> bool:
        return self.check.refused

    @property
    def mismatched(self) -> bool:
        return self.words is not None and self.words.mismatched

    @property
    def flagged(self) -> bool:
        return self.check.flagged or self.mismatched

    def messages(self) -> list[str]:
        """What to fix, worst first: refusals, then flags, then the word check."""
        found = [p.message for p in self.check.problems if p.refuses]
        found += [p.message for p in self.check.problems if not p.refuses]
        if self.words is not None and (self.words.mismatched or not self.words.checked):
            found.append(self.words.message())
        return found

    def kept_samples(self) -> np.ndarray:
        """The span that becomes the clip (speech and padding)."""
        first = int(self.check.keep_start * self.rate)
        last = int(self.check.keep_end * self.rate)
        return self.samples[first:last] if last > first else self.samples


class Hearing:
    """Whisper for the word check, loaded on first use and kept (it takes seconds to load).

    A missing model, or an English-only model asked to hear another language, is not an
    error: the take is checked without its words, and the note says how to get them checked.
    """

    def __init__(self, workspace=None, options=None) -> None:
        self.workspace = workspace
        self.options = options
        self._transcriber = None

    def _load(self):
        from voicelab.core.dataset.asr import ASROptions
        from voicelab.core.dataset.transcribers import load_transcriber

        if self._transcriber is None:
            options = self.options
            if options is None:
                settings = getattr(self.workspace, "settings", None)
                options = ASROptions.from_settings(settings) if settings is not None else ASROptions()
            # One short take fills a fraction of one window: the plain decoder suits it, and
            # greedy decoding (beam 1) is enough to tell whether a known sentence was read;
            # it hears a take in a third of the time beam 5 takes, so the verdict is quick.
            self._transcriber = load_transcriber(
                dataclasses.replace(options, batched=False, beam_size=1), self.workspace)
        return self._transcriber

    def load(self, progress=None, cancel=None) -> str:
        """Load the model now (a job when the studio opens, so the first take is not kept
        waiting); returns "" or why words will not be checked."""
        from voicelab.core.dataset.asr import ASRError

        try:
            self._load()
        except ASRError as exc:
            return f"Words will not be checked: {exc}"
        return ""

    def check(self, prompt: str, samples: np.ndarray, rate: int, language: str | None,
              cancel: CancelToken | None = None) -> WordCheck:
        from voicelab.core.dataset.asr import ASRError

        try:
            transcriber = self._load()
        except ASRError as exc:
            return unchecked(prompt, f"Words not checked: {exc}")
        english_only = getattr(transcriber, "multilingual", True) is False
        if english_only and language and not language.startswith("en"):
            return unchecked(prompt, "Words not checked: the chosen Whisper model knows only "
                                     "English. Choose a multilingual one (small, base) in Settings.")
        try:
            heard = hear(transcriber, samples, rate, language, cancel)
        except ASRError as exc:
            return unchecked(prompt, f"Words not checked: {exc}")
        return compare_words(prompt, heard, language)


def review_take(take: Take, prompt: str, *, room_noise_db: float | None = None,
                hearing: Hearing | None = None, language: str | None = None,
                progress=None, cancel: CancelToken | None = None) -> TakeResult:
    """Commit the take's file, check its level, and (if not refused) hear its words.

    `progress` and `cancel` make it a worker job; `Cancelled` leaves the take's file kept.
    """
    path = take.commit()
    check = check_take(take.samples, take.rate, room_noise_db)
    if take.dropped:
        check.problems.insert(0, Problem(
            "dropped", "Part of the take was lost: the computer did not keep up with the "
            "microphone. Close other busy programs, then record it again.", True))
    result = TakeResult(prompt, take.samples, take.rate, check, path=path)
    if progress is not None:
        progress(1, 2, "Listening to the take")
    if hearing is not None and not check.refused:
        result.words = hearing.check(prompt, result.kept_samples(), take.rate, language, cancel)
    return result


def review_file(path: Path, prompt: str, *, room_noise_db: float | None = None,
                hearing: Hearing | None = None, language: str | None = None,
                progress=None, cancel: CancelToken | None = None) -> TakeResult:
    """Review a take already on disk (one left from an earlier session)."""
    samples, rate = read_take(path)
    result = review_take(Take(samples, rate), prompt, room_noise_db=room_noise_db,
                         hearing=hearing, language=language, progress=progress, cancel=cancel)
    result.path = Path(path)
    return result
