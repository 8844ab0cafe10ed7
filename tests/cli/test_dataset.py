"""`voicelab-cli dataset …`, run in-process (real pipeline with tiny.en, real store)."""

from __future__ import annotations

import argparse
import os
import signal

import pytest

from tests.support.cli import run_cli
from tests.support.dataset_audio import SENTENCES, recording, sentence_audio, tiny_model_path, write_recording
from tests.support.speech import wer
from voicelab.cli import dataset as cli_dataset
from voicelab.cli import main as cli
from voicelab.core.dataset.store import Dataset, dataset_folder
from voicelab.core.workspace import Workspace


@pytest.fixture(autouse=True)
def with_dataset_commands(monkeypatch):
    original = cli.build_parser

    def build_parser():
        parser = original()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "dataset" not in sub.choices:  # not wired into cli/main.py
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


def test_names_that_reach_outside_the_workspace_are_refused(capsys, tmp_path):
    """Issue 16: a dataset argument was joined onto the workspace unchecked."""
    datasets = Workspace.open().datasets
    other = Dataset.create(tmp_path / "other-workspace" / "datasets" / "good", "good").path
    outside = tmp_path / "abs"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine", encoding="utf-8")
    clip = tmp_path / "file.wav"
    clip.write_bytes(b"RIFF")
    traversal = os.path.relpath(other, datasets)  # ../../other-workspace/datasets/good
    (datasets / "link").symlink_to(other)
    for argv in (("delete", traversal), ("delete", other), ("delete", outside), ("delete", "link"),
                 ("rename", outside, "stolen"), ("rename", traversal, "stolen"),
                 ("rename", "link", "stolen"), ("add", outside, clip), ("add", traversal, clip),
                 ("show", "../.."), ("show", other), ("show", "link"), ("export", other, tmp_path / "x"),
                 ("create", "...."), ("create", ".."), ("create", outside / "new")):
        code, out, err = run_cli(capsys, "dataset", *argv)
        assert code == 1 and out == "", argv
        assert "cannot be a dataset name" in err or "leads outside" in err, (argv, err)
        assert err.count("\n") == 1, err  # one line, no traceback
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert Dataset.open(other).name == "good" and not any((other / "wavs").iterdir())
    assert sorted(p.name for p in datasets.iterdir()) == ["link"] and not (tmp_path / "x").exists()
    code, out, err = run_cli(capsys, "dataset", "list")
    assert code == 0 and "No datasets yet" in err


def test_an_import_copies_nothing_from_outside_its_folder(capsys, tmp_path):
    secret = write_recording(tmp_path / "outside_secret.wav", sentence_audio(SENTENCES[0]))
    lj = tmp_path / "lj"
    write_recording(lj / "wavs" / "ok.wav", sentence_audio(SENTENCES[1]))
    (lj / "wavs" / "link.wav").symlink_to(secret)
    (lj / "metadata.csv").write_text(f"ok|{SENTENCES[1]}\n../../outside_secret|secret\n"
                                     f"{secret.with_suffix('')}|secret\nlink|secret\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "dataset", "import", lj, "--name", "lj")
    assert code == 0, err
    assert "Imported 1 clips" in out
    skipped = [line for line in err.splitlines() if line.startswith("skipped:")]
    assert len(skipped) == 3 and all("cannot name a clip" in line for line in skipped)
    dataset = Dataset.open(dataset_folder(Workspace.open(), "lj"))
    assert [c.text for c in dataset.clips] == [SENTENCES[1]]
    assert [p.name for p in (dataset.path / "sources").iterdir()] == ["ok.wav"]

    code, out, err = run_cli(capsys, "dataset", "import", lj, "--name", "../escaped")
    assert code == 1 and "cannot be a dataset name" in err and not (tmp_path / "escaped").exists()


# -- input that is saved and fails later (issue 16) ----------------------------------------------
def test_a_killed_add_is_finished_by_add_without_paths(capsys, tmp_path):
    """`dataset add NAME a b c` killed during the first file, then `dataset add NAME`: before,
    "Nothing to process" (b and c were never noted anywhere); now the queue is finished."""
    import subprocess
    import sys

    files = [write_recording(tmp_path / f"part{i}.wav", recording([SENTENCES[i]], pause=0.5))
             for i in range(3)]
    run_cli(capsys, "dataset", "create", "killed")
    command = [sys.executable, "-m", "voicelab.cli", "dataset", "add", "killed", *map(str, files), "--vad"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            if "file 1/3" in line:
                process.kill()  # SIGKILL: no handler runs, nothing is tidied up
                break
    finally:
        process.kill()
        process.wait(timeout=60)
        process.stderr.close()
    folder = dataset_folder(Workspace.open(), "killed")
    assert len(Dataset.open(folder).sources) < 3

    code, out, err = run_cli(capsys, "dataset", "add", "killed")
    assert code == 0, err
    assert "Nothing to process" not in err and "Resuming" in err
    dataset = Dataset.open(folder)
    assert sorted(s.original for s in dataset.sources) == sorted(str(f) for f in files)
    assert all(s.state == "done" for s in dataset.sources) and len(dataset.clips) == 3
    assert dataset.queued == []
    code, out, err = run_cli(capsys, "dataset", "add", "killed")
    assert code == 0 and "Processed 0 recording(s)" in out


@pytest.mark.parametrize("flags, message", [
    (["--language", "xx"], "--language 'xx' must be 'auto' or a language code Whisper knows"),
    (["--normalize", "50"], "--normalize 50 is not a clip level"),
    (["--normalize", "nan"], "--normalize nan is not a clip level"),
    (["--max", "inf"], "--min and --max must be numbers of seconds"),
])
def test_flags_that_would_fail_later_are_refused_before_anything_is_saved(capsys, speech_file,
                                                                         flags, message):
    run_cli(capsys, "dataset", "create", "careful")
    folder = dataset_folder(Workspace.open(), "careful")
    before = (folder / "dataset.json").read_bytes()
    code, out, err = run_cli(capsys, "dataset", "add", "careful", speech_file, "--vad", *flags)
    assert code == 1 and message in err and err.count("\n") == 1
    assert (folder / "dataset.json").read_bytes() == before  # no options, no queue, no source


def test_a_bad_language_saved_by_an_older_version_is_named_with_the_fix(capsys, speech_file):
    run_cli(capsys, "dataset", "create", "old")
    dataset = Dataset.open(dataset_folder(Workspace.open(), "old"))
    dataset.set_options(pipeline={"asr": {"language": "xx"}, "mode": "vad"})
    code, out, err = run_cli(capsys, "dataset", "add", "old", speech_file)
    assert code == 1 and "The language saved with this dataset (give --language" in err


def test_a_file_name_with_a_newline_cannot_fake_a_line_of_output(capsys, tmp_path):
    evil = tmp_path / "evil\nskipped: nothing is wrong.txt"
    evil.write_text("not audio", encoding="utf-8")
    run_cli(capsys, "dataset", "create", "names")
    code, out, err = run_cli(capsys, "dataset", "add", "names", evil, "--vad")
    assert code == 1
    lines = err.splitlines()
    assert len([line for line in lines if line.startswith("skipped:")]) == 1
    assert repr(str(evil)) in err and not any(line.startswith("skipped: nothing") for line in lines)
