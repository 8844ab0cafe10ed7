"""The takes of one dataset on disk, and keeping a take as a clip of the dataset.

    <dataset>/takes/take_<key>.wav   the latest take of a prompt not yet kept (at most one)
    <dataset>/takes/.take_….tmp      a take being recorded (see take_writer.py)
    <dataset>/prompts.txt            a person's own prompts, copied in when chosen
    dataset.json options.recording   the prompt set, the microphone and the room's noise

A prompt is known by its text: `<key>` is a hash of it, so a prompt file edited between
sessions keeps the takes of the prompts it still holds. Keeping a take adds it to the store
as a source (the whole take, at the microphone's rate, untouched) with one clip spanning
the speech and its padding, the prompt as its text: no transcription, `edited` false, the
store's flags as for any imported clip. Whether a prompt is recorded is read from the
store alone (a source named `take_<key>` with a clip not excluded), so dataset.json stays
the one truth, and the Dataset tab's edits (excluding a take, say) count at once.

Nothing is lost: a take is a file from the moment it stops. A crash after that and before
it was kept leaves it in takes/, and the studio offers it again on that prompt; a crash
while keeping it leaves at worst a source whose take file is still here, which keeping
again finishes (the store recognises the same audio).
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

from voicelab.core.dataset.records import GOOD_MINUTES, Clip, NewClip, summarize
from voicelab.core.dataset.textclean import clean_text
from voicelab.core.fileio import atomic_write_text, sha256_file
from voicelab.core.progress import format_duration
from voicelab.core.recording.checks import RoomCheck, TakeCheck, judge_room
from voicelab.core.recording.prompts import (
    CUSTOM,
    PromptError,
    PromptSet,
    bundled_set,
    read_prompt_file,
    set_for_language,
)
from voicelab.core.recording.take_writer import TakeError

TAKES_FOLDER = "takes"
CUSTOM_FILE = "prompts.txt"
OPTION = "recording"
#: A temporary take file untouched this long belongs to no running recording.
STALE_S = 60.0
#: Seconds a take lasts, for the estimate before any is kept.
TYPICAL_TAKE_S = 4.0
_TAKE_SOURCE = re.compile(r"^take_([0-9a-f]{10})(?:_\d+)?$")


def prompt_key(prompt: str) -> str:
    """`take_` and 10 hex digits of the prompt text's SHA-1: the name of its takes."""
    return "take_" + hashlib.sha1(clean_text(prompt).encode("utf-8")).hexdigest()[:10]


def key_of_source(source_id: str) -> str | None:
    """The prompt key of a take's source id (`take_<key>`, `take_<key>_2`, …), else None."""
    found = _TAKE_SOURCE.match(source_id)
    return f"take_{found.group(1)}" if found else None


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    seconds: float  # of the kept takes
    dataset_seconds: float  # usable speech in the whole dataset, imported recordings too

    def text(self) -> str:
        """'47 of 300 prompts, 6:12 recorded · a good clone needs about 10 minutes: ~60 more'."""
        line = f"{self.done} of {self.total} prompts, {format_duration(self.seconds)} recorded"
        goal = GOOD_MINUTES * 60
        if self.dataset_seconds >= goal:
            return line + " · enough for a good clone; every extra minute still helps"
        per = self.seconds / self.done if self.done else TYPICAL_TAKE_S
        more = math.ceil((goal - self.dataset_seconds) / max(per, 0.5))
        return (line + f" · a good clone needs about {GOOD_MINUTES} minutes of speech: "
                       f"about {more} more prompts")


class TakeFolder:
    """The recording state of one dataset (see the module docstring)."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset
        self.folder = Path(dataset.path) / TAKES_FOLDER
        self.folder.mkdir(parents=True, exist_ok=True)
        self.clean()

    # -- settings kept with the dataset ---------------------------------------------------
    def settings(self) -> dict:
        value = self.dataset.options.get(OPTION)
        return dict(value) if isinstance(value, dict) else {}

    def save_settings(self, **changes) -> None:
        """Change some of options.recording (the store saves dataset.json atomically)."""
        settings = self.settings()
        settings.update(changes)
        self.dataset.set_options(**{OPTION: settings})

    def prompt_set(self) -> PromptSet:
        """The set chosen for this dataset, else the one for its language, else English."""
        chosen = self.settings().get("prompts")
        try:
            if chosen == CUSTOM:
                return read_prompt_file(self.dataset.path / CUSTOM_FILE,
                                        self.settings().get("language"),
                                        name=self.settings().get("prompts_name"))
            if isinstance(chosen, str):
                return bundled_set(chosen)
        except PromptError:
            pass  # the copy was removed by hand, or a set is no longer bundled
        language = self.dataset.options.get("language")
        return set_for_language(language if isinstance(language, str) and language != "auto" else "en")

    def room_noise_db(self):
        value = self.settings().get("room_noise_db")
        return float(value) if isinstance(value, (int, float)) else None

    def measure_room(self, samples, rate: int, progress=None, cancel=None) -> RoomCheck:
        """Judge a room check's recording and keep its noise level with the dataset (unless
        something loud spoiled it), for the noise check of takes without a silent lead."""
        check = judge_room(samples, rate)
        if not check.interrupted:
            self.save_settings(room_noise_db=round(check.noise_db, 1))
        return check

    def use_bundled(self, set_id: str) -> PromptSet:
        chosen = bundled_set(set_id)
        self.save_settings(prompts=chosen.id)
        return chosen

    def use_file(self, path: Path, language: str | None = None) -> PromptSet:
        """Read a person's prompt file and keep a copy with the dataset, so it can move."""
        chosen = read_prompt_file(path, language)
        atomic_write_text(self.dataset.path / CUSTOM_FILE, "".join(f"{p}\n" for p in chosen.prompts))
        self.save_settings(prompts=CUSTOM, prompts_name=chosen.name, language=language)
        return chosen

    # -- takes ------------------------------------------------------------------------------
    def take_path(self, prompt: str) -> Path:
        return self.folder / f"{prompt_key(prompt)}.wav"

    def pending(self, prompt: str) -> Path | None:
        """The take of `prompt` that stopped but was not kept (or thrown away), if any."""
        path = self.take_path(prompt)
        return path if path.is_file() else None

    def kept(self) -> dict[str, Clip]:
        """Prompt key → the clip of its latest kept take (excluded ones do not count)."""
        found: dict[str, Clip] = {}
        for clip in list(self.dataset.clips):
            key = key_of_source(clip.source)
            if key is not None and not clip.excluded:
                found[key] = clip
        return found

    def kept_clip(self, prompt: str) -> Clip | None:
        return self.kept().get(prompt_key(prompt))

    def first_unrecorded(self, prompts) -> int:
        """Where to continue: the first prompt without a kept take (the last when all have one)."""
        kept = self.kept()
        for index, prompt in enumerate(prompts):
            if prompt_key(prompt) not in kept:
                return index
        return max(0, len(prompts) - 1)

    def progress(self, prompts) -> Progress:
        kept = self.kept()
        keys = {prompt_key(p) for p in prompts}
        clips = [clip for key, clip in kept.items() if key in keys]
        # summarize() over a copy of the list: never waits for a save under the store's lock
        return Progress(len(clips), len(prompts), sum(c.duration for c in clips),
                        summarize(list(self.dataset.clips)).usable_seconds)

    def keep(self, prompt: str, check: TakeCheck, language: str | None = None,
             progress=None, cancel=None) -> Clip:
        """Put the pending take of `prompt` into the dataset as one clip with the prompt as text.

        The clip spans `check.keep_start`–`keep_end` of the take (the speech and its padding).
        An earlier kept take of the same prompt gives its clip up (its audio stays among the
        sources). Writes through the store's public methods, so its lock covers each step.
        `progress` and `cancel` are accepted for the worker job; keeping is not cancelled
        halfway (a few hundred milliseconds, and a half-kept take is what it must not leave).
        """
        from voicelab.core.audio import read_audio

        staged = self.pending(prompt)
        if staged is None:
            raise TakeError(f"The take of “{prompt}” is no longer in {self.folder}; record it again.")
        samples, _ = read_audio(staged, self.dataset.sample_rate)
        source, _new = self.dataset.add_source(staged)
        self.dataset.write_work_audio(source, samples)
        end = min(check.keep_end, len(samples) / self.dataset.sample_rate)
        clips = self.dataset.replace_source_clips(
            source.id, [NewClip(check.keep_start, end, prompt, language=language)],
            state="done", language=language)
        key = prompt_key(prompt)
        older = [c.id for c in self.dataset.clips if key_of_source(c.source) == key
                 and c.source != source.id]
        if older:
            self.dataset.delete_clips(older)
        if staged.is_file() and sha256_file(staged) == source.sha256:  # not a newer take since
            staged.unlink()
        if not clips:
            raise TakeError(f"The take of “{prompt}” was added but gave no clip; it is listed in "
                            "the Dataset tab as a recording to process.")
        return clips[0]

    def discard(self, prompt: str) -> None:
        """Throw away the pending take of `prompt`."""
        self.take_path(prompt).unlink(missing_ok=True)

    def clean(self) -> list[Path]:
        """Remove what a killed recording left: temporary take files no process still writes,
        and takes already kept (a crash between keeping one and removing its file). A take
        whose source was added but whose clip was not (a crash inside `keep`) stays, so the
        studio offers it again and keeping it finishes the job."""
        removed = []
        now = time.time()
        with_clips = {c.source for c in list(self.dataset.clips)}
        kept = {s.sha256 for s in list(self.dataset.sources) if s.id in with_clips}
        for path in self.folder.iterdir():
            try:
                if path.name.startswith(".") and path.name.endswith(".tmp"):
                    if now - path.stat().st_mtime > STALE_S:
                        path.unlink()
                        removed.append(path)
                elif path.suffix == ".wav" and sha256_file(path) in kept:
                    path.unlink()
                    removed.append(path)
            except OSError:
                continue  # another process removed or holds it; the next look decides
        return removed
