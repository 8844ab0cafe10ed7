"""A run's training data, checked, phonemized and cached for piper before the first step.

`prepare` (in the trainer) reads the run's copy of the split (made when the run was
created: run/snapshot.py), checks each clip (file present and readable, transcript the
phonemizer can read, not too long for memory, not shorter than one training segment) and
writes piper's cache (phoneme ids, silence-trimmed audio resampled to the quality's rate
with soxr, so any dataset trains any quality, and scaled to one level (prepare_pool says
why), linear spectrogram as `.pt` tensors, each written atomically) plus
`cache/prepared.json`, the list that marks the cache complete.
Clips that are too long or unreadable are dropped and listed; a transcript with no
speakable text or an empty result raise `TrainingDataError` instead, because training on
them would fail or silently learn nothing (piper's known "0 training batches" finish).
piper's data module reads that cache (datamodule.py).

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
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicelab.core.fileio import atomic_write_text
from voicelab.core.progress import CancelToken, EtaEstimator, ProgressCallback, format_time_left, no_progress
from voicelab.core.training.run.config import TrainConfig
from voicelab.core.training.run.snapshot import (
    DATA_DIR,
    Row,
    TrainingDataError,
    dataset_info,
    espeak_voice_for,
    read_manifest,
    wav_path,
)
from voicelab.core.training.trainer.clip_store import entry_key, file_sha1, store_for
from voicelab.core.training.trainer.prepare_pool import ClipFailed, ClipJob, default_workers, process_clips

CACHE_DIR = "cache"
PREPARED_FILE = "prepared.json"
PIPER_CONFIG_FILE = "config.json"
PREPARED_VERSION = 1
#: Shown for at most this many problem rows in one message.
_LISTED = 8
#: Fewer clips than this to trim are done in the trainer process (no pool to start).
_POOL_MIN_CLIPS = 8


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


# -- preparing the cache -------------------------------------------------------------------------
def cache_key(config: TrainConfig, espeak_voice: str) -> str:
    """Everything the cached tensors depend on: change any and the cache is rebuilt."""
    hp = config.model_hparams()
    facts = [config.sample_rate, hp.get("filter_length", 1024), hp.get("hop_length", 256),
             hp.get("win_length", 1024), hp.get("segment_size", 8192), config.trim_silence,
             espeak_voice, config.max_phonemes, config.max_seconds]
    if config.clip_level_db is not None:  # runs prepared before levels were set keep their key
        facts.append(config.clip_level_db)
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
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

    run_dir = Path(run_dir)
    cancel = cancel or CancelToken()
    dataset = Path(config.dataset).expanduser()
    voice = espeak_voice_for(config, dataset_info(dataset))
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
    checked, dropped, unknown = _check_rows(rows, dataset, voice, config, progress, cancel)
    prepared = Prepared(train=[], validation=[], dropped=dropped, unknown_phonemes=sorted(unknown),
                        espeak_voice=voice, sample_rate=config.sample_rate,
                        num_symbols=_num_symbols(DEFAULT_PHONEME_ID_MAP), key=key)
    store = store_for(config, voice, shared_store, fallback=run_dir / CACHE_DIR / "store")
    keys = [entry_key(ids, file_sha1(wav)) for _row, wav, ids, _s in checked]
    metas = _cache_clips(checked, keys, store, config, len(rows), progress, cancel)
    _list_clips(prepared, checked, keys, metas, store, cache, config)
    write_piper_config(run_dir, prepared)
    atomic_write_text(cache / PREPARED_FILE, json.dumps(prepared.to_dict(), ensure_ascii=False))
    return prepared


Checked = list[tuple[Row, Path, list[int], float]]  # (row, its wav, phoneme ids, seconds)


def _check_rows(rows: Sequence[Row], dataset: Path, voice: str, config: TrainConfig,
                progress: ProgressCallback, cancel: CancelToken) -> tuple[Checked, list[dict[str, str]], set]:
    """Pass 1 (fast): every transcript and file, so all problems are reported at once.

    Returns the clips to prepare, the dropped ones with their reason, and the phonemes
    piper's map lacks; raises `TrainingDataError` listing every transcript with no speech.
    """
    import soundfile
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP, phonemes_to_ids
    from piper.phonemize_espeak import EspeakPhonemizer

    phonemizer = EspeakPhonemizer()
    try:
        phonemizer.phonemize(voice, "test")
    except RuntimeError as error:
        raise TrainingDataError(f"espeak-ng has no voice '{voice}' ({error}). Set espeak_voice to a "
                                "voice such as en-us, en-gb, de, fr or es.") from error
    checked: Checked = []
    dropped: list[dict[str, str]] = []
    unspeakable: list[str] = []
    unknown: set = set()
    for index, row in enumerate(rows):
        cancel.raise_if_cancelled()
        progress(index, len(rows) * 2, "checking transcripts")
        where = f"{row.split}.txt line {row.line} ({row.id})"
        wav = wav_path(dataset, row.id)
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
    return checked, dropped, unknown


def _cache_clips(checked: Checked, keys: list[str], store: Any, config: TrainConfig, rows: int,
                 progress: ProgressCallback, cancel: CancelToken) -> dict[int, dict[str, Any]]:
    """Pass 2 (slow): trim silence, cache ids, audio and spectrograms, on every core, reusing
    clips a run with the same settings already prepared (see clip_store and prepare_pool).
    Returns each clip's stored facts (frames, samples) by its index in `checked`."""
    import torch
    from piper.train.vits.mel_processing import spectrogram_torch

    hp = config.model_hparams()
    rate = config.sample_rate
    hop = int(hp.get("hop_length", 256))
    n_fft, win = int(hp.get("filter_length", 1024)), int(hp.get("win_length", 1024))
    metas: dict[int, dict[str, Any]] = {}
    for index, entry_id in enumerate(keys):
        found = store.lookup(entry_id)
        if found is not None:
            metas[index] = found
    todo = sorted((i for i in range(len(checked)) if i not in metas),
                  key=lambda i: -checked[i][3])  # longest first: the pool's tail stays short
    jobs = [ClipJob(i, str(checked[i][1]), rate, config.trim_silence, config.clip_level_db)
            for i in todo]
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
            progress(rows + done * rows / len(jobs), rows * 2,
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
    progress(rows * 2, rows * 2, f"{len(checked)} clips prepared ({reused} reused)")
    return metas


def _list_clips(prepared: Prepared, checked: Checked, keys: list[str], metas: dict[int, dict[str, Any]],
                store: Any, cache: Path, config: TrainConfig) -> None:
    """Link each prepared clip into the run's cache and list it in its split; clips shorter
    than one training segment are dropped (piper would fail on them)."""
    hp = config.model_hparams()
    rate = config.sample_rate
    hop, segment = int(hp.get("hop_length", 256)), int(hp.get("segment_size", 8192))
    for index, (row, _wav, ids, _seconds) in enumerate(checked):
        meta = metas[index]
        frames, samples = int(meta["frames"]), int(meta["samples"])
        if frames < segment // hop:
            prepared.dropped.append({"id": row.id, "split": row.split,
                                     "reason": f"{samples / rate:.2f} s after trimming silence, shorter "
                                               f"than one training segment ({segment / rate:.2f} s)"})
            continue
        stem = _cache_stem(row, keys[index])
        store.link(keys[index], cache, stem)
        entry = {"id": row.id, "text": row.text, "stem": stem, "phonemes": len(ids),
                 "frames": frames, "seconds": round(samples / rate, 3)}
        (prepared.train if row.split == "train" else prepared.validation).append(entry)
        prepared.seconds += samples / rate
    if not prepared.train:
        reasons = _listing([f"{d['id']}: {d['reason']}" for d in prepared.dropped])
        raise TrainingDataError(
            "No training clip is usable, so there is nothing to train on. "
            + (f"Dropped: {reasons}. " if prepared.dropped else "")
            + "Add recordings (1-15 s each, at least a few minutes in all) and start a new run.")


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


def remove_cache(run_dir: Path) -> None:
    """Delete the cache (it can be rebuilt from the dataset while the dataset is unchanged)."""
    shutil.rmtree(Path(run_dir) / CACHE_DIR, ignore_errors=True)

