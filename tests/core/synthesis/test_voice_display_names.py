"""A voice keeps the name it was given; its files keep the safe one.

"My test voice" exported from a run is saved as My_test_voice.onnx (+ .onnx.json) and
listed as "My test voice". (tests/core/training/voice/test_export.py checks that the export itself
writes the name; here the voices are joe's files with a config as the export writes it.)
"""

from __future__ import annotations

from tests.support.voices import add_voice, exported_voice
from voicelab.core import inventory
from voicelab.core.synthesis.presets import Preset, PresetStore
from voicelab.core.synthesis.voices import find_voice, list_voices


def listed(workspace):
    return {voice.id: voice.name for voice in list_voices(workspace) if not voice.builtin}


def test_the_typed_name_is_shown_and_the_file_name_is_the_id(workspace):
    model = exported_voice(workspace, "  My test   voice ")
    assert model.name == "My_test_voice.onnx"
    assert listed(workspace) == {"My_test_voice": "My test voice"}
    assert find_voice(workspace, "My_test_voice").name == "My test voice"
    assert find_voice(workspace, "My_test_voice").model_path == model


def test_a_voice_renamed_in_the_app_shows_the_new_name_as_typed_and_its_presets_follow(workspace):
    exported_voice(workspace, "My test voice")
    store = PresetStore.open(workspace)
    store.create(Preset(name="Mine", voice="My_test_voice"))

    new_id = inventory.rename_voice(workspace, "My_test_voice", "Anna's voice, take 2")

    assert new_id == "Anna_s_voice_take_2"
    assert listed(workspace) == {"Anna_s_voice_take_2": "Anna's voice, take 2"}
    assert PresetStore.open(workspace).get("Mine").voice == "Anna_s_voice_take_2"
    # Only the shown name changes when the file name stays.
    assert inventory.rename_voice(workspace, new_id, "Anna's voice: take 2") == new_id
    assert listed(workspace) == {new_id: "Anna's voice: take 2"}


def test_a_name_that_is_not_its_files_any_more_is_not_shown(workspace):
    model = exported_voice(workspace, "My test voice")
    model.with_name(model.name + ".json").rename(workspace.voices / "Other.onnx.json")
    model.rename(workspace.voices / "Other.onnx")  # renamed by hand, outside the app
    assert listed(workspace) == {"Other": "Other"}
    add_voice(workspace, "plain")  # a Piper voice from elsewhere: its file names it
    assert listed(workspace)["plain"] == "plain"
