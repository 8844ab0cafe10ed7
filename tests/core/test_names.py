"""Names become paths inside their folder, or are refused with the value and the fix.

Each escape a probe of the CLI found (issue 16) is tried here against the core, with the
thing outside the workspace checked on disk afterwards; the CLI's own tests try the same
through `voicelab-cli`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.dataset_audio import SENTENCES, sentence_audio, write_recording
from tests.support.voices import add_voice
from voicelab.core import inventory
from voicelab.core.dataset.ljspeech import import_ljspeech
from voicelab.core.dataset.records import DatasetError
from voicelab.core.dataset.store import Dataset, dataset_folder, list_datasets
from voicelab.core.names import BadName, check_name, inside, name_or_folder, safe_file_name, within
from voicelab.core.synthesis.errors import VoiceError
from voicelab.core.synthesis.history import History
from voicelab.core.synthesis.voices import CHECKPOINT_PREFIX, find_voice
from voicelab.core.training.new_run import create_run
from voicelab.core.training.run.config import TrainConfig
from voicelab.core.training.run.runs import RunError, find_run, write_train_yaml

ESCAPES = ["../x", "../../other/datasets/good", "/abs/path", "a/b", "a\\b", "..", ".", "....",
           ".hidden", "", "   ", "line\nbreak", "C:evil", "x" * 81, "nul", "COM1.txt"]


def other_dataset(tmp_path: Path) -> Path:
    """A dataset of another workspace, next to this test's one."""
    return Dataset.create(tmp_path / "other-workspace" / "datasets" / "good", "good").path


def real_run(folder: Path) -> Path:
    folder.mkdir(parents=True)
    write_train_yaml(folder, TrainConfig(dataset="/nowhere"), {"created": "now"})
    return folder


@pytest.mark.parametrize("name", ESCAPES)
def test_a_name_that_is_a_path_or_hidden_is_refused_with_the_value_and_the_rule(tmp_path, name):
    with pytest.raises(BadName) as refused:
        inside(tmp_path, name, "dataset")
    message = str(refused.value)
    assert "dataset" in message and "use letters, digits" in message
    if name.strip():
        assert repr(name) in message or f"'{name.strip()}'" in message
    assert "\n" not in message  # one line, even for a name with a line break


def test_plain_names_stay_as_typed_and_inside(tmp_path):
    assert inside(tmp_path, "  My voice 2024  ", "dataset") == tmp_path / "My voice 2024"
    for name in ("Mr.", "Anna (calm)", "joe-medium-20260101", "Zoë", "a..b", "x" * 80):
        assert check_name(name, "run") == name
        assert inside(tmp_path, name, "run").parent == tmp_path


def test_a_link_that_points_outside_is_refused_and_one_inside_is_not(tmp_path):
    folder, outside = tmp_path / "datasets", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    (folder / "out").symlink_to(outside)
    (folder / "real").mkdir()
    (folder / "alias").symlink_to(folder / "real")
    (folder / "loop").symlink_to(folder / "loop")
    with pytest.raises(BadName, match=r"'out' cannot name a dataset: .* leads outside .*Remove the link"):
        inside(folder, "out", "dataset")
    with pytest.raises(BadName, match="'loop'"):
        inside(folder, "loop", "dataset")
    assert inside(folder, "alias", "dataset") == folder / "alias"
    (folder / "sub").mkdir()
    (folder / "sub" / "up").symlink_to(tmp_path)
    with pytest.raises(BadName, match="leads outside"):
        within(folder, "sub/up/outside", "voice")
    (folder / "file.onnx").symlink_to(outside / "model.onnx")
    with pytest.raises(BadName, match="leads outside"):
        within(folder, "file.onnx", "voice")
    assert within(folder, "file.onnx", "voice", file_link_ok=True) == folder / "file.onnx"
    with pytest.raises(BadName, match="leads outside"):  # only the file: never its folders
        within(folder, "sub/up/outside/model.onnx", "voice", file_link_ok=True)


def test_a_relative_path_may_go_down_but_never_up_or_out(tmp_path):
    assert within(tmp_path, "wavs/a.wav", "clip") == tmp_path / "wavs" / "a.wav"
    for path in ("../a.wav", "wavs/../../a.wav", "/etc/passwd", "C:\\x.wav", "\\\\server\\x", "", "."):
        with pytest.raises(BadName, match="cannot name a clip"):
            within(tmp_path, path, "clip")


def test_safe_file_names_are_never_paths_or_hidden():
    assert safe_file_name("My Voice!", "voice") == "My_Voice"
    assert safe_file_name("../../etc/passwd", "voice") == "etc_passwd"
    assert safe_file_name("....", "voice") == "voice"
    assert safe_file_name("nul", "clip") == "clip"
    assert len(safe_file_name("a" * 300, "voice")) == 80


# -- datasets ----------------------------------------------------------------------------------
def test_datasets_of_another_workspace_or_anywhere_cannot_be_reached(workspace, tmp_path):
    good = other_dataset(tmp_path)
    traversal = os.path.relpath(good, workspace.datasets)  # ../../other-workspace/datasets/good
    assert (workspace.datasets / traversal).resolve() == good.resolve()  # the old way reached it
    for name in (traversal, str(good), str(good.parent)):
        with pytest.raises(BadName):
            inventory.delete_dataset(workspace, name)
        with pytest.raises(BadName):
            inventory.rename_dataset(workspace, name, "stolen")
        with pytest.raises(BadName):
            dataset_folder(workspace, name)
    assert Dataset.open(good).name == "good" and (good / "dataset.json").is_file()
    assert list_datasets(workspace) == [] and not (workspace.datasets / "stolen").exists()


def test_a_dataset_cannot_be_renamed_out_of_the_workspace(workspace, tmp_path):
    Dataset.create(dataset_folder(workspace, "Anna"), "Anna")
    for new in ("../../escaped", str(tmp_path / "escaped"), "...."):
        with pytest.raises(BadName):
            inventory.rename_dataset(workspace, "Anna", new)
    assert [d.name for d in list_datasets(workspace)] == ["Anna"]
    assert not (tmp_path / "escaped").exists()


def test_a_dataset_linked_in_from_outside_is_neither_opened_nor_deleted(workspace, tmp_path):
    good = other_dataset(tmp_path)
    (workspace.datasets / "link").symlink_to(good)
    with pytest.raises(BadName, match="leads outside"):
        inventory.delete_dataset(workspace, "link")
    with pytest.raises(BadName, match="leads outside"):
        inventory.rename_dataset(workspace, "link", "mine")
    assert (good / "dataset.json").is_file() and (workspace.datasets / "link").is_symlink()
    assert list_datasets(workspace) == []  # listed only what can be opened


def test_a_dataset_of_only_dots_cannot_be_made_so_every_dataset_lists(workspace):
    for name in ("....", "..", ".hidden"):
        with pytest.raises(BadName, match="dot"):
            dataset_folder(workspace, name)
        with pytest.raises(BadName, match="dot"):
            Dataset.create(workspace.datasets / name)  # named after its folder
    assert list(workspace.datasets.iterdir()) == []


def test_an_imported_manifest_names_only_files_inside_its_folder(workspace, tmp_path):
    secret = write_recording(tmp_path / "outside_secret.wav", sentence_audio(SENTENCES[0]))
    lj = tmp_path / "deep" / "lj"
    write_recording(lj / "wavs" / "ok.wav", sentence_audio(SENTENCES[1]))
    (lj / "wavs" / "linked.wav").symlink_to(secret)
    rows = ["ok|" + SENTENCES[1], "../../outside_secret|stolen", "../../../outside_secret|stolen",
            f"{secret.with_suffix('')}|stolen", "linked|stolen"]
    (lj / "metadata.csv").write_text("".join(f"{r}\n" for r in rows), encoding="utf-8")
    dataset, problems = import_ljspeech(lj, dataset_folder(workspace, "imported"), "imported")
    assert [c.text for c in dataset.clips] == [SENTENCES[1]]
    assert [s.original for s in dataset.sources] == [str(lj / "wavs" / "ok.wav")]
    assert len(list((dataset.path / "sources").iterdir())) == 1
    assert len(problems) == 4 and all("cannot name a clip" in str(p) for p in problems)
    assert "leads outside" in str(problems[-1])

    (lj / "metadata.csv").write_text("../../outside_secret|stolen\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="lists no clips inside the folder"):
        import_ljspeech(lj, dataset_folder(workspace, "nothing"), "nothing")
    assert not dataset_folder(workspace, "nothing").exists()


# -- runs --------------------------------------------------------------------------------------
def test_runs_of_another_workspace_cannot_be_deleted_by_a_path(workspace, tmp_path):
    probe = real_run(tmp_path / "x" / "runs" / "probe")
    traversal = os.path.relpath(probe, workspace.runs)
    for name in (traversal, str(probe)):
        with pytest.raises(BadName):
            inventory.delete_run(workspace, name)
    (workspace.runs / "link").symlink_to(probe)
    with pytest.raises(BadName, match="leads outside"):
        inventory.delete_run(workspace, "link")
    assert (probe / "train.yaml").is_file()


def test_a_run_name_or_folder_is_a_run_of_the_workspace_or_a_real_run_folder(workspace, tmp_path,
                                                                          monkeypatch):
    mine = real_run(workspace.runs / "mine")
    elsewhere = real_run(tmp_path / "x" / "runs" / "probe")
    not_a_run = tmp_path / "a" / "b" / "plain"  # the cwd: the traversal, as a path from here, is no run
    not_a_run.mkdir(parents=True)
    monkeypatch.chdir(not_a_run)
    assert find_run(workspace.runs, "mine") == mine.resolve()
    assert find_run(workspace.runs, str(elsewhere)) == elsewhere.resolve()  # a real run, by its path
    for value in (os.path.relpath(elsewhere, workspace.runs), str(not_a_run), "..", "nope"):
        with pytest.raises(RunError, match="There is no run"):
            find_run(workspace.runs, value)
    (workspace.runs / "link").symlink_to(elsewhere)
    with pytest.raises(BadName, match="leads outside"):
        find_run(workspace.runs, "link")
    assert name_or_folder(workspace.runs, "mine", "run", lambda p: True) == mine.resolve()


def test_a_new_run_is_created_inside_the_runs_folder_only(workspace, tmp_path):
    for name in ("../../escaped", str(tmp_path / "escaped"), "....", "a/b"):
        with pytest.raises(BadName, match="cannot be a run name"):
            create_run(workspace.runs, {"dataset": "/nowhere"}, name=name)
    assert not (tmp_path / "escaped").exists() and list(workspace.runs.iterdir()) == []


# -- voices and history ------------------------------------------------------------------------
def test_voices_and_checkpoints_are_found_only_inside_the_workspace(workspace, tmp_path):
    probe = real_run(tmp_path / "x" / "runs" / "probe")
    (probe / "checkpoints").mkdir()
    (probe / "checkpoints" / "step-00000002.ckpt").write_bytes(b"not loaded")
    traversal = os.path.relpath(probe, workspace.runs)
    for voice_id in (f"{CHECKPOINT_PREFIX}{traversal}/step-00000002.ckpt",
                     f"{CHECKPOINT_PREFIX}mine/../../x.ckpt"):
        with pytest.raises(VoiceError, match="not a checkpoint of this workspace"):
            find_voice(workspace, voice_id)
    outside = add_voice(workspace, "anna")
    (tmp_path / "elsewhere").mkdir()
    moved = tmp_path / "elsewhere" / "anna.onnx"
    outside.rename(moved)
    Path(str(outside) + ".json").rename(Path(str(moved) + ".json"))
    (workspace.voices / "sub").symlink_to(moved.parent)  # a folder of voices linked in: refused
    with pytest.raises(VoiceError, match="leads outside"):
        find_voice(workspace, "sub/anna")
    (workspace.voices / "shared.onnx").symlink_to(moved)  # a voice file sharing a model: read only
    Path(str(moved) + ".json").rename(workspace.voices / "shared.onnx.json")
    assert find_voice(workspace, "shared").model_path == workspace.voices / "shared.onnx"
    with pytest.raises(VoiceError, match="not in the workspace"):
        find_voice(workspace, os.path.relpath(moved.with_suffix(""), workspace.voices))


def test_a_history_index_names_only_clips_in_the_history_folder(workspace, tmp_path):
    secret = write_recording(tmp_path / "secret.wav", sentence_audio(SENTENCES[0]))
    workspace.history.mkdir(parents=True, exist_ok=True)
    (workspace.history / "linked.wav").symlink_to(secret)
    records = [{"id": str(n), "file": file, "text": "t", "voice": "v", "preset": None,
                "speaker": None, "created": "2026-01-01T00:00:00+00:00", "duration": 1.0,
                "sample_rate": 22050}
               for n, file in enumerate(["../../secret.wav", str(secret), "linked.wav"])]
    (workspace.history / "index.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    history = History.open(workspace)
    assert history.list() == [] and "3 line(s)" in " ".join(history.problems)
    assert secret.is_file()
