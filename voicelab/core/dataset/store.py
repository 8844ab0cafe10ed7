"""One dataset on disk, and every edit a person or the pipeline makes to it.

A dataset is a folder in the workspace:

    sources/          copies of the user's recordings (their own files are never touched)
    work/             each source decoded once: mono 16-bit PCM at the dataset's rate, so a
                      clip can be cut again (split, merge, move, undo) without decoding an MP3
    wavs/<id>.wav     the clips, mono 16-bit PCM at the dataset's rate
    dataset.json      every source's and clip's provenance and state (the truth)
    metadata.csv      LJSpeech `id|text` of the clips in use        } written from
    train.txt, validation.txt  the same rows, split with a fixed seed } dataset.json
    .dataset.lock, .open/  how several processes share it (see lock.py)

Why JSON and not YAML: every edit rewrites the file, and a few thousand clips must save in
milliseconds, not the half second PyYAML takes. Every write is atomic (temp file + rename)
and the wav files of new clips are written *before* the JSON that names them, so a crash or
kill at any moment leaves a dataset that opens: at worst a few wav files no clip names,
which `open` removes once no other writer has the dataset open.

One `Dataset` object is shared by the GUI and the pipeline's worker thread, and other
processes (a second window, `voicelab-cli dataset add`) may change the same folder: each
mutation takes the dataset's lock (lock.py), which first catches up with what another
process saved, so every writer's clips are kept. Slow work (copying, cutting wavs) happens
outside the lock; the clip ids it will write are taken (saved) before it starts, so two
writers never cut the same file name. Listeners hear about each committed change (the GUI
turns that into a Qt signal), and "reset" when another process's changes were read in.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from voicelab.core.dataset.edits import ClipEditing
from voicelab.core.dataset.lock import DatasetLock, OpenMark, unwritable
from voicelab.core.dataset.queue import RecordingQueue
from voicelab.core.dataset.records import (  # noqa: F401  (re-exported: the store's records)
    SOURCE_STATES,
    Change,
    Clip,
    DatasetDamaged,
    DatasetError,
    DatasetInfo,
    NewClip,
    Source,
    Summary,
    _language_option,
    _lines,
    _normalize_level,
    _reviewed,
    clip_from_dict,
    confidence_of,
    source_from_dict,
    split_rows,
    summarize,
    word_rows,
)
from voicelab.core.dataset.textclean import clean_text
from voicelab.core.fileio import atomic_open, atomic_write_text, sha256_file
from voicelab.core.names import BadName, check_name, inside

FORMAT_VERSION = 1
DATASET_FILE = "dataset.json"
DEFAULT_SAMPLE_RATE = 22050


def dataset_folder(workspace, name: str) -> Path:
    """The folder of the dataset called `name`; `BadName` when the name would lead outside
    the workspace's datasets folder (see `core.names`)."""
    return inside(Path(workspace.root) / "datasets", name, "dataset")


def list_datasets(workspace) -> list[DatasetInfo]:
    """Every dataset in the workspace, by name; a damaged one is listed with its `problem`
    (what is wrong and how to recover), never left out as if it were not there."""
    root = Path(workspace.root) / "datasets"
    found: list[DatasetInfo] = []
    for folder in sorted(root.iterdir() if root.is_dir() else [], key=lambda p: p.name.lower()):
        file = folder / DATASET_FILE
        if folder.name.startswith(".") or not file.is_file():
            continue  # hidden: a delete under way (or cut short) renames a dataset to one
        try:
            inside(root, folder.name, "dataset")
        except BadName:
            continue  # a link out of the workspace, or a name no command could open
        try:
            data = _read(file)
            clips = data.get("clips", [])
            usable = [c for c in clips if not c.get("excluded") and clean_text(c.get("text", ""))]
            seconds = sum(max(0.0, c["end"] - c["start"]) for c in usable)
            found.append(DatasetInfo(data.get("name", folder.name), folder, len(clips), seconds))
        except DatasetError as error:
            found.append(DatasetInfo(folder.name, folder, 0, 0.0, problem=str(error)))
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            found.append(DatasetInfo(folder.name, folder, 0, 0.0, problem=_damaged(file, error)))
    return found


def _read(file: Path) -> dict:
    """dataset.json's mapping; `DatasetError` saying how to recover when it is damaged."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise DatasetDamaged(_damaged(file, error)) from None
    if not isinstance(data, dict):
        raise DatasetDamaged(_damaged(file, ValueError("it holds no dataset")))
    return data


def _damaged(file: Path, error: BaseException) -> str:
    detail = " ".join(str(error).split())[:200] or type(error).__name__
    return (f"The dataset '{file.parent.name}' is damaged: {file} cannot be read ({detail}). "
            "Restore dataset.json from a backup, or import the folder as an LJSpeech dataset "
            "under a new name (its metadata.csv and wavs/ hold the clips in use).")


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return slug[:40] or "source"


class Dataset(ClipEditing, RecordingQueue):
    """A dataset folder; see the module docstring for the layout."""

    def __init__(self, path: Path, data: dict) -> None:
        self.path = Path(path)
        self._take(data)
        self._lock = DatasetLock(self.path, self._catch_up, self._after_change)
        self._mark = OpenMark(self.path)
        self._seen: tuple | None = None  # dataset.json as this object last read or wrote it
        self._reread = False
        self._listeners: list[Callable[[Change], None]] = []
        self._batch_depth = 0
        self._batch_dirty = False

    def _take(self, data: dict) -> None:
        try:
            self.name: str = data.get("name") or self.path.name
            self.sample_rate: int = int(data.get("sample_rate", DEFAULT_SAMPLE_RATE))
            self.validation_share: float = float(data.get("validation_share", 0.1))
            self.seed: int = int(data.get("seed", 1234))
            self.created: str = data.get("created", "")
            self.options: dict[str, object] = dict(data.get("options") or {})
            self.queued: list[str] = [str(p) for p in data.get("queued") or []]
            self.sources: list[Source] = [source_from_dict(s) for s in data.get("sources", [])]
            self.clips: list[Clip] = [clip_from_dict(c) for c in data.get("clips", [])]
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise DatasetDamaged(_damaged(self.path / DATASET_FILE, error)) from None

    # -- other processes --------------------------------------------------------------------
    def _signature(self) -> tuple | None:
        try:
            stat = os.stat(self.path / DATASET_FILE)
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def _catch_up(self) -> None:
        """Under the dataset's lock, before a change: read dataset.json again when another
        process saved it since this object last read or wrote it."""
        now = self._signature()
        if now == self._seen:
            return
        if now is None:
            raise DatasetError(f"The dataset '{self.name}' ({self.path}) was deleted or moved by "
                               "another VoiceLab window or command. Open it again.")
        self._take(_read(self.path / DATASET_FILE))
        self._seen = now
        self._reread = True

    def _after_change(self) -> None:
        if self._reread and not self._batch_depth:
            self._reread = False
            self._notify(Change("reset"))

    # -- creating and opening ---------------------------------------------------------------
    @classmethod
    def create(cls, folder: Path, name: str | None = None, *, sample_rate: int = DEFAULT_SAMPLE_RATE,
               validation_share: float = 0.1, seed: int = 1234) -> Dataset:
        folder = Path(folder)
        name = check_name(name or folder.name, "dataset")
        if (folder / DATASET_FILE).exists():
            raise DatasetError(f"A dataset already exists in {folder}; open it instead.")
        if not 8000 <= int(sample_rate) <= 48000:
            raise DatasetError(f"Sample rate {sample_rate} Hz is not supported; use 16000 or 22050.")
        if not 0.0 <= validation_share < 0.5:
            raise DatasetError("The validation share must be between 0 and 0.5 (e.g. 0.1 for 10 %).")
        try:
            for sub in ("sources", "work", "wavs"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise unwritable(folder, error) from None
        data = {"name": name, "sample_rate": int(sample_rate), "validation_share": validation_share,
                "seed": int(seed), "created": _dt.datetime.now().isoformat(timespec="seconds")}
        dataset = cls(folder, data)
        with dataset._lock.hold(refresh=False):
            dataset._mark.place()
            dataset.save()
        return dataset

    @classmethod
    def open(cls, folder: Path) -> Dataset:
        folder = Path(folder)
        file = folder / DATASET_FILE
        if not file.is_file():
            raise DatasetError(f"{folder} is not a VoiceLab dataset (no {DATASET_FILE}). "
                               "To bring in a plain LJSpeech folder, use Import LJSpeech.")
        seen = None
        for _ in range(3):  # a save by another process between the stat and the read: again
            seen = os.stat(file)
            data = _read(file)
            if os.stat(file).st_ino == seen.st_ino:
                break
        try:
            version = int(data.get("format", 1))
        except (TypeError, ValueError):
            raise DatasetDamaged(_damaged(file, ValueError(f"format {data.get('format')!r}"))) from None
        if version > FORMAT_VERSION:
            raise DatasetError(f"{file} was written by a newer VoiceLab; update VoiceLab to open it.")
        dataset = cls(folder, data)
        dataset._seen = (seen.st_ino, seen.st_mtime_ns, seen.st_size)
        with contextlib.suppress(OSError):  # a folder that cannot be written still opens, to read
            for sub in ("sources", "work", "wavs"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
        with dataset._lock.try_hold() as alone_now:
            if alone_now and dataset._mark.place() and not dataset._mark.others_open():
                dataset._catch_up()
                dataset._remove_leftovers()
        dataset._reread = False  # nobody listens yet: nothing to tell
        return dataset

    def close(self) -> None:
        """Done with this dataset: its mark in `.open/` goes, so the next `open` may tidy up
        what a killed writer left. (A process that ends, however, closes its datasets.)"""
        self._mark.remove()

    def _remove_leftovers(self) -> None:
        """Delete what a killed writer left: wavs no clip names (a kill between writing a
        wav and saving the JSON), half-copied recordings and half-decoded work copies.

        Runs only when no other writer has the dataset open (one may be writing those files
        right now). Only such leftovers are touched: named after one of its sources' clips
        (`<source id>_NNNN.wav`, or a temporary file of one) and written after the JSON was
        last saved. A JSON that lost its clips, or wavs put there by hand, cost no audio.
        """
        for partial in [*(self.path / "sources").glob(".incoming-*"),
                        *(self.path / "work").glob(".incoming-*")]:
            partial.unlink(missing_ok=True)
        if not self.sources:
            return
        named = {f"{c.id}.wav" for c in self.clips}
        ids = "|".join(re.escape(s.id) for s in self.sources)
        ours = re.compile(rf"^\.?({ids})_\d{{4,}}\.wav(\..*\.tmp)?$")
        saved = (self.path / DATASET_FILE).stat().st_mtime
        for wav in (self.path / "wavs").iterdir():
            if wav.name not in named and ours.match(wav.name) and wav.stat().st_mtime >= saved - 1.0:
                wav.unlink(missing_ok=True)

    @contextlib.contextmanager
    def batch(self) -> Iterator[Dataset]:
        """Many changes, one save at the end (importing thousands of clips would otherwise
        rewrite the JSON once per clip). Listeners hear one "reset" at the end."""
        with self._lock:  # held throughout: unsaved changes must not meet another's save
            self._batch_depth += 1
            try:
                yield self
            finally:
                self._batch_depth -= 1
                flush = self._batch_depth == 0 and self._batch_dirty
                if flush:
                    self._batch_dirty = False
                    self.save()
        if flush:
            self._notify(Change("reset"))

    # -- listening --------------------------------------------------------------------------
    def add_listener(self, callback: Callable[[Change], None]) -> None:
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[Change], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _notify(self, change: Change) -> None:
        if self._batch_depth:
            return
        for callback in list(self._listeners):
            callback(change)

    # -- lookups ----------------------------------------------------------------------------
    def clip(self, clip_id: str) -> Clip:
        for clip in self.clips:
            if clip.id == clip_id:
                return clip
        raise DatasetError(f"There is no clip '{clip_id}' in dataset '{self.name}'.")

    def source(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise DatasetError(f"There is no source '{source_id}' in dataset '{self.name}'.")

    def clip_path(self, clip_id: str) -> Path:
        return self.path / "wavs" / f"{clip_id}.wav"

    def work_audio_path(self, source: Source) -> Path:
        return self.path / "work" / f"{source.id}.wav"

    def source_path(self, source: Source) -> Path:
        return self.path / source.file

    def next_clip(self, clip_id: str) -> Clip | None:
        """The clip that follows `clip_id` in the same recording, if any."""
        with self._lock.local:
            clip = self.clip(clip_id)
            later = [c for c in self.clips if c.source == clip.source and c.id != clip.id
                     and c.start >= clip.end - 1e-6]
            return min(later, key=lambda c: c.start) if later else None

    def usable_clips(self) -> list[Clip]:
        """The clips that go into the manifests: not excluded, with text."""
        return [c for c in self.clips if not c.excluded and clean_text(c.text)]

    # -- sources ----------------------------------------------------------------------------
    def add_source(self, original: Path, sha256: str | None = None) -> tuple[Source, bool]:
        """Copy a recording into `sources/`; the same content twice gives the same Source.

        `sha256`: the file's hash when the caller already computed it (saves a second read).
        The copy is made under a temporary name outside the lock; its id and final name are
        chosen when it is added, so two processes adding at once never pick the same file.
        """
        original = Path(original)
        digest = sha256 or sha256_file(original)
        with self._lock:
            held = self._holding(digest, original)
            if held is not None:
                return held, False
        suffix = original.suffix.lower()
        incoming = self.path / "sources" / f".incoming-{uuid.uuid4().hex[:12]}{suffix}"
        try:
            with atomic_open(incoming, "wb") as out, open(original, "rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)
            with self._lock:
                held = self._holding(digest, original)
                if held is not None:  # another process added the same recording meanwhile
                    return held, False
                taken = {s.id for s in self.sources}
                base = _slug(original.stem)
                source_id, n = base, 2
                while source_id in taken or (self.path / "sources" / f"{source_id}{suffix}").exists():
                    source_id, n = f"{base}_{n}", n + 1
                target = self.path / "sources" / f"{source_id}{suffix}"
                os.replace(incoming, target)
                source = Source(id=source_id, file=target.relative_to(self.path).as_posix(),
                                original=str(original), sha256=digest)
                self.sources.append(source)
                self._unqueue_quietly(original)
                self.save()
        finally:
            incoming.unlink(missing_ok=True)
        self._notify(Change("sources"))
        return source, True

    def _holding(self, digest: str, original: Path) -> Source | None:
        """The source with this content, if the dataset has it (its file leaves the queue)."""
        for source in self.sources:
            if source.sha256 == digest:
                if self._unqueue_quietly(original):
                    self.save()
                return source
        return None

    def write_work_audio(self, source: Source, samples: np.ndarray) -> Path:
        """Keep the decoded source (mono, dataset rate) for cutting clips later."""
        from voicelab.core.audio import write_audio

        path = write_audio(self.work_audio_path(source), samples, self.sample_rate, format="wav")
        source.duration = round(len(samples) / self.sample_rate, 3)
        with self._lock:  # saved now: a save by another process would otherwise drop it
            self.source(source.id).duration = source.duration
            self.save()
        return path

    def read_work_audio(self, source: Source, start: float | None = None,
                        end: float | None = None) -> np.ndarray:
        import soundfile

        path = self.work_audio_path(source)
        if not path.is_file():
            raise DatasetError(f"The decoded audio of '{source.file}' is missing; run Process "
                               "again to rebuild it.")
        with soundfile.SoundFile(str(path)) as handle:
            first = 0 if start is None else max(0, int(round(start * handle.samplerate)))
            last = handle.frames if end is None else min(handle.frames, int(round(end * handle.samplerate)))
            handle.seek(min(first, handle.frames))
            return handle.read(max(0, last - first), dtype="float32", always_2d=False)

    def mark_source(self, source_id: str, state: str, error: str | None = None,
                    language: str | None = None) -> None:
        if state not in SOURCE_STATES:
            raise ValueError(state)
        with self._lock:
            source = self.source(source_id)
            source.state, source.error = state, error
            if language:
                source.language = language
            self.save()
        self._notify(Change("sources"))

    # -- clips from the pipeline ------------------------------------------------------------
    def replace_source_clips(self, source_id: str, cuts: Sequence[NewClip], *,
                             state: str | None = None, language: str | None = None,
                             facts: dict[str, object] | None = None) -> list[Clip]:
        """Put a (re)processed source's clips in place of its old, untouched ones.

        Clips the user edited or excluded stay as they are; a new cut overlapping one of
        them is dropped, so a re-run never writes over a person's work. `state` (and
        `language`, and `facts`: Source fields the pipeline measured, such as its duration
        and speech coverage) mark the source in the same save, so a kill cannot separate them.
        """
        if state is not None and state not in SOURCE_STATES:
            raise ValueError(state)
        with self._lock:
            source = self.source(source_id)
            kept = [c for c in self.clips if c.source == source_id and _reviewed(c)]
            fresh: list[Clip] = []
            for cut in cuts:
                if _overlaps(cut, kept):
                    continue
                clip_id = f"{source_id}_{source.next_clip:04d}"
                source.next_clip += 1
                fresh.append(Clip(id=clip_id, source=source_id, start=round(cut.start, 3),
                                  end=round(cut.end, 3), text=clean_text(cut.text),
                                  words=word_rows(cut.words),
                                  confidence=confidence_of(cut.avg_logprob, cut.no_speech_prob),
                                  avg_logprob=cut.avg_logprob, no_speech_prob=cut.no_speech_prob,
                                  language=cut.language))
            if fresh:
                self.save()  # the ids are taken, for every process, before their wavs exist
        try:
            for clip in fresh:  # slow part, outside the lock; the JSON does not name them yet
                self._render(clip)
            with self._lock:
                source = self.source(source_id)  # as saved now, maybe by another process
                kept = [c for c in self.clips if c.source == source_id and _reviewed(c)]
                dropped = [c for c in fresh if _overlaps(c, kept)]  # reviewed meanwhile
                fresh = [c for c in fresh if c not in dropped]
                old = [c for c in self.clips if c.source == source_id and not _reviewed(c)]
                self.clips = [c for c in self.clips if not (c.source == source_id and not _reviewed(c))]
                self.clips.extend(fresh)
                self._sort()
                if state is not None:
                    source.state, source.error = state, None
                    source.language = language or source.language
                for name, value in (facts or {}).items():
                    setattr(source, name, value)
                self.save()
        except BaseException:
            for clip in fresh:
                self.clip_path(clip.id).unlink(missing_ok=True)
            raise
        for clip in old + dropped:
            self.clip_path(clip.id).unlink(missing_ok=True)
        self._notify(Change("clips", tuple(c.id for c in fresh)))
        return fresh

    def _render(self, clip: Clip) -> None:
        """Cut the clip's wav from the source's work audio and measure its level."""
        from voicelab.core.audio import write_audio

        samples = self.read_work_audio(self.source(clip.source), clip.start, clip.end)
        if samples.size == 0:
            raise DatasetError(f"Clip {clip.id} ({clip.start:.2f}–{clip.end:.2f} s) lies outside "
                               f"its recording.")
        target = self.options.get("loudness_db")
        if isinstance(target, (int, float)):
            samples = _normalize_level(samples, float(target))
        peak = float(np.max(np.abs(samples)))
        rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
        clip.peak = round(peak, 4)
        clip.rms_db = round(20 * math.log10(rms), 2) if rms > 0 else -120.0
        clip.clipped = round(float(np.mean(np.abs(samples) >= 0.999)), 5)
        write_audio(self.clip_path(clip.id), samples, self.sample_rate, format="wav")

    def _sort(self) -> None:
        order = {s.id: i for i, s in enumerate(self.sources)}
        self.clips.sort(key=lambda c: (order.get(c.source, len(order)), c.start, c.id))

    # -- settings of the dataset ------------------------------------------------------------
    def set_options(self, **options: object) -> None:
        with self._lock:
            self.options.update(options)
            self.save()

    def set_validation_share(self, share: float) -> None:
        if not 0.0 <= share < 0.5:
            raise DatasetError("The validation share must be between 0 and 0.5 (e.g. 0.1 for 10 %).")
        with self._lock:
            self.validation_share = float(share)
            self.save()

    # -- writing ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": FORMAT_VERSION, "name": self.name, "sample_rate": self.sample_rate,
                "validation_share": self.validation_share, "seed": self.seed,
                "created": self.created, "options": self.options, "queued": self.queued,
                "sources": [dict(vars(s)) for s in self.sources],
                "clips": [dict(vars(c)) for c in self.clips]}

    def _json(self) -> str:
        """dataset.json text: one clip a line, so it diffs and reads well, and fast (the C
        encoder only runs without `indent`)."""
        data = self.to_dict()
        clips = data.pop("clips")
        head = json.dumps(data, ensure_ascii=False)
        body = ",\n".join(json.dumps(c, ensure_ascii=False) for c in clips)
        return f'{head[:-1]}, "clips": [\n{body}\n]}}\n'

    def save(self) -> None:
        """Flag the clips, then write dataset.json and the three manifests, each atomically.

        Writes what this object holds, under the dataset's lock; the edit methods re-read
        another process's save first, so call them rather than changing fields and saving.
        A folder that cannot be written raises `DatasetError` naming it.
        """
        from voicelab.core.dataset.flags import FlagContext, compute_flags

        with self._lock.hold(refresh=False):
            if self._batch_depth:
                self._batch_dirty = True
                return
            context = FlagContext(min_seconds=float(self.options.get("min_seconds", 1.0)),
                                  max_seconds=float(self.options.get("max_seconds", 12.0)),
                                  language=_language_option(self.options.get("language")))
            for clip, flags in zip(self.clips, compute_flags(self.clips, context)):
                clip.flags = flags
            text = self._json()
            rows = [f"{c.id}|{clean_text(c.text)}" for c in self.usable_clips()]
            train, validation = split_rows(rows, self.validation_share, self.seed)
            try:
                atomic_write_text(self.path / DATASET_FILE, text)
                self._seen = self._signature()
                atomic_write_text(self.path / "metadata.csv", _lines(rows))
                atomic_write_text(self.path / "train.txt", _lines(train))
                atomic_write_text(self.path / "validation.txt", _lines(validation))
            except OSError as error:
                raise unwritable(self.path, error) from None

    # -- summary ----------------------------------------------------------------------------
    def summary(self) -> Summary:
        with self._lock.local:
            return summarize(self.clips)


def _overlaps(span, clips: Sequence[Clip]) -> bool:
    return any(span.start < k.end and k.start < span.end for k in clips)


