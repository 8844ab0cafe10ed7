"""The dataset a command names: opened, or one line that says which datasets there are, and
how to recover a damaged one. `dataset` and `record` both take a dataset by name; here, not
in either, so neither imports the other's module for it."""

from __future__ import annotations

from pathlib import Path

from voicelab.core.errors import VoiceLabError
from voicelab.core.workspace import Workspace


def open_dataset(ws: Workspace, name: str):
    from voicelab.core.dataset.records import DatasetDamaged
    from voicelab.core.dataset.store import Dataset, dataset_folder, list_datasets

    folder = dataset_folder(ws, name)
    if not (folder / "dataset.json").is_file():
        names = [d.name for d in list_datasets(ws)]
        known = (f"Datasets: {', '.join(names)}." if names else
                 "There are no datasets yet; create one with `voicelab-cli dataset create NAME`.")
        raise VoiceLabError(f"There is no dataset named '{name}'. {known}")
    try:
        return Dataset.open(folder)
    except DatasetDamaged as error:
        raise VoiceLabError(f"{error} {recovery_hint(folder)}") from None


def recovery_hint(folder: Path) -> str:
    return (f"To recover its clips: `voicelab-cli dataset import {folder} --name "
            f"{folder.name}-recovered`.")
