"""dataset.json, a dataset's truth (store.py has the folder's layout): reading it, saying
how to recover when it is damaged, and writing its text.

Why JSON and not YAML: every edit rewrites the file, and a few thousand clips must save in
milliseconds, not the half second PyYAML takes.
"""

from __future__ import annotations

import json
from pathlib import Path

from voicelab.core.dataset.records import DatasetDamaged

FORMAT_VERSION = 1
DATASET_FILE = "dataset.json"


def read_dataset_file(file: Path) -> dict:
    """dataset.json's mapping; `DatasetError` saying how to recover when it is damaged."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise DatasetDamaged(damaged_message(file, error)) from None
    if not isinstance(data, dict):
        raise DatasetDamaged(damaged_message(file, ValueError("it holds no dataset")))
    return data


def damaged_message(file: Path, error: BaseException) -> str:
    """What is wrong with a dataset.json, and how to get its clips back."""
    detail = " ".join(str(error).split())[:200] or type(error).__name__
    return (f"The dataset '{file.parent.name}' is damaged: {file} cannot be read ({detail}). "
            "Restore dataset.json from a backup, or import the folder as an LJSpeech dataset "
            "under a new name (its metadata.csv and wavs/ hold the clips in use).")


def dataset_text(data: dict) -> str:
    """dataset.json text of `Dataset.to_dict()`: one clip a line, so it diffs and reads
    well, and fast (the C encoder only runs without `indent`)."""
    clips = data.pop("clips")
    head = json.dumps(data, ensure_ascii=False)
    body = ",\n".join(json.dumps(c, ensure_ascii=False) for c in clips)
    return f'{head[:-1]}, "clips": [\n{body}\n]}}\n'
