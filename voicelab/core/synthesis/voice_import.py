"""Bringing a Piper voice into the workspace: copied, checked, named; and renamed later.

A voice is two files (`.onnx` and `.onnx.json`). Import loads the model once before
copying, so a damaged file is refused with its name rather than imported, and writes each
file atomically, the config first, so a listing never sees a model without its config.
"""

from __future__ import annotations

import json
from pathlib import Path

from voicelab.core.errors import Cancelled
from voicelab.core.fileio import atomic_open, atomic_write_text
from voicelab.core.names import safe_file_name
from voicelab.core.progress import CancelToken, ProgressCallback, no_progress
from voicelab.core.synthesis.errors import VoiceError
from voicelab.core.synthesis.voices import VoiceInfo, config_path_for, describe, load_uncached, read_config
from voicelab.core.voice_names import keep_display_name
from voicelab.core.workspace import Workspace

_COPY_CHUNK = 1 << 20



def rename_display(config_path: Path, name: str) -> None:
    """Keep `name` as the typed name in the config of a voice renamed to it (atomically)."""
    raw = read_config(config_path)
    atomic_write_text(config_path, json.dumps(keep_display_name(raw, name), ensure_ascii=False, indent=2))


def _free_name(folder: Path, name: str) -> str:
    candidate, number = name, 2
    while (folder / f"{candidate}.onnx").exists() or (folder / f"{candidate}.onnx.json").exists():
        candidate = f"{name}-{number}"
        number += 1
    return candidate


def import_voice(workspace: Workspace, model_path: Path, name: str | None = None, *,
                 progress: ProgressCallback = no_progress,
                 cancel: CancelToken | None = None) -> VoiceInfo:
    """Copy a Piper voice (the `.onnx` and the config beside it) into the workspace.

    The model is loaded once before copying, so a damaged file is refused with its name
    rather than imported. Each file is written atomically; the config goes first so a
    listing never sees a model without its config. A name already taken gets "-2", "-3"….
    """
    source = Path(model_path)
    if source.name.endswith(".onnx.json"):
        source = source.with_name(source.name[: -len(".json")])  # the user picked the config
    if not source.is_file():
        raise VoiceError(f"The voice file {source} does not exist.")
    if source.suffix.lower() != ".onnx":
        raise VoiceError(f"{source.name} is not a Piper voice: choose the voice's .onnx file.")
    config = config_path_for(source)
    if config is None:
        raise VoiceError(
            f"No voice config found beside {source}: a Piper voice is two files, "
            f"{source.name} and {source.name}.json. Put both in the same folder and import again."
        )
    read_config(config)
    progress(0, 1, f"Checking {source.name}")
    load_uncached(source, config)
    token = cancel or CancelToken()
    token.raise_if_cancelled()

    folder = workspace.voices
    folder.mkdir(parents=True, exist_ok=True)
    final = _free_name(folder, safe_file_name(name or source.name[: -len(".onnx")], "voice"))
    target_model = folder / f"{final}.onnx"
    target_config = folder / f"{final}.onnx.json"
    total = source.stat().st_size + config.stat().st_size
    done = 0

    def copy(src: Path, dst: Path) -> None:
        nonlocal done
        with open(src, "rb") as reader, atomic_open(dst, "wb") as writer:
            while True:
                token.raise_if_cancelled()
                chunk = reader.read(_COPY_CHUNK)
                if not chunk:
                    break
                writer.write(chunk)
                done += len(chunk)
                progress(done, total, f"Copying {src.name}")

    try:
        copy(config, target_config)
        copy(source, target_model)
    except Cancelled:
        target_config.unlink(missing_ok=True)
        raise
    except OSError as exc:
        target_config.unlink(missing_ok=True)
        raise VoiceError(f"Could not copy the voice into {folder}: {exc.strerror or exc}.") from None
    return describe(target_model, final, name=final)
