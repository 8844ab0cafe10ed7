"""One dataset on disk, and every edit a person or the pipeline makes to it.

A dataset is a folder in the workspace:

    sources/          copies of the user's recordings (their own files are never touched)
    work/             each source decoded once: mono 16-bit PCM at the dataset's rate, so a
                      clip can be cut again (split, merge, move, undo) without decoding an MP3
    wavs/<id>.wav     the clips, mono 16-bit PCM at the dataset's rate
    dataset.json      every source's and clip's provenance and state (the truth; jsonfile.py)
    metadata.csv      LJSpeech `id|text` of the clips in use        } written from
    train.txt, validation.txt  the same rows, split with a fixed seed } dataset.json
    .dataset.lock, .open/  how several processes share it (see lock.py)

Every write is atomic (temp file + rename) and the wav files of new clips are written
*before* the JSON that names them, so a crash or kill at any moment leaves a dataset that
opens: at worst a few wav files no clip names, which `open` removes once no other writer
has the dataset open.

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
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from voicelab.core.dataset.edits import ClipEditing
from voicelab.core.dataset.jsonfile import (
    DATASET_FILE,
    FORMAT_VERSION,
    damaged_message,
    dataset_text,
    read_dataset_file,
)
from voicelab.core.dataset.lock import DatasetLock, OpenMark, unwritable
from voicelab.core.dataset.queue import RecordingQueue
from voicelab.core.dataset.records import (
    Change,
    Clip,
    DatasetDamaged,
    DatasetError,
    DatasetInfo,
    Source,
    Summary,
    _language_option,
    _lines,
    clip_from_dict,
    source_from_dict,
    split_rows,
    summarize,
)
from voicelab.core.dataset.sources import SourceClips
from voicelab.core.dataset.textclean import clean_text
from voicelab.core.fileio import atomic_write_text
from voicelab.core.names import BadName, check_name, inside

DEFAULT_SAMPLE_RATE = 22050


def dataset_folder(workspace, name: str) -> Path:
    """The folder of the dataset called `name`; `BadName` when the name would lead outside
    the workspace's datasets folder (see `core.names`)."""
    return inside(workspace.datasets, name, "dataset")


def list_datasets(workspace) -> list[DatasetInfo]:
    """Every dataset in the workspace, by name; a damaged one is listed with its `problem`
    (what is wrong and how to recover), never left out as if it were not there."""
    root = workspace.datasets
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
            data = read_dataset_file(file)
            clips = data.get("clips", [])
            usable = [c for c in clips if not c.get("excluded") and clean_text(c.get("text", ""))]
            seconds = sum(max(0.0, c["end"] - c["start"]) for c in usable)
            found.append(DatasetInfo(data.get("name", folder.name), folder, len(clips), seconds))
        except DatasetError as error:
            found.append(DatasetInfo(folder.name, folder, 0, 0.0, problem=str(error)))
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            found.append(DatasetInfo(folder.name, folder, 0, 0.0, problem=damaged_message(file, error)))
    return found


class Dataset(ClipEditing, SourceClips, RecordingQueue):
    """A dataset folder (layout: the module docstring); mixins hold its reviewing edits
    (edits.py), its recordings and the clips cut from them (sources.py) and its queue."""

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
            raise DatasetDamaged(damaged_message(self.path / DATASET_FILE, error)) from None

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
        self._take(read_dataset_file(self.path / DATASET_FILE))
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
            data = read_dataset_file(file)
            if os.stat(file).st_ino == seen.st_ino:
                break
        try:
            version = int(data.get("format", 1))
        except (TypeError, ValueError):
            raise DatasetDamaged(damaged_message(file, ValueError(f"format {data.get('format')!r}"))) from None
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
            text = dataset_text(self.to_dict())
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
