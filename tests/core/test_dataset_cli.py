"""`voicelab-cli dataset …`, run in-process (real pipeline with tiny.en, real store)."""

from __future__ import annotations

import argparse
import signal

import pytest

from tests.dataset_audio import SENTENCES, recording, tiny_model_path, write_recording
from tests.speech import wer
from voicelab import cli, cli_dataset
from voicelab.core.dataset.store import Dataset, dataset_folder
from voicelab.core.workspace import Workspace


@pytest.fixture(autouse=True)
def with_dataset_commands(monkeypatch):
    original = cli.build_parser

    def build_parser():
        parser = original()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "dataset" not in sub.choices:  # not wired into cli.py
            cli_dataset.add_parser(sub)
        return parser

    monkeypatch.setattr(cli, "build_parser", build_parser)
    previous = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="module")
def speech_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-audio")
    return write_recording(folder / "talk.flac", recording(SENTENCES[:2], pause=0.8), rate=44100)


def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_create_add_show_export_import_list(capsys, tmp_path, speech_file):
    code, out, err = run_cli(capsys, "dataset", "create", "My Voice")
    assert code == 0, err
    folder = dataset_folder(Workspace.open(), "My Voice")
    assert str(folder) in out and (folder / "dataset.json").is_file()

    code, out, err = run_cli(capsys, "dataset", "add", "My Voice", speech_file,
                             "--model-path", tiny_model_path(), "--max", "10")
    assert code == 0, err
    assert "Added 1 recording(s): 2 clip(s)" in out
    assert "file 1/1: talk.flac" in err  # progress on the terminal
    dataset = Dataset.open(folder)
    assert len(dataset.clips) == 2 and dataset.options["max_seconds"] == 10.0
    assert wer(" ".join(SENTENCES[:2]), " ".join(c.text for c in dataset.clips)) < 0.35

    code, out, err = run_cli(capsys, "dataset", "add", "My Voice", speech_file)
    assert code == 0 and "Added 0 recording(s)" in out
    assert "already in the dataset" in err

    code, out, err = run_cli(capsys, "dataset", "show", "My Voice", "--clips")
    assert code == 0, err
    assert "recordings:  1 (1 done)" in out and "clips:       2" in out
    assert dataset.clips[0].id in out and dataset.clips[1].text in out

    export = tmp_path / "export"
    code, out, err = run_cli(capsys, "dataset", "export", "My Voice", export)
    assert code == 0, err
    assert len((export / "metadata.csv").read_text().splitlines()) == 2
    code, out, err = run_cli(capsys, "dataset", "export", "My Voice", export)
    assert code == 1 and "already holds" in err

    code, out, err = run_cli(capsys, "dataset", "import", export, "--name", "Copy")
    assert code == 0, err
    assert "Imported 2 clips" in out
    copy = Dataset.open(dataset_folder(Workspace.open(), "Copy"))
    assert [c.text for c in copy.clips] == [c.text for c in dataset.clips]

    code, out, err = run_cli(capsys, "dataset", "list")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["name", "clips", "minutes", "path"]
    assert [line.split()[0] for line in lines[1:]] == ["Copy", "My"]


def test_add_without_paths_resumes_pending_work(capsys, speech_file):
    run_cli(capsys, "dataset", "create", "resume")
    folder = dataset_folder(Workspace.open(), "resume")
    dataset = Dataset.open(folder)
    source, _ = dataset.add_source(speech_file)  # as left by a run that was killed
    dataset.set_options(pipeline={"asr": {"model_path": tiny_model_path()}})
    code, out, err = run_cli(capsys, "dataset", "add", "resume")
    assert code == 0, err
    assert "Processed 1 recording(s): 2 clip(s)" in out
    assert Dataset.open(folder).sources[0].state == "done"
    code, out, err = run_cli(capsys, "dataset", "add", "resume")
    assert code == 0 and "Processed 0 recording(s)" in out


def test_vad_mode_from_the_command_line(capsys, speech_file):
    run_cli(capsys, "dataset", "create", "silence")
    code, out, err = run_cli(capsys, "dataset", "add", "silence", speech_file, "--vad")
    assert code == 0, err
    assert "2 clip(s)" in out
    assert all(c.text == "" for c in Dataset.open(dataset_folder(Workspace.open(), "silence")).clips)


def test_errors_are_one_line_with_the_fix(capsys, tmp_path, speech_file):
    code, _, err = run_cli(capsys, "dataset", "show", "nope")
    assert code == 1 and "There is no dataset named 'nope'" in err
    assert "create one with `voicelab-cli dataset create NAME`" in err

    run_cli(capsys, "dataset", "create", "real")
    code, _, err = run_cli(capsys, "dataset", "add", "real", speech_file, "--model", "small.en")
    assert code == 1 and "voicelab-cli models download whisper:small.en" in err
    assert Dataset.open(dataset_folder(Workspace.open(), "real")).sources == []

    code, _, err = run_cli(capsys, "dataset", "create", "real")
    assert code == 1 and "already exists" in err
    code, _, err = run_cli(capsys, "dataset", "create", "bad/name")
    assert code == 1 and "cannot be a dataset name" in err
    code, _, err = run_cli(capsys, "dataset", "add", "real", speech_file, "--min", "5", "--max", "2")
    assert code == 1 and "--min" in err

    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"")
    code, out, err = run_cli(capsys, "dataset", "add", "real", bad, "--model-path", tiny_model_path())
    assert code == 1
    assert f"skipped: {bad} is empty (0 bytes)." in err

    code, _, err = run_cli(capsys, "dataset", "import", tmp_path)
    assert code == 1 and "no metadata.csv" in err
