"""Creating a run: the one place where a run folder is born, its settings and base checked.

Separate from run/ (the bookkeeping the GUI reads without torch) because checking a base
opens it: a `.ckpt` through the safe loader, an `.onnx` voice through the ONNX reader
(bases/base.py). Everything else a trainer would refuse (the settings, the dataset's
split, the name) is checked here too, before any process starts.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import shutil
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from voicelab import __version__
from voicelab.core.fileio import sha256_file
from voicelab.core.names import inside
from voicelab.core.training.bases.base import check_base_quality, inspect_base
from voicelab.core.training.run import snapshot
from voicelab.core.training.run.config import TrainConfig, config_from_dict
from voicelab.core.training.run.runs import (
    CHECKPOINT_DIR,
    CHECKPOINT_NAME,
    LOG_DIR,
    PREVIEW_DIR,
    TRAIN_FILE,
    RunError,
    now,
    write_train_yaml,
)


def default_run_name(config: TrainConfig) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{Path(config.dataset).name or 'run'}-{config.quality}-{stamp}"


def create_run(runs_dir: Path, config: TrainConfig | Mapping[str, Any], *,
               name: str | None = None, from_checkpoint: Path | None = None) -> Path:
    """Check everything a trainer can check without torch, then write the run folder.

    `from_checkpoint` branches: the new run starts from that checkpoint's weights (of an
    earlier run, or any Piper checkpoint) as its base, with a fresh optimizer and its own
    config; the lineage records where it came from.
    """
    if not isinstance(config, TrainConfig):
        config = config_from_dict(config)
    if from_checkpoint is not None:
        config = _with_base(config, Path(from_checkpoint))
    run_dir = inside(runs_dir, name or default_run_name(config), "run")
    name = run_dir.name
    if run_dir.exists():
        raise RunError(f"A run named “{name}” already exists in {runs_dir}. Choose another name, "
                       "or resume that run.")
    dataset = Path(config.dataset).expanduser().resolve()
    info = snapshot.dataset_info(dataset)
    config = dataclasses.replace(config, dataset=str(dataset))
    base_facts = None
    if config.base is not None:
        config, base_facts = _check_base(config)
    lineage: dict[str, Any] = {"created": now(), "voicelab_version": __version__,
                               "piper_version": _version("piper-tts")}
    run_dir.mkdir(parents=True)
    try:
        facts = snapshot.snapshot_manifests(dataset, run_dir, validation_share=config.validation_share,
                                            seed=config.seed)
        lineage["dataset"] = {"path": str(dataset), "name": info.get("name") or dataset.name,
                              "sample_rate": snapshot.dataset_sample_rate(info),
                              "manifest_sha256": facts["manifest_sha256"]}
        lineage["split"] = facts["split"]
        lineage["base"] = base_facts
        lineage["branched_from"] = _branch_facts(Path(from_checkpoint)) if from_checkpoint else None
        for folder in (CHECKPOINT_DIR, PREVIEW_DIR, LOG_DIR):
            (run_dir / folder).mkdir(exist_ok=True)
        write_train_yaml(run_dir, config, lineage)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return run_dir


def _with_base(config: TrainConfig, checkpoint: Path) -> TrainConfig:
    if not checkpoint.is_file():
        raise RunError(f"The checkpoint to branch from does not exist: {checkpoint}.")
    return dataclasses.replace(config, base=str(checkpoint.resolve()), base_sha256=None)


def _check_base(config: TrainConfig) -> tuple:
    """Checksum the base and check that it is a voice of the run's quality."""
    path = Path(config.base).expanduser()
    if not path.is_file():
        raise RunError(f"The base checkpoint {path} does not exist. Download one in the Models "
                       "dialog, choose another file, or train from scratch (no base).")
    sha = sha256_file(path)
    if config.base_sha256 and config.base_sha256 != sha:
        raise RunError(f"The base checkpoint {path} has changed: its SHA-256 is {sha}, not the "
                       f"{config.base_sha256} the settings name. Choose the right file or clear "
                       "base_sha256.")
    facts: dict[str, Any] = {"path": str(path.resolve()), "sha256": sha, "quality": None,
                             "origin": None}
    info = inspect_base(path)
    check_base_quality(info, config.quality, overrides=config.model)
    facts.update(quality=info.quality, origin=info.origin, sample_rate=info.sample_rate,
                 num_speakers=info.num_speakers)
    return dataclasses.replace(config, base=str(path.resolve()), base_sha256=sha), facts


def _branch_facts(checkpoint: Path) -> dict[str, Any]:
    checkpoint = checkpoint.resolve()
    facts: dict[str, Any] = {"checkpoint": str(checkpoint), "run": None, "step": None}
    match = CHECKPOINT_NAME.match(checkpoint.name)
    if match:
        facts["step"] = int(match.group(1))
    parent = checkpoint.parent.parent
    if checkpoint.parent.name == CHECKPOINT_DIR and (parent / TRAIN_FILE).exists():
        facts["run"] = str(parent)
    return facts


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
