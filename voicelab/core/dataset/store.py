"""One dataset on disk, and every edit a person or the pipeline makes to it.

A dataset is a folder in the workspace:

    sources/          copies of the user's recordings (their own files are never touched)
    work/             each source decoded once: mono 16-bit PCM at the dataset's rate, so a
                      clip can be cut again (split, merge, move, undo) without decoding an MP3
    wavs/<id>.wav     the clips, mono 16-bit PCM at the dataset's rate
    dataset.json      every source's and clip's provenance and state (the truth)
    metadata.csv      LJSpeech `id|text` of the clips in use        } written from
    train.txt, validation.txt  the same rows, split with a fixed seed } dataset.json

Why JSON and not YAML: every edit rewrites the file, and a few thousand clips must save in
milliseconds, not the half second PyYAML takes. Every write is atomic (temp file + rename)
and the wav files of new clips are written *before* the JSON that names them, so a crash or
kill at any moment leaves a dataset that opens: at worst a few wav files no clip names,
which `open` removes.

One `Dataset` object is shared by the GUI and the pipeline's worker thread: mutations take
a lock, slow work (decoding, cutting wavs) happens outside it, and listeners hear about each
committed change (the GUI turns that into a Qt signal).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as _dt
import hashlib
import json
import math
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from voicelab.core.errors import VoiceLabError
from voicelab.core.fileio import atomic_open, atomic_write_text
from voicelab.core.dataset.textclean import clean_text

FORMAT_VERSION = 1
DATASET_FILE = "dataset.json"
DEFAULT_SAMPLE_RATE = 22050
SOURCE_STATES = ("pending", "done", "failed")
_NAME_OK = re.compile(r"^[^/\\:*?\"<>|\x00-\x1f]{1,80}$")


class DatasetError(VoiceLabError):
    """A dataset cannot be created, opened or changed as asked."""


@dataclass
class Source:
    """A recording the user added, as copied into `sources/`."""

    id: str
    file: str  # relative to the dataset folder, e.g. "sources/interview.mp3"
    original: str  # where the user's file was
    sha256: str
    duration: float = 0.0
    state: str = "pending"  # pending → done | failed
    error: Optional[str] = None
    language: Optional[str] = None
    next_clip: int = 1  # numbering of this source's clips; ids are never reused


@dataclass
class Clip:
    """One utterance: where it came from, what it says, and what the user decided."""

    id: str
    source: str  # Source.id
    start: float  # seconds in the source
    end: float
    text: str = ""
    words: List[list] = field(default_factory=list)  # [text, start, end] in source seconds
    confidence: Optional[float] = None  # 0..1 from Whisper's log-prob and no-speech prob
    avg_logprob: Optional[float] = None
    no_speech_prob: Optional[float] = None
    language: Optional[str] = None
    peak: Optional[float] = None  # of the clip's audio, 0..1
    rms_db: Optional[float] = None  # dBFS
    clipped: Optional[float] = None  # share of samples at full scale
    flags: List[str] = field(default_factory=list)
    edited: bool = False  # the user changed text or boundaries: a re-run keeps it
    excluded: bool = False

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass
class NewClip:
    """What the slicer hands the store; the store gives it an id and audio."""

    start: float
    end: float
    text: str = ""
    words: List[list] = field(default_factory=list)
    avg_logprob: Optional[float] = None
    no_speech_prob: Optional[float] = None
    language: Optional[str] = None


@dataclass
class Change:
    """What a listener is told after an edit: `kind` and the clip ids it touched."""

    kind: str  # "clips" (added/removed/reordered), "clip" (fields changed), "sources", "reset"
    clip_ids: Tuple[str, ...] = ()


@dataclass
class Summary:
    clips: int
    usable_clips: int
    usable_seconds: float
    flagged: int
    excluded: int
    hint: str


@dataclass
class DatasetInfo:
    name: str
    path: Path
    clips: int
    usable_seconds: float


def confidence_of(avg_logprob: Optional[float], no_speech_prob: Optional[float]) -> Optional[float]:
    """One 0..1 number from Whisper's two: the mean token probability, discounted by the
    chance the segment is not speech at all."""
    if avg_logprob is None:
        return None
    value = math.exp(min(0.0, float(avg_logprob)))
    if no_speech_prob is not None:
        value *= 1.0 - max(0.0, min(1.0, float(no_speech_prob)))
    return round(value, 4)


def dataset_folder(workspace, name: str) -> Path:
    return Path(workspace.root) / "datasets" / name


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or name in (".", "..") or not _NAME_OK.match(name):
        raise DatasetError(f"'{name}' cannot be a dataset name: use letters, digits, spaces, "
                           "'-' or '_' (no / \\ : * ? \" < > |).")
    return name


def list_datasets(workspace) -> List[DatasetInfo]:
    """Every dataset in the workspace, by name; unreadable ones are skipped."""
    root = Path(workspace.root) / "datasets"
    found: List[DatasetInfo] = []
    for folder in sorted(root.iterdir() if root.is_dir() else [], key=lambda p: p.name.lower()):
        file = folder / DATASET_FILE
        if not file.is_file():
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            clips = data.get("clips", [])
            usable = [c for c in clips if not c.get("excluded") and clean_text(c.get("text", ""))]
            seconds = sum(max(0.0, c["end"] - c["start"]) for c in usable)
            found.append(DatasetInfo(data.get("name", folder.name), folder, len(clips), seconds))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return slug[:40] or "source"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _clip_from_dict(data: dict) -> Clip:
    names = {f.name for f in dataclasses.fields(Clip)}
    return Clip(**{k: v for k, v in data.items() if k in names})


def _source_from_dict(data: dict) -> Source:
    names = {f.name for f in dataclasses.fields(Source)}
    return Source(**{k: v for k, v in data.items() if k in names})


class Dataset:
    """A dataset folder; see the module docstring for the layout."""

    def __init__(self, path: Path, data: dict) -> None:
        self.path = Path(path)
        self.name: str = data.get("name") or self.path.name
        self.sample_rate: int = int(data.get("sample_rate", DEFAULT_SAMPLE_RATE))
        self.validation_share: float = float(data.get("validation_share", 0.1))
        self.seed: int = int(data.get("seed", 1234))
        self.created: str = data.get("created", "")
        self.options: Dict[str, object] = dict(data.get("options") or {})
        self.sources: List[Source] = [_source_from_dict(s) for s in data.get("sources", [])]
        self.clips: List[Clip] = [_clip_from_dict(c) for c in data.get("clips", [])]
        self._lock = threading.RLock()
        self._listeners: List[Callable[[Change], None]] = []
        self._batch_depth = 0
        self._batch_dirty = False

    # -- creating and opening ---------------------------------------------------------------
    @classmethod
    def create(cls, folder: Path, name: Optional[str] = None, *, sample_rate: int = DEFAULT_SAMPLE_RATE,
               validation_share: float = 0.1, seed: int = 1234) -> "Dataset":
        folder = Path(folder)
        name = check_name(name or folder.name)
        if (folder / DATASET_FILE).exists():
            raise DatasetError(f"A dataset already exists in {folder}; open it instead.")
        if not 8000 <= int(sample_rate) <= 48000:
            raise DatasetError(f"Sample rate {sample_rate} Hz is not supported; use 16000 or 22050.")
        if not 0.0 <= validation_share < 0.5:
            raise DatasetError("The validation share must be between 0 and 0.5 (e.g. 0.1 for 10 %).")
        for sub in ("sources", "work", "wavs"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        data = {"name": name, "sample_rate": int(sample_rate), "validation_share": validation_share,
                "seed": int(seed), "created": _dt.datetime.now().isoformat(timespec="seconds")}
        dataset = cls(folder, data)
        dataset.save()
        return dataset

    @classmethod
    def open(cls, folder: Path) -> "Dataset":
        folder = Path(folder)
        file = folder / DATASET_FILE
        if not file.is_file():
            raise DatasetError(f"{folder} is not a VoiceLab dataset (no {DATASET_FILE}). "
                               "To bring in a plain LJSpeech folder, use Import LJSpeech.")
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"Cannot read {file}: {exc}. Restore it from a backup, or import "
                               "the folder's metadata.csv as a new dataset.") from None
        if int(data.get("format", 1)) > FORMAT_VERSION:
            raise DatasetError(f"{file} was written by a newer VoiceLab; update VoiceLab to open it.")
        dataset = cls(folder, data)
        for sub in ("sources", "work", "wavs"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        dataset._remove_orphans()
        return dataset

    def _remove_orphans(self) -> None:
        """Delete wavs no clip names (a crash between writing a wav and saving the JSON)."""
        named = {f"{c.id}.wav" for c in self.clips}
        for wav in (self.path / "wavs").iterdir():
            if wav.name not in named and (wav.suffix == ".wav" or wav.name.endswith(".tmp")):
                wav.unlink(missing_ok=True)

    @contextlib.contextmanager
    def batch(self) -> Iterator["Dataset"]:
        """Many changes, one save at the end (importing thousands of clips would otherwise
        rewrite the JSON once per clip). Listeners hear one "reset" at the end."""
        with self._lock:
            self._batch_depth += 1
        try:
            yield self
        finally:
            with self._lock:
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

    def next_clip(self, clip_id: str) -> Optional[Clip]:
        """The clip that follows `clip_id` in the same recording, if any."""
        with self._lock:
            clip = self.clip(clip_id)
            later = [c for c in self.clips if c.source == clip.source and c.id != clip.id
                     and c.start >= clip.end - 1e-6]
            return min(later, key=lambda c: c.start) if later else None

    def usable_clips(self) -> List[Clip]:
        """The clips that go into the manifests: not excluded, with text."""
        return [c for c in self.clips if not c.excluded and clean_text(c.text)]

    # -- sources ----------------------------------------------------------------------------
    def add_source(self, original: Path, sha256: Optional[str] = None) -> Tuple[Source, bool]:
        """Copy a recording into `sources/`; the same content twice gives the same Source.

        `sha256`: the file's hash when the caller already computed it (saves a second read).
        """
        original = Path(original)
        digest = sha256 or _sha256(original)
        with self._lock:
            for source in self.sources:
                if source.sha256 == digest:
                    return source, False
            taken = {s.id for s in self.sources}
            base = _slug(original.stem)
            source_id, n = base, 2
            while source_id in taken:
                source_id, n = f"{base}_{n}", n + 1
            target = self.path / "sources" / f"{source_id}{original.suffix.lower()}"
        with atomic_open(target, "wb") as out, open(original, "rb") as handle:
            shutil.copyfileobj(handle, out, 1 << 20)
        source = Source(id=source_id, file=target.relative_to(self.path).as_posix(),
                        original=str(original), sha256=digest)
        with self._lock:
            self.sources.append(source)
            self.save()
        self._notify(Change("sources"))
        return source, True

    def write_work_audio(self, source: Source, samples: np.ndarray) -> Path:
        """Keep the decoded source (mono, dataset rate) for cutting clips later."""
        from voicelab.core.audio import write_audio

        source.duration = round(len(samples) / self.sample_rate, 3)
        return write_audio(self.work_audio_path(source), samples, self.sample_rate, format="wav")

    def read_work_audio(self, source: Source, start: Optional[float] = None,
                        end: Optional[float] = None) -> np.ndarray:
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

    def mark_source(self, source_id: str, state: str, error: Optional[str] = None,
                    language: Optional[str] = None) -> None:
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
                             state: Optional[str] = None, language: Optional[str] = None) -> List[Clip]:
        """Put a (re)processed source's clips in place of its old, untouched ones.

        Clips the user edited or excluded stay as they are; a new cut overlapping one of
        them is dropped, so a re-run never writes over a person's work. `state` (and
        `language`) mark the source in the same save, so a kill cannot separate the two.
        """
        if state is not None and state not in SOURCE_STATES:
            raise ValueError(state)
        with self._lock:
            source = self.source(source_id)
            kept = [c for c in self.clips if c.source == source_id and _reviewed(c)]
            fresh: List[Clip] = []
            for cut in cuts:
                if any(cut.start < k.end and k.start < cut.end for k in kept):
                    continue
                clip_id = f"{source_id}_{source.next_clip:04d}"
                source.next_clip += 1
                fresh.append(Clip(id=clip_id, source=source_id, start=round(cut.start, 3),
                                  end=round(cut.end, 3), text=clean_text(cut.text),
                                  words=[list(w) for w in cut.words],
                                  confidence=confidence_of(cut.avg_logprob, cut.no_speech_prob),
                                  avg_logprob=cut.avg_logprob, no_speech_prob=cut.no_speech_prob,
                                  language=cut.language))
        for clip in fresh:  # slow part, outside the lock; the JSON does not name them yet
            self._render(clip)
        with self._lock:
            old = [c for c in self.clips if c.source == source_id and not _reviewed(c)]
            self.clips = [c for c in self.clips if not (c.source == source_id and not _reviewed(c))]
            self.clips.extend(fresh)
            self._sort()
            if state is not None:
                source.state, source.error = state, None
                source.language = language or source.language
            self.save()
        for clip in old:
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

    # -- edits by the user ------------------------------------------------------------------
    def set_text(self, clip_id: str, text: str) -> Clip:
        with self._lock:
            clip = self.clip(clip_id)
            clip.text, clip.edited = clean_text(text), True
            self.save()
        self._notify(Change("clip", (clip_id,)))
        return clip

    def set_excluded(self, clip_ids: Iterable[str], excluded: bool = True) -> None:
        ids = tuple(clip_ids)
        with self._lock:
            for clip_id in ids:
                self.clip(clip_id).excluded = bool(excluded)
            self.save()
        self._notify(Change("clip", ids))

    def delete_clips(self, clip_ids: Iterable[str]) -> None:
        ids = set(clip_ids)
        with self._lock:
            for clip_id in ids:
                self.clip(clip_id)  # raises for an unknown id before anything changes
            self.clips = [c for c in self.clips if c.id not in ids]
            self.save()
        for clip_id in ids:
            self.clip_path(clip_id).unlink(missing_ok=True)
        self._notify(Change("clips", tuple(ids)))

    def set_bounds(self, clip_id: str, start: float, end: float) -> Clip:
        """Move a clip's start and end (seconds in its source) and cut its audio again."""
        with self._lock:
            clip = self.clip(clip_id)
            source = self.source(clip.source)
            start, end = max(0.0, float(start)), float(end)
            if source.duration:
                end = min(end, source.duration)
            if end - start < 0.05:
                raise DatasetError(f"Clip {clip_id} would be shorter than 50 ms; drag the edges apart.")
            changed = dataclasses.replace(clip, start=round(start, 3), end=round(end, 3), edited=True,
                                          words=[w for w in clip.words if w[1] >= start - 0.01 and w[2] <= end + 0.01])
        self._render(changed)
        with self._lock:
            self._put(changed)
            self._sort()
            self.save()
        self._notify(Change("clips", (clip_id,)))
        return changed

    def split_clip(self, clip_id: str, at: float) -> Tuple[Clip, Clip]:
        """Split at `at` seconds into the source; the text splits at the nearest word gap."""
        with self._lock:
            clip = self.clip(clip_id)
            if not clip.start + 0.05 < at < clip.end - 0.05:
                raise DatasetError(f"Split point {at:.2f} s is not inside clip {clip_id} "
                                   f"({clip.start:.2f}–{clip.end:.2f} s).")
            first_text, second_text, first_words, second_words = _split_text(clip, at)
            source = self.source(clip.source)
            second_id = f"{clip.source}_{source.next_clip:04d}"
            source.next_clip += 1
            first = dataclasses.replace(clip, end=round(at, 3), text=first_text, words=first_words,
                                        edited=True)
            second = dataclasses.replace(clip, id=second_id, start=round(at, 3), text=second_text,
                                         words=second_words, edited=True)
        self._render(first)
        self._render(second)
        with self._lock:
            self._put(first)
            self.clips.append(second)
            self._sort()
            self.save()
        self._notify(Change("clips", (first.id, second.id)))
        return first, second

    def merge_with_next(self, clip_id: str) -> Clip:
        """Join a clip with the next clip of the same source (the audio between included)."""
        with self._lock:
            clip = self.clip(clip_id)
            following = self.next_clip(clip_id)
            if following is None:
                raise DatasetError(f"Clip {clip_id} is the last of its recording; nothing follows "
                                   "it to merge with.")
            merged = dataclasses.replace(
                clip, end=following.end, text=clean_text(f"{clip.text} {following.text}"),
                words=clip.words + following.words, edited=True,
                excluded=clip.excluded and following.excluded,
                confidence=_min_or_none(clip.confidence, following.confidence))
        self._render(merged)
        with self._lock:
            self._put(merged)
            self.clips = [c for c in self.clips if c.id != following.id]
            self.save()
        self.clip_path(following.id).unlink(missing_ok=True)
        self._notify(Change("clips", (merged.id, following.id)))
        return merged

    def update_transcript(self, clip_id: str, text: str, words: Sequence[Sequence], *,
                          avg_logprob: Optional[float], no_speech_prob: Optional[float],
                          language: Optional[str] = None) -> Clip:
        """A clip transcribed again on request: new text and confidence, marked edited."""
        with self._lock:
            clip = self.clip(clip_id)
            clip.text = clean_text(text)
            clip.words = [list(w) for w in words]
            clip.avg_logprob, clip.no_speech_prob = avg_logprob, no_speech_prob
            clip.confidence = confidence_of(avg_logprob, no_speech_prob)
            clip.language = language or clip.language
            clip.edited = True
            self.save()
        self._notify(Change("clip", (clip_id,)))
        return clip

    def _put(self, clip: Clip) -> None:
        for index, existing in enumerate(self.clips):
            if existing.id == clip.id:
                self.clips[index] = clip
                return
        self.clips.append(clip)

    # -- undo -------------------------------------------------------------------------------
    def capture(self, clip_ids: Iterable[str]) -> List[dict]:
        """Copies of these clips as they are now (ids that do not exist are left out).

        Undo keeps the clips an edit touched before and after it, not the whole dataset, so
        undoing an edit never takes back clips the pipeline added meanwhile.
        """
        wanted = set(clip_ids)
        with self._lock:
            return copy.deepcopy([vars(c) for c in self.clips if c.id in wanted])

    def swap(self, remove_ids: Iterable[str], clips: Sequence[dict]) -> None:
        """Replace the clips `remove_ids` with captured `clips`, cutting audio where needed."""
        incoming = [_clip_from_dict(dict(c)) for c in clips]
        remove = set(remove_ids)
        with self._lock:
            current = {c.id: c for c in self.clips}
        for clip in incoming:
            now = current.get(clip.id)
            if now is None or (now.start, now.end) != (clip.start, clip.end) \
                    or not self.clip_path(clip.id).is_file():
                self._render(clip)
        with self._lock:
            keep = {c.id for c in incoming}
            self.clips = [c for c in self.clips if c.id not in remove and c.id not in keep]
            self.clips.extend(incoming)
            self._sort()
            self.save()
        for clip_id in remove - keep:
            self.clip_path(clip_id).unlink(missing_ok=True)
        self._notify(Change("clips", tuple(sorted(remove | keep))))

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
                "created": self.created, "options": self.options,
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
        """Flag the clips, then write dataset.json and the three manifests, each atomically."""
        from voicelab.core.dataset.flags import FlagContext, compute_flags

        with self._lock:
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
            atomic_write_text(self.path / DATASET_FILE, text)
            atomic_write_text(self.path / "metadata.csv", _lines(rows))
            atomic_write_text(self.path / "train.txt", _lines(train))
            atomic_write_text(self.path / "validation.txt", _lines(validation))

    # -- summary ----------------------------------------------------------------------------
    def summary(self) -> Summary:
        with self._lock:
            return summarize(self.clips)


def summarize(clips: Sequence[Clip]) -> Summary:
    """Counts for the summary line. Takes a list, not the dataset, so the GUI can summarize
    the clips it shows without waiting for the lock while the pipeline saves."""
    usable = [c for c in clips if not c.excluded and clean_text(c.text)]
    seconds = sum(c.duration for c in usable)
    flagged = sum(1 for c in clips if c.flags and not c.excluded)
    excluded = sum(1 for c in clips if c.excluded)
    return Summary(len(clips), len(usable), seconds, flagged, excluded, data_hint(seconds, len(usable)))


def data_hint(seconds: float, clips: int) -> str:
    """What to tell the user about the amount of data they have."""
    minutes = seconds / 60
    if clips == 0:
        return "Add recordings to start: drop audio files or a folder here."
    if minutes < 1:
        return (f"{minutes:.1f} minutes of usable speech is very little: a fine-tune needs "
                "at least a few minutes, and 10+ minutes for good results.")
    if minutes < 10:
        return (f"{minutes:.1f} minutes of usable speech: enough to try, but under ~10 minutes "
                "the voice will sound rough. Add more recordings if you can.")
    if minutes > 600:
        return (f"{minutes / 60:.1f} hours of speech: more than a fine-tune needs; training "
                "epochs will be long, so set a step limit or raise the batch size.")
    return f"{minutes:.1f} minutes of usable speech: a good amount for a fine-tune."


def split_rows(rows: Sequence[str], share: float, seed: int) -> Tuple[List[str], List[str]]:
    """Split manifest rows into train and validation, fixed by `seed`.

    Each row's place comes from a hash of the seed and its id, not from shuffling the list,
    so adding clips later does not move existing ones between the two sets.
    """
    if not rows or share <= 0:
        return list(rows), []
    count = max(1, round(len(rows) * share)) if len(rows) >= 2 else 0
    ranked = sorted(rows, key=lambda row: hashlib.sha1(f"{seed}:{row.split('|', 1)[0]}".encode()).hexdigest())
    chosen = set(ranked[:count])
    return [r for r in rows if r not in chosen], [r for r in rows if r in chosen]


def _lines(rows: Sequence[str]) -> str:
    return "".join(f"{row}\n" for row in rows)


def _reviewed(clip: Clip) -> bool:
    """A person's decision is on this clip: a re-run must leave it alone."""
    return clip.edited or clip.excluded


def _language_option(value: object) -> Optional[str]:
    return value if isinstance(value, str) and value not in ("", "auto") else None


def _min_or_none(a: Optional[float], b: Optional[float]) -> Optional[float]:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


def _normalize_level(samples: np.ndarray, target_db: float, ceiling: float = 0.891) -> np.ndarray:
    """Scale to an RMS of `target_db` dBFS, never letting the peak pass -1 dBFS."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    peak = float(np.max(np.abs(samples)))
    if rms <= 1e-6 or peak <= 0:
        return samples
    gain = min(10 ** (target_db / 20) / rms, ceiling / peak)
    return (samples * gain).astype(np.float32)


def _split_text(clip: Clip, at: float) -> Tuple[str, str, List[list], List[list]]:
    """Divide a clip's words at a time; without word timings, divide the text by length."""
    if clip.words:
        first = [w for w in clip.words if (w[1] + w[2]) / 2 < at]
        second = [w for w in clip.words if (w[1] + w[2]) / 2 >= at]
        return (clean_text(" ".join(str(w[0]).strip() for w in first)),
                clean_text(" ".join(str(w[0]).strip() for w in second)), first, second)
    words = clip.text.split()
    share = (at - clip.start) / max(clip.duration, 1e-6)
    cut = int(round(len(words) * share))
    return " ".join(words[:cut]), " ".join(words[cut:]), [], []
