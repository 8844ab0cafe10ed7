"""A voice's two names: the one its user typed, and its file's.

"My test voice" is what the voice lists and its preset show; `safe_voice_name` gives its
file's ("My_test_voice", so "My_test_voice.onnx", which is also its id in presets). Both the
voice library (synthesis/voices.py) and the training export (training/voice/export.py) name
voices, so the rule lives here, below both.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from voicelab.core.names import safe_file_name


def safe_voice_name(name: str) -> str:
    """A voice's file name (without `.onnx`): the rule is `names.safe_file_name`."""
    return safe_file_name(name, "voice")


# A voice has two names: the one its user typed ("My test voice"), which the voice lists and
# its preset show, and its file's (`safe_voice_name`: "My_test_voice.onnx", which is also its
# id in presets). The typed one is kept in the voice's config under "voicelab"; Piper ignores
# keys it does not know. It counts only while it is still the name of that file: a file
# renamed by hand shows its new file name, not a name it no longer has.
DISPLAY_NAME_KEY = "name"


def typed_name(name: str) -> str:
    """The name as typed, on one line without outer spaces ("" when there is none)."""
    return " ".join(str(name or "").split())


def display_name(raw: Mapping, model_path: Path) -> str | None:
    """The typed name a voice config keeps for the voice file `model_path`, if any."""
    extra = raw.get("voicelab")
    shown = typed_name(extra.get(DISPLAY_NAME_KEY) or "") if isinstance(extra, Mapping) else ""
    stem = model_path.name[: -len(".onnx")] if model_path.name.endswith(".onnx") else model_path.stem
    return shown if shown and safe_voice_name(shown) == stem else None


def keep_display_name(config: dict, name: str) -> dict:
    """`config` (a voice config being written) with `name` kept as the voice's typed name."""
    extra = config.get("voicelab")
    config["voicelab"] = {**(extra if isinstance(extra, dict) else {}), DISPLAY_NAME_KEY: typed_name(name)}
    return config
