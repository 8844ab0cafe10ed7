"""`voicelab-cli say|batch|voices|presets`, run in-process with real synthesis (bundled joe voice).

`cli.main` is used as is (its error handling and exit codes); `build_parser` is wrapped so
the commands of `voicelab.cli.generate` are there whether or not `cli/main.py` wires them in yet.
Every test has its own workspace (VOICELAB_HOME from the autouse fixture).
"""

from __future__ import annotations

import argparse
import signal

import pytest
import soundfile

from tests.support.cli import run_cli
from voicelab.cli import generate as cli_generate
from voicelab.cli import main as cli
from voicelab.core.synthesis.history import History
from voicelab.core.synthesis.presets import PresetStore
from voicelab.core.synthesis.voices import DEFAULT_VOICE_ID
from voicelab.core.workspace import Workspace


@pytest.fixture(autouse=True)
def with_generate_commands(monkeypatch):
    original = cli.build_parser

    def build_parser():
        parser = original()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "say" not in sub.choices:  # not wired into cli/main.py (yet)
            cli_generate.add_parser(sub)
        return parser

    monkeypatch.setattr(cli, "build_parser", build_parser)
    previous = signal.getsignal(signal.SIGINT)  # say/batch install a Ctrl-C handler
    yield
    signal.signal(signal.SIGINT, previous)


def test_say_writes_wav_and_mp3_and_keeps_history(capsys, tmp_path):
    text = "Hello from the command line. This is a test."
    wav = tmp_path / "out" / "hello.wav"
    code, out, err = run_cli(capsys, "say", text, "-o", wav)
    assert code == 0, err
    assert out.strip() == str(wav)
    info = soundfile.info(str(wav))
    assert info.samplerate == 22050 and info.channels == 1
    assert 1.5 < info.duration < 8.0

    mp3 = tmp_path / "hello.mp3"
    code, out, err = run_cli(capsys, "say", text, "-o", mp3, "--rate", "16000")
    assert code == 0, err
    mp3_info = soundfile.info(str(mp3))
    assert mp3_info.samplerate == 16000
    assert abs(mp3_info.duration - info.duration) < 0.5  # same text, same length (± MP3 padding)

    entries = History.open(Workspace.open()).list()
    assert len(entries) == 2
    assert entries[0].text == text and entries[0].voice == DEFAULT_VOICE_ID
    assert entries[0].path.is_file()


def test_say_without_output_prints_the_history_clip(capsys):
    code, out, err = run_cli(capsys, "say", "Just the history.")
    assert code == 0, err
    entry = History.open(Workspace.open()).list()[0]
    assert out.strip() == str(entry.path)


def test_say_uses_the_named_preset(capsys, tmp_path):
    assert run_cli(capsys, "presets", "create", "Fast", "--speed", "2")[0] == 0
    assert run_cli(capsys, "presets", "create", "Slow", "--speed", "0.5")[0] == 0
    text = "The quick brown fox jumps over the lazy dog."
    fast, slow = tmp_path / "fast.wav", tmp_path / "slow.wav"
    assert run_cli(capsys, "say", text, "--preset", "Fast", "-o", fast)[0] == 0
    assert run_cli(capsys, "say", text, "--preset", "slow", "-o", slow)[0] == 0  # any case
    assert soundfile.info(str(slow)).duration > 2 * soundfile.info(str(fast)).duration
    assert [e.preset for e in History.open(Workspace.open()).list()] == ["Slow", "Fast"]


def test_say_unknown_preset_names_it_and_lists_presets(capsys, tmp_path):
    code, _, err = run_cli(capsys, "say", "Hi.", "--preset", "Nope")
    assert code == cli.EXIT_ERROR
    assert "'Nope'" in err and "no presets yet" in err
    run_cli(capsys, "presets", "create", "Narrator")
    code, _, err = run_cli(capsys, "say", "Hi.", "--preset", "Nope", "-o", tmp_path / "x.wav")
    assert code == cli.EXIT_ERROR
    assert "'Nope'" in err and "Narrator" in err
    assert not (tmp_path / "x.wav").exists()
    assert History.open(Workspace.open()).list() == []


@pytest.mark.parametrize("text", ["", "   \n "])
def test_say_empty_text_is_a_clear_error(capsys, text):
    code, out, err = run_cli(capsys, "say", text)
    assert code == cli.EXIT_ERROR and out == ""
    assert "no text to speak" in err and err.startswith("error: ") and len(err.splitlines()) == 1


def test_say_bad_ending_and_unknown_voice_fail_before_synthesis(capsys, tmp_path):
    code, _, err = run_cli(capsys, "say", "Hi.", "-o", tmp_path / "x.aac")
    assert code == cli.EXIT_ERROR and "x.aac" in err
    code, _, err = run_cli(capsys, "say", "Hi.", "--voice", "ghost")
    assert code == cli.EXIT_ERROR and "'ghost'" in err and DEFAULT_VOICE_ID in err
    assert History.open(Workspace.open()).list() == []


def test_batch_writes_a_clip_per_line_and_the_csv(capsys, tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("First line.\n\nSecond line.\nThird, and last.\n", encoding="utf-8")
    folder = tmp_path / "clips"
    code, out, err = run_cli(capsys, "batch", lines, "-o", folder, "--format", "flac")
    assert code == 0, err
    assert out.strip() == str(folder)
    clips = sorted(folder.glob("*.flac"))
    assert [c.name for c in clips] == ["0001.flac", "0002.flac", "0003.flac"]
    assert all(soundfile.info(str(c)).duration > 0.3 for c in clips)
    rows = (folder / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert rows == ["file|text", "0001.flac|First line.", "0002.flac|Second line.",
                    "0003.flac|Third, and last."]
    assert "100.0%" in err  # the progress bar reached the end


def test_batch_missing_file_is_an_error(capsys, tmp_path):
    code, _, err = run_cli(capsys, "batch", tmp_path / "none.txt", "-o", tmp_path / "out")
    assert code == cli.EXIT_ERROR and "none.txt" in err


def test_presets_create_list_show_default_delete(capsys):
    code, _, err = run_cli(capsys, "presets", "create", "Narrator", "--speed", "1.2",
                           "--format", "mp3", "--sentence-pause", "0.5")
    assert code == 0, err
    assert run_cli(capsys, "presets", "create", "Quiet", "--volume", "0.5")[0] == 0
    code, out, _ = run_cli(capsys, "presets", "list")
    assert code == 0
    assert "Narrator" in out and "Quiet" in out and DEFAULT_VOICE_ID in out

    code, out, _ = run_cli(capsys, "presets", "show", "Narrator")
    assert code == 0 and "speed: 1.2" in out and "format: mp3" in out and "default: no" in out

    assert run_cli(capsys, "presets", "default", "Quiet")[0] == 0
    code, out, _ = run_cli(capsys, "presets", "list")
    assert "* Quiet" in out
    assert PresetStore.open(Workspace.open()).default_name == "Quiet"

    code, _, err = run_cli(capsys, "presets", "create", "narrator")
    assert code == cli.EXIT_ERROR and "already exists" in err
    code, _, err = run_cli(capsys, "presets", "create", "Bad", "--speed", "50")
    assert code == cli.EXIT_ERROR and "speed" in err
    code, _, err = run_cli(capsys, "presets", "create", "Lost", "--voice", "ghost")
    assert code == cli.EXIT_ERROR and "'ghost'" in err

    assert run_cli(capsys, "presets", "delete", "Narrator")[0] == 0
    assert PresetStore.open(Workspace.open()).names() == ["Quiet"]
    code, _, err = run_cli(capsys, "presets", "delete", "Narrator")
    assert code == cli.EXIT_ERROR and "'Narrator'" in err and "Quiet" in err


def test_voices_list_shows_the_bundled_voice(capsys):
    code, out, err = run_cli(capsys, "voices", "list")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith(DEFAULT_VOICE_ID))
    assert "Joe" in row and "en-us" in row


def test_voices_import_copies_a_voice_presets_can_use(capsys, tmp_path):
    import shutil

    from voicelab.core.synthesis.voices import default_voice

    joe = default_voice()
    source = tmp_path / "my-voice.onnx"
    shutil.copy(joe.model_path, source)
    shutil.copy(joe.config_path, tmp_path / "my-voice.onnx.json")
    code, out, err = run_cli(capsys, "voices", "import", source)
    assert code == 0, err
    assert "my-voice" in out
    code, out, _ = run_cli(capsys, "voices", "list")
    assert any(line.startswith("my-voice ") for line in out.splitlines())
    assert run_cli(capsys, "presets", "create", "Mine", "--voice", "my-voice")[0] == 0

    code, _, err = run_cli(capsys, "voices", "import", tmp_path / "missing.onnx")
    assert code == cli.EXIT_ERROR and "missing.onnx" in err
