"""Is a take usable? Level, clipping, background noise and cut-offs, told as what to fix.

A person reads hundreds of prompts; a bad take caught at once costs a few seconds, one
found at training time costs the voice. So every take is measured the moment it stops,
and each problem is a sentence that says what to change (move closer, turn the gain down,
wait a beat before speaking). Problems that make a take useless for training *refuse* it
(it cannot be kept); the rest only *flag* it, and the person decides.

The measurements work on 20 ms frames: speech is where the level stands clearly above
the noise floor (at least `MIN_RUN` frames in a row, so a click is not a word); the noise
floor is the level of the silence before speaking (the signal-to-noise ratio a person
can act on: a fan, a street), else the studio's room check, else the quietest frames.
The kept span is the speech plus `PADDING` seconds each side, so a clip starts and ends
in a little silence, as Piper's training data does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from voicelab.core.recording.recorder import CLIP_LEVEL, SILENT_DB, to_db

FRAME_S = 0.02
MIN_RUN = 3  # frames of speech in a row (60 ms): shorter bursts are clicks and taps
#: Speech starts this far above the noise floor …
SPEECH_OVER_NOISE_DB = 12.0
#: … and never below this level, however silent the room; found speech reaches out to
#: softer sounds this much above the noise (see `_extent`).
SPEECH_FLOOR_DB = -55.0
EDGE_OVER_NOISE_DB = 6.0
GAP_S = 0.3  # a pause inside a sentence is shorter than this
PADDING = 0.2
#: Speech ending closer than this to an edge of the take was cut off there.
EDGE_S = 0.06
TOO_QUIET_DB = -38.0  # speech level (RMS of its frames) below this is refused
QUIET_WARN_DB = -30.0
NOISY_DB = 15.0  # signal-to-noise below this is refused …
NOISE_WARN_DB = 25.0  # … and below this flagged
#: Samples at full scale: more than this share of the take (or a few in a row) is clipping.
CLIPPED_SHARE = 0.0002
CLIPPED_MIN = 5
MIN_SPEECH_S = 0.3
ROOM_CHECK_S = 5.0
QUIET_ROOM_DB = -55.0  # room noise below this is quiet …
NOISY_ROOM_DB = -45.0  # … and above this too noisy for a clean voice


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a take: a code for tests and tools, a sentence for the person."""

    code: str  # no_speech, too_quiet, clipped, noisy, cut_start, cut_end, quiet, some_noise, words
    message: str
    refuses: bool


@dataclass
class TakeCheck:
    """What was measured in a take and what is wrong with it."""

    duration: float
    speech_start: float | None = None  # seconds into the take; None: no speech heard
    speech_end: float | None = None
    keep_start: float = 0.0  # the span kept as the clip: speech with PADDING
    keep_end: float = 0.0
    speech_db: float = SILENT_DB
    peak_db: float = SILENT_DB
    noise_db: float = SILENT_DB
    clipped_samples: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def snr_db(self) -> float:
        return self.speech_db - self.noise_db

    @property
    def refused(self) -> bool:
        return any(p.refuses for p in self.problems)

    @property
    def flagged(self) -> bool:
        return any(not p.refuses for p in self.problems)

    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    def figures(self) -> str:
        """The numbers, for the status line: '3.1 s of speech, −21 dBFS, 43 dB above the noise'."""
        if self.speech_start is None:
            return f"{self.duration:.1f} s, nothing heard"
        return (f"{self.speech_end - self.speech_start:.1f} s of speech at {self.speech_db:.0f} dBFS, "
                f"{self.snr_db:.0f} dB above the noise")


def frame_levels(samples: np.ndarray, rate: int) -> np.ndarray:
    """The level (dBFS, RMS) of each whole 20 ms frame."""
    size = max(1, int(rate * FRAME_S))
    count = len(samples) // size
    if count == 0:
        return np.zeros(0)
    frames = np.asarray(samples[:count * size], dtype=np.float64).reshape(count, size)
    power = np.mean(frames * frames, axis=1)
    return 10 * np.log10(np.maximum(power, 10 ** (SILENT_DB / 10)))


@dataclass(frozen=True)
class RoomCheck:
    """The room's noise, measured before the first prompt with the person silent."""

    noise_db: float
    loudest_db: float
    message: str
    usable: bool  # False: measure again (something loud was heard) or find a quieter room
    interrupted: bool = False  # something loud was heard: the figure is not the room's


def judge_room(samples: np.ndarray, rate: int) -> RoomCheck:
    """The room's noise floor (the mean power of its quieter 90 % of frames) and a verdict."""
    levels = frame_levels(np.asarray(samples, dtype=np.float32).reshape(-1), rate)
    if not len(levels):
        return RoomCheck(SILENT_DB, SILENT_DB, "Nothing was recorded; check the microphone.",
                         False, True)
    noise = _mean_db(levels[levels <= np.percentile(levels, 90)])
    loudest = float(np.max(levels))
    if loudest > noise + 20 and loudest > QUIET_ROOM_DB:
        return RoomCheck(noise, loudest, "Something loud was heard during the room check (a voice, "
                         "a knock): stay silent for the whole check and run it again.", False, True)
    if noise > NOISY_ROOM_DB:
        return RoomCheck(noise, loudest, f"Noisy room ({noise:.0f} dBFS): many takes will be refused "
                         "for background noise. Switch off fans, close the window, or find a quieter "
                         "room.", False)
    if noise > QUIET_ROOM_DB:
        return RoomCheck(noise, loudest, f"Some background noise ({noise:.0f} dBFS): usable, though "
                         "a quieter room makes a cleaner voice.", True)
    return RoomCheck(noise, loudest, f"Quiet room ({noise:.0f} dBFS): good.", True)


def _runs(mask: np.ndarray, minimum: int) -> list[tuple]:
    """(first, last+1) of each run of True at least `minimum` long."""
    runs, start = [], None
    for index, value in enumerate(np.append(mask, False)):
        if value and start is None:
            start = index
        elif not value and start is not None:
            if index - start >= minimum:
                runs.append((start, index))
            start = None
    return runs


def _extent(levels: np.ndarray, runs: list[tuple], soft: float) -> tuple:
    """First and last frame of the speech: the loud runs, reaching out to softer sounds (an
    "s", a breathy "h", a word's fading end) that lie above `soft` within `GAP_S` of them."""
    gap = int(GAP_S / FRAME_S)
    first, last = runs[0][0], runs[-1][1]
    quieter = _runs(levels > soft, MIN_RUN)
    for start, end in reversed(quieter):
        if start < first and end >= first - gap:
            first = start
    for start, end in quieter:
        if end > last and start <= last + gap:
            last = end
    return first, last


def _mean_db(levels: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(10 ** (levels / 10)))) if len(levels) else SILENT_DB


def check_take(samples: np.ndarray, rate: int, room_noise_db: float | None = None) -> TakeCheck:
    """Measure a take and list its problems (see the module docstring)."""
    audio = np.asarray(samples, dtype=np.float32).reshape(-1)
    duration = len(audio) / rate if rate else 0.0
    check = TakeCheck(duration=duration, keep_end=duration)
    if not len(audio):
        check.problems.append(Problem("no_speech", "Nothing was recorded. Check that the right "
                                      "microphone is chosen and not muted.", True))
        return check
    check.peak_db = to_db(float(np.max(np.abs(audio))))
    levels = frame_levels(audio, rate)
    floor = float(np.percentile(levels, 10)) if len(levels) else SILENT_DB
    if room_noise_db is not None:  # a take with no silence in it still finds its speech
        floor = min(floor, room_noise_db)
    threshold = max(floor + SPEECH_OVER_NOISE_DB, SPEECH_FLOOR_DB)
    runs = _runs(levels > threshold, MIN_RUN)
    if not runs or (runs[-1][1] - runs[0][0]) * FRAME_S < MIN_SPEECH_S:
        check.problems.append(_nothing_heard(check.peak_db, floor))
        return check

    first, last = _extent(levels, runs, max(floor + EDGE_OVER_NOISE_DB, SPEECH_FLOOR_DB - 6))
    check.speech_start, check.speech_end = first * FRAME_S, min(duration, last * FRAME_S)
    check.keep_start = max(0.0, check.speech_start - PADDING)
    check.keep_end = min(duration, check.speech_end + PADDING)
    speech = np.concatenate([levels[a:b] for a, b in runs])
    check.speech_db = _mean_db(speech)
    lead = levels[:max(0, first - 2)]  # the silence before speaking, 40 ms clear of the onset
    if len(lead) >= 5:
        check.noise_db = _mean_db(lead)
    elif room_noise_db is not None:
        check.noise_db = room_noise_db
    else:
        check.noise_db = _mean_db(levels[levels <= floor + 3])
    check.clipped_samples = int(np.count_nonzero(np.abs(audio) >= CLIP_LEVEL))
    _judge(check, len(audio))
    return check


def _nothing_heard(peak_db: float, floor_db: float) -> Problem:
    if floor_db > NOISY_ROOM_DB:
        return Problem("noisy", f"Too much background noise ({floor_db:.0f} dBFS) to tell your "
                       "speech from it. Move away from fans, traffic or other voices, or closer "
                       "to the microphone.", True)
    if peak_db > SPEECH_FLOOR_DB:
        return Problem("too_quiet", "Too quiet to use: speak closer to the microphone or raise "
                       "its input level until the meter reaches the green.", True)
    return Problem("no_speech", "No speech was heard: the microphone may be muted, or the wrong "
                   "one is chosen.", True)


def _judge(check: TakeCheck, frames: int) -> None:
    add = check.problems.append
    if check.clipped_samples >= max(CLIPPED_MIN, CLIPPED_SHARE * frames):
        add(Problem("clipped", f"Clipped: {check.clipped_samples} samples hit the ceiling, which "
                    "distorts the voice. Turn the microphone's input level down (or move back a "
                    "little) until the clip light stays off, then record it again.", True))
    if check.speech_db < TOO_QUIET_DB:
        add(Problem("too_quiet", f"Too quiet: your speech reached only {check.speech_db:.0f} dBFS. "
                    "Speak closer to the microphone or raise its input level (aim for the meter's "
                    "green zone), then record it again.", True))
    elif check.speech_db < QUIET_WARN_DB:
        add(Problem("quiet", f"A little quiet ({check.speech_db:.0f} dBFS): closer to the "
                    "microphone would be better.", False))
    if check.speech_db < TOO_QUIET_DB:
        pass  # speaking up is the fix; the noise is judged once the voice is loud enough
    elif check.snr_db < NOISY_DB:
        add(Problem("noisy", f"Too much background noise: your speech is only {check.snr_db:.0f} dB "
                    "above the room. Move away from fans, traffic or other voices, or closer to "
                    "the microphone.", True))
    elif check.snr_db < NOISE_WARN_DB:
        add(Problem("some_noise", f"Some background noise (speech {check.snr_db:.0f} dB above it): "
                    "a quieter room makes a cleaner voice.", False))
    if check.speech_start is not None and check.speech_start < EDGE_S:
        add(Problem("cut_start", "Cut off at the start: you were already speaking when the take "
                    "began. Press R, wait a moment, then read.", True))
    if check.speech_end is not None and check.duration - check.speech_end < EDGE_S:
        add(Problem("cut_end", "Cut off at the end: the take stopped while you were still "
                    "speaking. Finish the sentence, then stop.", True))
