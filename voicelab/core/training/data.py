"""A run's training data: its own copy of the split, checked, phonemized and cached for piper.

Three steps, at three moments:

* `snapshot_manifests` (when a run is created): copies the dataset's train.txt and
  validation.txt into `run/data/` (or re-splits them when the config asks for another
  validation share) and returns the lineage facts: the dataset's manifest hash and the
  split. Editing the dataset later does not change a created run.
* `prepare` (in the trainer, before the first step): reads the copied manifests, checks each
  clip (file present and readable, transcript the phonemizer can read, not too long for
  memory, not shorter than one training segment) and writes piper's cache (phoneme ids,
  silence-trimmed audio resampled to the quality's rate with soxr, so any dataset trains any
  quality, linear spectrogram as `.pt` tensors, each written atomically) plus
  `cache/prepared.json`, the list that marks the cache complete. Clips that are too long or
  unreadable are dropped and listed; a transcript with no speakable text or an empty result
  raise `TrainingDataError` instead, because training on them would fail or silently learn
  nothing (piper's known "0 training batches" finish).
* `make_datamodule` (in the trainer): piper's `VitsDataModule`, fed from `prepared.json`
  with the run's own split instead of piper's random one; its loaders and collation are
  piper's.

Phonemization and spectrograms are piper's own functions and silence trimming is piper's rule
(prepare_pool.py), so the cache holds what piper's `prepare_data` writes for the same clip
(the one difference: the silence detector starts fresh for every clip, see prepare_pool).

`prepare` is parallel and incremental: silence trimming (most of the time) runs on a pool of
`prepare_workers` processes, and every prepared clip is kept in the workspace's clip store
(clip_store.py) under a key of its phonemes, its audio's hash and the settings, so the next
run on the same dataset only prepares the clips that are new or changed, and links the rest.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicelab.core.errors import VoiceLabError
from voicelab.core.fileio import atomic_write_text, sha256_file
from voicelab.core.progress import CancelToken, EtaEstimator, ProgressCallback, format_time_left, no_progress
from voicelab.core.training.clip_store import entry_key, file_sha1, store_for
from voicelab.core.training.config import TrainConfig
from voicelab.core.training.prepare_pool import ClipFailed, ClipJob, default_workers, process_clips

DATA_DIR = "data"
CACHE_DIR = "cache"
PREPARED_FILE = "prepared.json"
PIPER_CONFIG_FILE = "config.json"
MANIFESTS = ("train.txt", "validation.txt")
PREPARED_VERSION = 1
#: Shown for at most this many problem rows in one message.
_LISTED = 8
#: Fewer clips than this to trim are done in the trainer process (no pool to start).
_POOL_MIN_CLIPS = 8


class TrainingDataError(VoiceLabError):
    """The dataset cannot be trained on as it is; the message says which clips and why."""


@dataclass
class Row:
    id: str
    text: str
    split: str  # "train" or "validation"
    line: int  # 1-based line in the run's copy of the manifest


@dataclass
class Prepared:
    """What `prepare` found and cached (the content of `cache/prepared.json`)."""

    train: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    dropped: list[dict[str, str]] = field(default_factory=list)
    unknown_phonemes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    espeak_voice: str = "en-us"
    sample_rate: int = 22050
    num_symbols: int = 256
    key: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"version": PREPARED_VERSION, "key": self.key, "espeak_voice": self.espeak_voice,
                "sample_rate": self.sample_rate, "num_symbols": self.num_symbols,
                "seconds": round(self.seconds, 3), "train": self.train,
                "validation": self.validation, "dropped": self.dropped,
                "unknown_phonemes": self.unknown_phonemes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prepared:
        return cls(train=list(data["train"]), validation=list(data["validation"]),
                   dropped=list(data.get("dropped", [])),
                   unknown_phonemes=list(data.get("unknown_phonemes", [])),
                   seconds=float(data.get("seconds", 0.0)),
                   espeak_voice=str(data["espeak_voice"]), sample_rate=int(data["sample_rate"]),
                   num_symbols=int(data["num_symbols"]), key=str(data.get("key", "")))


# -- the dataset folder --------------------------------------------------------------------------
def dataset_info(dataset: Path) -> dict[str, Any]:
    """dataset.json of a dataset folder, checked enough to train from."""
    folder = Path(dataset).expanduser()
    if not folder.is_dir():
        raise TrainingDataError(f"The dataset folder {folder} does not exist. Choose a dataset "
                                "made in VoiceLab's Dataset tab (or an LJSpeech-style folder).")
    info_path = folder / "dataset.json"
    info: dict[str, Any] = {}
    if info_path.exists():
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise TrainingDataError(f"Cannot read {info_path}: {error}. Open the dataset in "
                                    "VoiceLab to repair it.") from error
        if not isinstance(info, dict):
            raise TrainingDataError(f"{info_path} is not a dataset description.")
    for name in MANIFESTS:
        if not (folder / name).is_file():
            raise TrainingDataError(f"The dataset {folder} has no {name}. Open it in VoiceLab's "
                                    "Dataset tab and save it, which writes the training split.")
    return info


def dataset_sample_rate(info: dict[str, Any]) -> int | None:
    rate = info.get("sample_rate")
    return int(rate) if isinstance(rate, (int, float)) and not isinstance(rate, bool) else None


def espeak_voice_for(config: TrainConfig, info: dict[str, Any]) -> str:
    """The espeak-ng voice: the config's, else the dataset's language, else en-us."""
    return config.espeak_voice or dataset_espeak_voice(info)


def dataset_espeak_voice(info: dict[str, Any]) -> str:
    """The dataset's language as an espeak-ng voice (dataset.json), else en-us."""
    for value in (info.get("espeak_voice"), (info.get("options") or {}).get("language"),
                  info.get("language")):
        if isinstance(value, str) and value and value != "auto":
            return {"en": "en-us"}.get(value, value)
    return "en-us"


def read_manifest(path: Path, split: str) -> list[Row]:
    """`id|text` rows (LJSpeech's `id|text|normalized` keeps the last column, as piper does)."""
    rows = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise TrainingDataError(f"{path} is not UTF-8 text ({error}). Save it as UTF-8.") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split("|")
        rows.append(Row(id=parts[0].strip(), text=parts[-1].strip() if len(parts) > 1 else "",
                        split=split, line=number))
    return rows


def manifest_hash(dataset: Path) -> str:
    """SHA-256 over the split manifests and each referenced wav's name, size and mtime.

    Content hashing hours of audio would take minutes; size + mtime changes whenever the
    store re-cuts a clip, which is what the lineage must notice.
    """
    folder = Path(dataset)
    digest = hashlib.sha256()
    ids = set()
    for name in MANIFESTS:
        data = (folder / name).read_bytes()
        digest.update(name.encode() + b"\0" + data + b"\0")
        ids.update(row.id for row in read_manifest(folder / name, name))
    for clip_id in sorted(ids):
        wav = _wav_path(folder, clip_id)
        try:
            stat = wav.stat()
            digest.update(f"{clip_id}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{clip_id}|missing\n".encode())
    return digest.hexdigest()


def _wav_path(dataset: Path, clip_id: str) -> Path:
    direct = dataset / "wavs" / clip_id
    return direct if direct.suffix.lower() == ".wav" and direct.is_file() else dataset / "wavs" / f"{clip_id}.wav"


def snapshot_manifests(dataset: Path, run_dir: Path, *, validation_share: float | None,
                       seed: int) -> dict[str, Any]:
    """Copy the split into `run_dir/data/`; returns lineage facts (hashes, counts, how split)."""
    folder = Path(dataset).expanduser().resolve()
    dataset_info(folder)
    target = Path(run_dir) / DATA_DIR
    target.mkdir(parents=True, exist_ok=True)
    train = read_manifest(folder / "train.txt", "train")
    validation = read_manifest(folder / "validation.txt", "validation")
    how = "dataset"
    if validation_share is not None:
        train, validation = _resplit(train + validation, validation_share, seed)
        how = f"re-split: {validation_share:g} validation, seed {seed}"
    for name, rows in (("train.txt", train), ("validation.txt", validation)):
        atomic_write_text(target / name, "".join(f"{r.id}|{r.text}\n" for r in rows))
    return {
        "dataset": str(folder),
        "manifest_sha256": manifest_hash(folder),
        "split": {"how": how, "train": len(train), "validation": len(validation),
                  "train_sha256": sha256_file(target / "train.txt"),
                  "validation_sha256": sha256_file(target / "validation.txt")},
    }


def _resplit(rows: Sequence[Row], share: float, seed: int) -> tuple[list[Row], list[Row]]:
    """Deterministic split by a hash of seed and id (adding clips never moves others)."""
    if share <= 0 or len(rows) < 2:
        return [Row(r.id, r.text, "train", r.line) for r in rows], []
    count = max(1, round(len(rows) * share))
    ranked = sorted(rows, key=lambda r: hashlib.sha1(f"{seed}:{r.id}".encode()).hexdigest())
    chosen = {r.id for r in ranked[:count]}
    return ([Row(r.id, r.text, "train", r.line) for r in rows if r.id not in chosen],
            [Row(r.id, r.text, "validation", r.line) for r in rows if r.id in chosen])


# -- preparing the cache -------------------------------------------------------------------------
def cache_key(config: TrainConfig, espeak_voice: str) -> str:
    """Everything the cached tensors depend on: change any and the cache is rebuilt."""
    hp = config.model_hparams()
    facts = [config.sample_rate, hp.get("filter_length", 1024), hp.get("hop_length", 256),
             hp.get("win_length", 1024), hp.get("segment_size", 8192), config.trim_silence,
             espeak_voice, config.max_phonemes, config.max_seconds]
    return hashlib.sha1(json.dumps(facts).encode()).hexdigest()[:16]


def load_prepared(run_dir: Path) -> Prepared | None:
    path = Path(run_dir) / CACHE_DIR / PREPARED_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != PREPARED_VERSION:
            return None
        return Prepared.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def prepare(run_dir: Path, config: TrainConfig, *, progress: ProgressCallback = no_progress,
            cancel: CancelToken | None = None, shared_store: Any = True) -> Prepared:
    """Check the run's clips and build piper's cache (reused when already complete).

    Clips are prepared on `config.prepare_workers` processes (0: one per core), and taken
    from the workspace's clip store when a run with the same settings prepared them before
    (`shared_store`: True for the workspace's, a folder, or False for none).
    Raises `TrainingDataError` for data that cannot train; `Cancelled` when stopped.
    """
    run_dir = Path(run_dir)
    cancel = cancel or CancelToken()
    dataset = Path(config.dataset).expanduser()
    info = dataset_info(dataset)
    voice = espeak_voice_for(config, info)
    key = cache_key(config, voice)
    existing = load_prepared(run_dir)
    if existing is not None and existing.key == key and _cache_files_exist(run_dir, existing):
        return existing

    cache = run_dir / CACHE_DIR
    if cache.exists():
        shutil.rmtree(cache)  # incomplete or for other settings: never mix
    cache.mkdir(parents=True)
    rows = (read_manifest(run_dir / DATA_DIR / "train.txt", "train") +
            read_manifest(run_dir / DATA_DIR / "validation.txt", "validation"))
    if not any(r.split == "train" for r in rows):
        raise TrainingDataError(
            f"The dataset {dataset.name} has no training clips (train.txt is empty). Add "
            "recordings in the Dataset tab, review them, and start a new run.")

    import soundfile
    import torch
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP, phonemes_to_ids
    from piper.phonemize_espeak import EspeakPhonemizer

    hp = config.model_hparams()
    rate = config.sample_rate
    hop = int(hp.get("hop_length", 256))
    n_fft, win = int(hp.get("filter_length", 1024)), int(hp.get("win_length", 1024))
    segment = int(hp.get("segment_size", 8192))
    phonemizer = EspeakPhonemizer()
    try:
        phonemizer.phonemize(voice, "test")
    except RuntimeError as error:
        raise TrainingDataError(f"espeak-ng has no voice '{voice}' ({error}). Set espeak_voice to a "
                                "voice such as en-us, en-gb, de, fr or es.") from error

    # Pass 1 (fast): every transcript and file, so all problems are reported at once.
    checked: list[tuple[Row, Path, list[int], float]] = []
    dropped: list[dict[str, str]] = []
    unspeakable: list[str] = []
    unknown: set = set()
    for index, row in enumerate(rows):
        cancel.raise_if_cancelled()
        progress(index, len(rows) * 2, "checking transcripts")
        where = f"{row.split}.txt line {row.line} ({row.id})"
        wav = _wav_path(dataset, row.id)
        if not wav.is_file():
            dropped.append({"id": row.id, "split": row.split, "reason": f"audio file missing: {wav}"})
            continue
        try:
            audio_info = soundfile.info(str(wav))
        except Exception as error:  # soundfile.LibsndfileError and friends
            dropped.append({"id": row.id, "split": row.split, "reason": f"unreadable audio: {error}"})
            continue
        seconds = audio_info.frames / float(audio_info.samplerate)
        try:
            sentences = phonemizer.phonemize(voice, row.text)
        except Exception as error:  # espeak rejects the text
            unspeakable.append(f"{where}: “{_short(row.text)}” ({error})")
            continue
        spoken = [p for sentence in sentences for p in sentence if p.strip() and p not in ".,;:!?"]
        if not spoken:
            unspeakable.append(f"{where}: “{_short(row.text)}”")
            continue
        unknown.update(p for sentence in sentences for p in sentence if p not in DEFAULT_PHONEME_ID_MAP)
        ids = [i for sentence in sentences for i in phonemes_to_ids(sentence, id_map=DEFAULT_PHONEME_ID_MAP)]
        if len(ids) > config.max_phonemes:
            dropped.append({"id": row.id, "split": row.split,
                            "reason": f"{len(ids)} phonemes (limit max_phonemes={config.max_phonemes})"})
            continue
        if seconds > config.max_seconds:
            dropped.append({"id": row.id, "split": row.split,
                            "reason": f"{seconds:.1f} s long (limit max_seconds={config.max_seconds:g})"})
            continue
        checked.append((row, wav, ids, seconds))
    if unspeakable:
        raise TrainingDataError(
            f"{len(unspeakable)} transcript(s) give no speech sounds to the phonemizer (espeak-ng "
            f"voice {voice}), so they cannot be trained on: {_listing(unspeakable)}. Write them out "
            "in words or exclude those clips in the Dataset tab, then start a new run.")

    from piper.train.vits.mel_processing import spectrogram_torch

    # Pass 2 (slow): trim silence, cache ids, audio and spectrograms, on every core, reusing
    # clips a run with the same settings already prepared (see clip_store and prepare_pool).
    prepared = Prepared(train=[], validation=[], dropped=dropped, unknown_phonemes=sorted(unknown),
                        espeak_voice=voice, sample_rate=rate,
                        num_symbols=_num_symbols(DEFAULT_PHONEME_ID_MAP), key=key)
    store = store_for(config, voice, shared_store, fallback=run_dir / CACHE_DIR / "store")
    keys = [entry_key(ids, file_sha1(wav)) for _row, wav, ids, _s in checked]
    metas: dict[int, dict[str, Any]] = {}
    for index, entry_id in enumerate(keys):
        found = store.lookup(entry_id)
        if found is not None:
            metas[index] = found
    todo = sorted((i for i in range(len(checked)) if i not in metas),
                  key=lambda i: -checked[i][3])  # longest first: the pool's tail stays short
    jobs = [ClipJob(i, str(checked[i][1]), rate, config.trim_silence) for i in todo]
    workers = config.prepare_workers or default_workers()
    if not config.trim_silence or len(jobs) < _POOL_MIN_CLIPS:
        workers = 1  # loading alone, or a handful of clips: starting processes costs more
    reused, eta = len(metas), EtaEstimator()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the pool holds the other cores; one-thread STFTs are faster too
    try:
        for done, (index, audio) in enumerate(process_clips(jobs, workers=workers, cancel=cancel), 1):
            audio_tensor = torch.from_numpy(audio)
            spec = spectrogram_torch(y=audio_tensor.unsqueeze(0), n_fft=n_fft, sampling_rate=rate,
                                     hop_size=hop, win_size=win, center=False).squeeze(0)
            ids = checked[index][2]
            metas[index] = store.put(keys[index], {"phonemes": torch.LongTensor(ids),
                                                   "audio": audio_tensor, "spec": spec},
                                     {"frames": int(spec.shape[1]), "samples": int(len(audio))})
            left = format_time_left(eta.eta(done, len(jobs)))
            progress(len(rows) + done * len(rows) / len(jobs), len(rows) * 2,
                     f"preparing clips: {done}/{len(jobs)}"
                     + (f" ({reused} reused)" if reused else "") + f", {left}")
    except ClipFailed as error:
        index, why = error.args
        row, wav = checked[index][0], checked[index][1]
        raise TrainingDataError(
            f"Preparing {row.split}.txt line {row.line} ({row.id}, {wav}) failed: {why}. Export "
            "the clip again or exclude it in the Dataset tab, then start again.") from None
    finally:
        torch.set_num_threads(threads)
    cancel.raise_if_cancelled()
    progress(len(rows) * 2, len(rows) * 2, f"{len(checked)} clips prepared ({reused} reused)")

    for index, (row, _wav, ids, _seconds) in enumerate(checked):
        meta = metas[index]
        frames, samples = int(meta["frames"]), int(meta["samples"])
        if frames < segment // hop:
            dropped.append({"id": row.id, "split": row.split,
                            "reason": f"{samples / rate:.2f} s after trimming silence, shorter than "
                                      f"one training segment ({segment / rate:.2f} s)"})
            continue
        stem = _cache_stem(row, keys[index])
        store.link(keys[index], cache, stem)
        entry = {"id": row.id, "text": row.text, "stem": stem, "phonemes": len(ids),
                 "frames": frames, "seconds": round(samples / rate, 3)}
        (prepared.train if row.split == "train" else prepared.validation).append(entry)
        prepared.seconds += samples / rate

    if not prepared.train:
        reasons = _listing([f"{d['id']}: {d['reason']}" for d in dropped])
        raise TrainingDataError(
            "No training clip is usable, so there is nothing to train on. "
            + (f"Dropped: {reasons}. " if dropped else "")
            + "Add recordings (1-15 s each, at least a few minutes in all) and start a new run.")
    write_piper_config(run_dir, prepared)
    atomic_write_text(cache / PREPARED_FILE, json.dumps(prepared.to_dict(), ensure_ascii=False))
    return prepared


def wait_for_prepared(run_dir: Path, config: TrainConfig, *, timeout_s: float = 3600.0,
                      cancel: CancelToken | None = None) -> Prepared:
    """For ddp ranks > 0: the cache rank 0 prepares (same node: already there; other nodes
    share the run folder), never a second preparation racing the first."""
    import time

    dataset = Path(config.dataset).expanduser()
    key = cache_key(config, espeak_voice_for(config, dataset_info(dataset)))
    deadline = time.monotonic() + timeout_s
    while True:
        prepared = load_prepared(run_dir)
        if prepared is not None and prepared.key == key and _cache_files_exist(run_dir, prepared):
            return prepared
        if time.monotonic() > deadline:
            raise TrainingDataError(f"The prepared data of {run_dir} did not appear within "
                                    f"{timeout_s:.0f} s; is the run folder shared by all nodes?")
        if cancel is not None:
            cancel.raise_if_cancelled()
        time.sleep(2.0)


def write_piper_config(run_dir: Path, prepared: Prepared) -> Path:
    """piper's voice config (phoneme map, espeak voice, rate): export writes it next to the .onnx."""
    from piper.config import PhonemeType, PiperConfig
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

    config = PiperConfig(num_symbols=prepared.num_symbols, num_speakers=1,
                         sample_rate=prepared.sample_rate, espeak_voice=prepared.espeak_voice,
                         phoneme_id_map=DEFAULT_PHONEME_ID_MAP, phoneme_type=PhonemeType.ESPEAK,
                         piper_version="1.5.0")
    path = Path(run_dir) / PIPER_CONFIG_FILE
    atomic_write_text(path, json.dumps(config.to_dict(), ensure_ascii=False, indent=2))
    return path


def _num_symbols(id_map: dict[str, Sequence[int]]) -> int:
    """piper's default: 256 symbols, room beyond the largest id in its map."""
    largest = max(max(ids) for ids in id_map.values())
    return max(256, largest + 1)


def _cache_stem(row: Row, entry: str) -> str:
    """Readable (the clip id) and unique (the stored entry: a changed clip gets a new name)."""
    safe = re.sub(r"[^\w.-]+", "_", row.id)[:60]
    return f"{safe}-{entry[:12]}"


def _cache_files_exist(run_dir: Path, prepared: Prepared) -> bool:
    cache = Path(run_dir) / CACHE_DIR
    return all((cache / f"{u['stem']}.{kind}.pt").is_file()
               for u in prepared.train + prepared.validation for kind in ("phonemes", "audio", "spec"))


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _listing(items: Sequence[str]) -> str:
    shown = "; ".join(items[:_LISTED])
    return shown + (f"; and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


# -- piper's data module -------------------------------------------------------------------------
def make_datamodule(run_dir: Path, config: TrainConfig, prepared: Prepared | None, *,
                    batch_size: int | None = None) -> Any:
    """piper's `VitsDataModule` with the run's prepared split (its loaders and collate)."""
    from piper.train.vits.dataset import CachedUtterance, VitsDataModule, VitsDataset

    hp = config.model_hparams()

    class RunDataModule(VitsDataModule):
        """Reads `prepared.json` instead of splitting piper's CSV at random."""

        def prepare_data(self) -> None:  # done by `prepare` before fit
            pass

        def setup(self, stage: str) -> None:
            assert prepared is not None
            cache = Path(run_dir) / CACHE_DIR

            def utterances(entries):
                return [CachedUtterance(phoneme_ids_path=cache / f"{e['stem']}.phonemes.pt",
                                        audio_norm_path=cache / f"{e['stem']}.audio.pt",
                                        audio_spec_path=cache / f"{e['stem']}.spec.pt",
                                        text=e["text"], speaker_id=None) for e in entries]

            self.train_dataset = VitsDataset(utterances(prepared.train))
            self.val_dataset = VitsDataset(utterances(prepared.validation))
            self.test_dataset = []  # piper synthesizes these for TensorBoard/MOS: both off

        def _make_dataloader(self, dataset, shuffle: bool = False, drop_last: bool = False):
            """piper's loader, with its workers started as `loader_options` says."""
            from torch.utils.data import DataLoader

            return DataLoader(dataset, batch_size=self.batch_size, shuffle=shuffle, drop_last=drop_last,
                              **loader_arguments(self))

        def train_dataloader(self):
            trainer = getattr(self, "trainer", None)
            if not config.bucket_batches or (trainer is not None and trainer.world_size > 1):
                return super().train_dataloader()  # piper's random batches (ddp: always)
            from voicelab.core.training.bucketing import bucketed_loader

            return bucketed_loader(self, [int(e["frames"]) for e in prepared.train], config.seed,
                                   loader_arguments(self))

    return RunDataModule(
        csv_path=Path(run_dir) / DATA_DIR / "train.txt",
        cache_dir=Path(run_dir) / CACHE_DIR,
        espeak_voice=prepared.espeak_voice if prepared else "en-us",
        config_path=Path(run_dir) / PIPER_CONFIG_FILE,
        voice_name=Path(run_dir).name,
        sample_rate=config.sample_rate,
        num_symbols=prepared.num_symbols if prepared else 256,
        num_speakers=1,
        batch_size=batch_size or config.batch_size,
        validation_split=0.0,
        num_test_examples=0,
        filter_length=int(hp.get("filter_length", 1024)),
        hop_length=int(hp.get("hop_length", 256)),
        win_length=int(hp.get("win_length", 1024)),
        segment_size=int(hp.get("segment_size", 8192)),
        num_workers=config.num_workers,
        trim_silence=config.trim_silence,
    )


def loader_options(num_workers: int) -> dict[str, Any]:
    """How a training loader starts its `num_workers` worker processes.

    "spawn", never fork: the trainer runs threads (heartbeat, stop listener, Lightning's),
    and a forked worker inherits every lock one of them held at that moment, locked for
    good; with fork, one such lock kept the default one-worker run at step 0 forever. Spawn
    is also what Windows and macOS use and what the packaged app supports
    (`freeze_support` in `voicelab.__main__`). Workers persist across epochs, so the
    start-up (an import of torch) is paid once per run.
    """
    if num_workers <= 0:
        return {"num_workers": 0}
    return {"num_workers": num_workers, "multiprocessing_context": "spawn",
            "persistent_workers": True, "prefetch_factor": 4}


def loader_arguments(module: Any) -> dict[str, Any]:
    """What every training loader of `module` (a piper data module) is built with besides its
    batching: piper's collation, pinned memory, and workers as `loader_options` starts them."""
    from piper.train.vits.dataset import UtteranceCollate

    collate = UtteranceCollate(is_multispeaker=module.num_speakers > 1, segment_size=module.segment_size)
    return {"pin_memory": True, "collate_fn": collate, **loader_options(module.num_workers)}


def steps_per_epoch(prepared: Prepared, batch_size: int, world_size: int = 1) -> int:
    """Training batches per epoch on each process, as piper's loader makes them."""
    count = len(prepared.train)
    per_rank = math.ceil(count / max(1, world_size))
    drop_last = count > batch_size  # piper drops the ragged last batch only when it can
    return max(1, per_rank // batch_size if drop_last else math.ceil(per_rank / batch_size))


def remove_cache(run_dir: Path) -> None:
    """Delete the cache (it can be rebuilt from the dataset while the dataset is unchanged)."""
    shutil.rmtree(Path(run_dir) / CACHE_DIR, ignore_errors=True)

