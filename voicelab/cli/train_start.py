"""`voicelab-cli train start` and `train resume`, and the settings a run starts with.

`start` creates a run folder (train.yaml with every setting and its lineage: from
`--config`, then the flags, then `--set KEY=VALUE`) and trains it; `resume` continues a
stopped, failed or killed run from its newest checkpoint. Both hand the run to
`train_follow.run_trainer`, which runs the same trainer process the GUI runs, so either
can resume the other's runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from voicelab.cli.train_follow import run_trainer
from voicelab.core.errors import VoiceLabError
from voicelab.core.workspace import Workspace

_FLAG_SETTINGS = (  # (flag dest, config key)
    ("quality", "quality"), ("max_epochs", "max_epochs"), ("max_steps", "max_steps"),
    ("batch_size", "batch_size"), ("learning_rate", "learning_rate"),
    ("accumulate", "accumulate_grad_batches"), ("precision", "precision"),
    ("optimizer", "optimizer"), ("checkpoint_every_epochs", "checkpoint_every_epochs"),
    ("checkpoint_every_steps", "checkpoint_every_steps"), ("device", "device"),
    ("devices", "devices"), ("strategy", "strategy"), ("num_nodes", "num_nodes"),
    ("workers", "num_workers"), ("seed", "seed"), ("preview_every", "preview_every_epochs"),
    ("validation_share", "validation_share"), ("espeak_voice", "espeak_voice"),
)


def run_settings(args: argparse.Namespace, ws: Workspace) -> dict[str, Any]:
    """The new run's settings: `--config`'s, then the flags', then each `--set`; the dataset
    and the base made paths (`--base scratch`: None)."""
    from voicelab.core.fileio import read_yaml

    settings: dict[str, Any] = {}
    if args.config is not None:
        try:
            loaded = read_yaml(args.config)
        except FileNotFoundError:
            raise VoiceLabError(f"The settings file {args.config} does not exist.") from None
        except Exception as error:
            detail = " ".join(str(error).split())  # one line: YAML's messages span several
            raise VoiceLabError(f"Cannot read {args.config}: {detail}") from error
        if not isinstance(loaded, dict):
            raise VoiceLabError(f"{args.config} must hold `key: value` settings.")
        settings.update({k: v for k, v in loaded.items() if k != "lineage"})
    for dest, key in _FLAG_SETTINGS:
        value = getattr(args, dest, None)
        if value is not None:
            settings[key] = value
    if args.devices is not None:
        settings["devices"] = int(args.devices) if args.devices.isdigit() else args.devices
    for item in args.set:
        _apply_set(settings, item)
    if args.dataset:
        settings["dataset"] = str(_dataset_folder(ws, args.dataset))
    elif "dataset" in settings:
        settings["dataset"] = str(_dataset_folder(ws, str(settings["dataset"])))
    if args.base and args.base.strip().lower() in SCRATCH_NAMES:
        settings["base"] = None
    elif args.base:
        settings["base"] = str(_base_path(ws, args.base))
    return settings


#: `--base` values that mean "no base": train from scratch.
SCRATCH_NAMES = ("scratch", "none")


def _apply_set(settings: dict[str, Any], item: str) -> None:
    import yaml

    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise VoiceLabError(f"--set needs KEY=VALUE, not “{item}” (e.g. --set keep_best=5).")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as error:
        raise VoiceLabError(f"--set {key}: cannot read “{raw}” as a value ({error}).") from error
    target = settings
    parts = key.strip().split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise VoiceLabError(f"--set {key}: {part} is not a group of settings.")
    target[parts[-1]] = value


def _dataset_folder(ws: Workspace, name: str) -> Path:
    """A dataset of the workspace by name, or a dataset folder given by its path."""
    from voicelab.core.names import name_or_folder

    found = name_or_folder(ws.datasets, name, "dataset", Path.is_dir)
    if found is not None:
        return found
    known = sorted(p.name for p in ws.datasets.iterdir() if p.is_dir()) if ws.datasets.is_dir() else []
    raise VoiceLabError(f"There is no dataset “{name}”. Datasets: {', '.join(known) or 'none yet'} "
                        "(or give a dataset folder).")


def _base_path(ws: Workspace, base: str) -> Path:
    path = Path(base).expanduser()
    if path.is_file():
        return path.resolve()
    from voicelab.core.models import ModelManager
    from voicelab.core.voice_bases import find_voice_base

    manager = ModelManager(ws)
    try:
        entry = manager.get(base)
    except VoiceLabError:
        voice = find_voice_base(ws, base)
        if voice is not None:
            return voice
        raise VoiceLabError(f"The base “{base}” is neither a file nor a model id (nor a voice of "
                            "the workspace). See `voicelab-cli train bases`.") from None
    local = manager.local_path(entry)
    if local is None:
        raise VoiceLabError(f"The base model {base} is not downloaded yet: run "
                            f"`voicelab-cli models download {base}` first.")
    return local


def start_run(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.training.new_run import create_run

    settings = run_settings(args, ws)
    if not settings.get("dataset"):
        raise VoiceLabError("Which dataset? Give --dataset NAME (see the workspace's datasets "
                            "folder) or a dataset folder.")
    if "base" not in settings and args.from_checkpoint is None:
        from voicelab.core.voice_bases import default_base

        found = default_base(ws, Path(settings["dataset"]))
        settings["base"] = str(found) if found else None
        print(f"base: {found.name} (the built-in voice of the dataset's language; --base scratch "
              "trains from scratch)" if found else "base: none, training from scratch (no built-in "
              "voice speaks the dataset's language; give --base)", file=sys.stderr)
    from voicelab.core.training.run.config import config_from_dict
    from voicelab.core.training.trainer.devices import check_device

    check_device(config_from_dict(settings).device)  # before the run exists: no failed run left
    run_dir = create_run(ws.runs, settings, name=args.name, from_checkpoint=args.from_checkpoint)
    print(f"run: {run_dir}", file=sys.stderr)
    return run_trainer(run_dir, detach=args.detach)


def resume_run(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.training.run import runs

    run_dir = runs.find_run(ws.runs, args.run)
    if runs.is_running(run_dir):
        raise VoiceLabError(f"The run {run_dir.name} is already training.")
    from voicelab.core.training.trainer.devices import check_device

    config = runs.change_limits(run_dir, max_steps=args.max_steps, max_epochs=args.max_epochs)
    check_device(config.device)
    status = runs.run_status(run_dir)
    if status == "finished" and args.max_steps is None and args.max_epochs is None:
        raise VoiceLabError(f"The run {run_dir.name} has finished. To train it further, raise its "
                            "limit: `train resume RUN --max-epochs N` (or --max-steps N).")
    checkpoint = runs.latest_checkpoint(run_dir)
    print(f"resuming {run_dir.name} from "
          f"{checkpoint.name if checkpoint else 'the start (no checkpoint yet)'}", file=sys.stderr)
    return run_trainer(run_dir, detach=args.detach)
