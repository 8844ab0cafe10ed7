"""A run's own copy of its dataset's split, and what a run reads of the dataset folder.

When a run is created, `snapshot_manifests` copies the dataset's train.txt and validation.txt
into `run/data/` (or re-splits them when the config asks for another validation share) and
returns the lineage facts: the dataset's manifest hash and the split. Editing the dataset
later does not change a created run. The trainer reads that copy back (`read_manifest`)
when it prepares the clips (trainer/prepare.py).

Plain files and JSON only: run bookkeeping, the GUI and the CLI use it without torch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicelab.core.errors import VoiceLabError
from voicelab.core.fileio import atomic_write_text, sha256_file
from voicelab.core.training.run.config import TrainConfig

DATA_DIR = "data"
MANIFESTS = ("train.txt", "validation.txt")


class TrainingDataError(VoiceLabError):
    """The dataset cannot be trained on as it is; the message says which clips and why."""


@dataclass
class Row:
    id: str
    text: str
    split: str  # "train" or "validation"
    line: int  # 1-based line in the run's copy of the manifest


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
        wav = wav_path(folder, clip_id)
        try:
            stat = wav.stat()
            digest.update(f"{clip_id}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{clip_id}|missing\n".encode())
    return digest.hexdigest()


def wav_path(dataset: Path, clip_id: str) -> Path:
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
