"""Renaming and deleting what a workspace holds (datasets, runs, voices), safely.

The tabs each show a slice of the workspace, but the things in it refer to one another: a
run's `train.yaml` names its dataset folder and base, presets name their voice, the
settings remember the last dataset, run and preset. Renaming or deleting one of them here
keeps those references true, and refuses while a trainer (in this app, the CLI or another
copy of VoiceLab) is using the thing: the trainer's OS lock is the one fact every process
can see. What the GUI's own background jobs hold is the GUI's to check (`JobManager`).

Deleting is a rename to a hidden tombstone in the same folder followed by removing it, so
the item is gone for every listing at once, and a crash half-way leaves only a tombstone,
which the next delete of anything clears, never a half-deleted dataset that still lists.
Renames are single `os.rename` calls (atomic on one file system).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from voicelab.core.errors import VoiceLabError
from voicelab.core.names import inside, safe_file_name

TOMBSTONE_PREFIX = ".deleted-"


class InUse(VoiceLabError):
    """The item is used by something running; the message says what and how to free it."""


class InventoryError(VoiceLabError):
    """A rename or delete that cannot be done (bad name, name taken, item gone)."""


@dataclass
class Users:
    """Who refers to an item: presets that name a voice, runs that name a dataset or base."""

    presets: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)  # runs whose trainer is running now


# --------------------------------------------------------------------------- runs


def _runs_dir(workspace) -> Path:
    return workspace.runs


def _same(a: str | None, b: Path) -> bool:
    if not a:
        return False
    try:
        return Path(a).expanduser().resolve() == b.resolve()
    except OSError:
        return False


def _runs_referring(workspace, path: Path, attribute: str) -> Users:
    """Runs whose config's `attribute` (dataset / base) is `path`, and which of them run."""
    from voicelab.core.training.run.runs import is_running, load_run

    users = Users()
    runs = _runs_dir(workspace)
    for run in sorted(runs.iterdir() if runs.is_dir() else [], key=lambda p: p.name.lower()):
        if run.name.startswith(".") or not (run / "train.yaml").is_file():
            continue
        try:
            config, _lineage = load_run(run)
        except VoiceLabError:
            continue
        if _same(getattr(config, attribute), path):
            users.runs.append(run.name)
            if is_running(run):
                users.running.append(run.name)
    return users


def _refuse_running(users: Users, what: str) -> None:
    if users.running:
        names = ", ".join(users.running)
        raise InUse(f"{what} is used by the training run {names}, which is running. Stop the "
                    "run in the Training tab (or `voicelab-cli train stop`) first.")


def delete_run(workspace, name: str) -> None:
    """Delete a run folder (checkpoints, previews, logs); refused while it trains.

    Voices exported from it stay: they live in the voices folder."""
    from voicelab.core.training.run.runs import is_running

    run = inside(_runs_dir(workspace), name, "run")
    if not (run / "train.yaml").is_file():
        raise InventoryError(f"There is no training run '{name}' in {run.parent}.")
    if is_running(run):
        raise InUse(f"The run {name} is training. Stop it first, then delete it.")
    _remove(run)
    _forget(workspace, last_run=name)


# --------------------------------------------------------------------------- datasets


def dataset_users(workspace, name: str) -> Users:
    from voicelab.core.dataset.store import dataset_folder

    return _runs_referring(workspace, dataset_folder(workspace, name), "dataset")


def rename_dataset(workspace, old: str, new: str) -> Path:
    """Rename a dataset (its folder and its own record) and point its runs at the new folder.

    Runs keep their own copy of the split and their prepared cache, so renaming only updates
    the path they would read the clips from again."""
    from voicelab.core.dataset.jsonfile import DATASET_FILE
    from voicelab.core.dataset.store import Dataset, dataset_folder
    from voicelab.core.training.run.runs import load_run, write_train_yaml

    source, target = dataset_folder(workspace, old), dataset_folder(workspace, new)
    new = target.name
    if not (source / DATASET_FILE).is_file():
        raise InventoryError(f"There is no dataset '{old}' in {source.parent}.")
    if new == old:
        return source
    if target.exists() and not _same_folder(source, target):
        raise InventoryError(f"A dataset named '{new}' already exists; choose another name.")
    users = dataset_users(workspace, old)
    _refuse_running(users, f"The dataset '{old}'")
    os.rename(source, target)
    dataset = Dataset.open(target)
    dataset.name = new
    dataset.save()  # the store's own atomic write of its record
    for run_name in users.runs:
        run = _runs_dir(workspace) / run_name
        config, lineage = load_run(run)
        write_train_yaml(run, dataclasses.replace(config, dataset=str(target)), lineage)
    _forget(workspace, last_dataset=old, replace=new)
    return target


def _same_folder(a: Path, b: Path) -> bool:
    """True on a case-insensitive file system when only the letter case changes."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def delete_dataset(workspace, name: str) -> Users:
    """Delete a dataset folder (its copies of the recordings, clips and manifests).

    The user's original recordings are never touched. Runs trained on it keep their own
    prepared copy; they are returned so the caller can say so."""
    from voicelab.core.dataset.jsonfile import DATASET_FILE
    from voicelab.core.dataset.store import dataset_folder

    folder = dataset_folder(workspace, name)
    if not (folder / DATASET_FILE).is_file():
        raise InventoryError(f"There is no dataset '{name}' in {folder.parent}.")
    users = dataset_users(workspace, name)
    _refuse_running(users, f"The dataset '{name}'")
    _remove(folder)
    _forget(workspace, last_dataset=name)
    return users


# --------------------------------------------------------------------------- voices


def voice_files(workspace, voice_id: str) -> tuple:
    """(model, config) paths of a voice file of the workspace; `InventoryError` for the
    built-in voice and checkpoints, `VoiceError` when it is gone."""
    from voicelab.core.synthesis.voices import find_voice

    info = find_voice(workspace, voice_id)  # VoiceError when gone
    if info.builtin or not Path(info.model_path).is_relative_to(Path(workspace.voices)):
        raise InventoryError(f"'{info.name}' is not a voice file of this workspace (the built-in "
                             "voice and training checkpoints cannot be renamed or deleted here).")
    model = Path(info.model_path)
    return model, model.with_name(model.name + ".json")


def voice_users(workspace, voice_id: str) -> Users:
    from voicelab.core.synthesis.presets import PresetStore

    model, _config = voice_files(workspace, voice_id)
    users = _runs_referring(workspace, model, "base")
    store = PresetStore.open(workspace)
    users.presets = [p.name for p in store.list() if p.voice == voice_id]
    return users


def rename_voice(workspace, voice_id: str, new_name: str) -> str:
    """Rename a workspace voice's files and every preset that uses it; returns the new id.
    The name as typed stays the voice's shown name (`voice_names.display_name`)."""
    from voicelab.core.synthesis.presets import PresetStore
    from voicelab.core.synthesis.voice_import import rename_display
    from voicelab.core.synthesis.voices import workspace_voice_id

    model, config = voice_files(workspace, voice_id)
    stem = safe_file_name(new_name, "voice")
    new_model = model.with_name(f"{stem}.onnx")
    new_config = new_model.with_name(new_model.name + ".json")
    new_id = workspace_voice_id(workspace, new_model)
    if new_id == voice_id:  # "My test voice" for My_test_voice: only the shown name changes
        rename_display(config, new_name)
        return voice_id
    if new_model.exists() or new_config.exists():
        raise InventoryError(f"A voice named '{stem}' already exists; choose another name.")
    users = voice_users(workspace, voice_id)
    _refuse_running(users, f"The voice '{voice_id}'")
    os.rename(config, new_config)  # config first: a lone .onnx lists as "config missing"
    os.rename(model, new_model)
    try:
        rename_display(new_config, new_name)
    except (VoiceLabError, OSError):
        pass  # renamed all the same; it shows its file name
    store = PresetStore.open(workspace)
    for preset in store.list():
        if preset.voice == voice_id:
            store.update(dataclasses.replace(preset, voice=new_id))
    from voicelab.core.synthesis.voices import clear_voice_cache

    clear_voice_cache()
    return new_id


def delete_voice(workspace, voice_id: str) -> Users:
    """Delete a workspace voice's `.onnx` and `.onnx.json`; refused while a run trains from it.

    Presets that used it stay and say that their voice is gone; they are returned so the
    caller can ask first."""
    model, config = voice_files(workspace, voice_id)
    users = voice_users(workspace, voice_id)
    _refuse_running(users, f"The voice '{voice_id}'")
    _remove(*(path for path in (model, config) if path.exists()))
    from voicelab.core.synthesis.voices import clear_voice_cache

    clear_voice_cache()
    return users


# --------------------------------------------------------------------------- helpers


def _remove(*paths: Path) -> None:
    """Out of every listing at once (each a rename, all before anything is removed), then
    removed, with any tombstones an earlier crash left beside them."""
    stamp = f"{TOMBSTONE_PREFIX}{int(time.time() * 1000)}-"
    for path in paths:
        os.rename(path, path.with_name(stamp + path.name))
    for folder in {path.parent for path in paths}:
        for leftover in folder.glob(f"{TOMBSTONE_PREFIX}*"):
            shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)


def _forget(workspace, replace: str | None = None, **fields: str) -> None:
    """Settings that remembered the item now remember its new name, or nothing."""
    settings = workspace.settings
    changed = False
    for key, value in fields.items():
        if getattr(settings, key, None) == value:
            setattr(settings, key, replace)
            changed = True
    if changed:
        workspace.save_settings()
