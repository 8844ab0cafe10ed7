"""Every voice and downloaded checkpoint in the workspace, offered as a base for fine-tuning.

A user who likes a voice should be able to start from it: the bundled joe voice, voices
downloaded or imported into the workspace, and voices exported by earlier runs are all
`.onnx` files that `onnx_voice.convert_voice` rebuilds into trainable weights. Listing reads
only the voices' configs (no ONNX, no torch), so the Training tab and the CLI can show them
beside downloaded `.ckpt` checkpoints at once; a voice is checked when it is chosen.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from voicelab.core.errors import VoiceLabError
from voicelab.core.workspace import Workspace


class VoiceBase(NamedTuple):
    label: str  # what the base list shows: "Voice: Joe (US English) (medium)"
    path: Path  # the .onnx
    voice_id: str
    name: str  # the voice's own name, for sentences about it: "Joe (US English)"


def voice_bases(workspace: Workspace) -> list[VoiceBase]:
    """Every usable voice, the bundled one first."""
    import json

    from voicelab.core.synthesis.voices import CHECKPOINT_PREFIX, list_voices

    found = []
    for info in list_voices(workspace):
        if info.problem or info.id.startswith(CHECKPOINT_PREFIX) or info.model_path.suffix != ".onnx":
            continue
        quality = None
        try:
            quality = (json.loads(info.config_path.read_text(encoding="utf-8")).get("audio") or {}).get("quality")
        except (OSError, ValueError, AttributeError):
            pass
        found.append(VoiceBase(f"Voice: {info.name} ({quality or f'{info.sample_rate} Hz'})",
                               info.model_path, info.id, info.name))
    return found


class CheckpointBase(NamedTuple):
    label: str  # what the base list shows: "en_US-lessac-medium (medium)"
    path: Path  # the .ckpt
    model_id: str  # the catalog's id, which `--base` accepts
    name: str


def checkpoint_bases(workspace: Workspace) -> tuple[list[CheckpointBase], list]:
    """Downloaded `.ckpt` bases (Piper's published checkpoints and the user's own), and the
    catalog's checkpoints not downloaded yet (catalog entries, for a Download button)."""
    from voicelab.core.models import ModelManager
    from voicelab.core.models_catalog import KIND_LOCAL, KIND_PIPER

    manager = ModelManager(workspace)
    present, missing = [], []
    for entry in manager.catalog():
        if entry.kind not in (KIND_PIPER, KIND_LOCAL):
            continue
        path = manager.local_path(entry)
        if path is not None and Path(path).suffix == ".ckpt":
            detail = (entry.quality or "?") if entry.kind == KIND_PIPER else "local"
            present.append(CheckpointBase(f"{entry.name} ({detail})", Path(path), entry.id, entry.name))
        elif path is None and entry.kind == KIND_PIPER and not entry.problem:
            missing.append(entry)
    return present, missing


def find_voice_base(workspace: Workspace, name: str) -> Path | None:
    """The .onnx of the voice with this id or name ("builtin:en_US-joe-medium", "joe",
    "My test voice"), if any."""
    lowered = name.strip().lower()
    for label, path, voice_id, shown in voice_bases(workspace):
        if lowered in (voice_id.lower(), path.stem.lower(), label.lower(), shown.lower()) or (
                lowered and lowered in path.stem.lower().split("-")):
            return path
    return None


def default_base(workspace: Workspace, dataset: Path | None) -> Path | None:
    """The built-in voice that speaks the dataset's language: where a new run starts unless the
    user picks another base, because fine-tuning a voice needs minutes of speech where
    training from scratch needs hours. None where VoiceLab ships no voice of that language."""
    from voicelab.core.synthesis.voices import list_voices
    from voicelab.core.training.run.snapshot import dataset_espeak_voice

    info: dict = {}
    if dataset is not None:
        try:
            import json

            info = json.loads((Path(dataset) / "dataset.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
    family = _family(dataset_espeak_voice(info if isinstance(info, dict) else {}))
    for voice in list_voices(workspace):
        if voice.builtin and not voice.problem and _family(voice.language) == family:
            return voice.model_path
    return None


def _family(espeak_voice: str) -> str:
    """"en-us", "en_US", "en" → "en"."""
    return espeak_voice.replace("_", "-").split("-")[0].lower()


def describe_voice_bases(workspace: Workspace) -> list[str]:
    """One line per voice base, for the CLI."""
    try:
        return [f"{base.voice_id:40s} {base.label}" for base in voice_bases(workspace)]
    except VoiceLabError as error:
        return [f"(voices could not be listed: {error})"]
