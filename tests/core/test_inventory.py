"""Renaming and deleting datasets, runs and voices keeps every reference true."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.voices import add_voice
from voicelab.core import inventory
from voicelab.core.dataset.store import Dataset, dataset_folder, list_datasets
from voicelab.core.synthesis.presets import Preset, PresetStore
from voicelab.core.synthesis.voices import DEFAULT_VOICE_ID, list_voices
from voicelab.core.training.run.config import TrainConfig
from voicelab.core.training.run.runs import RunLock, list_runs, load_run, write_train_yaml


def make_dataset(workspace, name="Anna"):
    return Dataset.create(dataset_folder(workspace, name), name)


def make_run(workspace, name, dataset=None, base=None):
    run = Path(workspace.root) / "runs" / name
    run.mkdir(parents=True)
    config = TrainConfig(dataset=str(dataset or "/nowhere"), base=str(base) if base else None)
    write_train_yaml(run, config, {"created": "now"})
    return run


def test_renaming_a_dataset_moves_it_and_points_its_runs_and_settings_at_it(workspace):
    dataset = make_dataset(workspace)
    run = make_run(workspace, "r1", dataset.path)
    make_run(workspace, "other", "/elsewhere")
    workspace.settings.last_dataset = "Anna"
    workspace.save_settings()

    target = inventory.rename_dataset(workspace, "Anna", "Anna 2024")
    assert target == dataset_folder(workspace, "Anna 2024") and target.is_dir()
    assert not dataset.path.exists()
    assert Dataset.open(target).name == "Anna 2024"
    assert [d.name for d in list_datasets(workspace)] == ["Anna 2024"]
    assert Path(load_run(run)[0].dataset) == target
    assert load_run(Path(workspace.root) / "runs" / "other")[0].dataset == "/elsewhere"
    assert workspace.settings.last_dataset == "Anna 2024"
    assert inventory.dataset_users(workspace, "Anna 2024").runs == ["r1"]


def test_dataset_rename_refuses_taken_and_bad_names_and_missing_datasets(workspace):
    make_dataset(workspace, "Anna")
    make_dataset(workspace, "Bob")
    with pytest.raises(inventory.InventoryError, match="already exists"):
        inventory.rename_dataset(workspace, "Anna", "Bob")
    with pytest.raises(inventory.VoiceLabError, match="cannot be a dataset name"):
        inventory.rename_dataset(workspace, "Anna", "a/b")
    with pytest.raises(inventory.InventoryError, match="no dataset 'Carl'"):
        inventory.rename_dataset(workspace, "Carl", "Dora")
    assert {d.name for d in list_datasets(workspace)} == {"Anna", "Bob"}


def test_nothing_a_running_trainer_uses_can_be_renamed_or_deleted(workspace):
    dataset = make_dataset(workspace)
    voice = add_voice(workspace)
    run = make_run(workspace, "live", dataset.path, base=voice)
    with RunLock(run):  # what a trainer holds for its whole life, in any process
        with pytest.raises(inventory.InUse, match="live, which is running"):
            inventory.rename_dataset(workspace, "Anna", "Other")
        with pytest.raises(inventory.InUse, match="live"):
            inventory.delete_dataset(workspace, "Anna")
        with pytest.raises(inventory.InUse, match="is training"):
            inventory.delete_run(workspace, "live")
        with pytest.raises(inventory.InUse, match="live"):
            inventory.delete_voice(workspace, "anna")
        with pytest.raises(inventory.InUse, match="live"):
            inventory.rename_voice(workspace, "anna", "bella")
    assert dataset.path.is_dir() and voice.is_file() and run.is_dir()
    users = inventory.delete_dataset(workspace, "Anna")  # free again once it stopped
    assert users.runs == ["live"] and users.running == []
    assert list_datasets(workspace) == []
    assert not any(p.name.startswith(".deleted") for p in dataset.path.parent.iterdir())


def test_deleting_a_run_removes_its_folder_and_the_setting_that_named_it(workspace):
    run = make_run(workspace, "r1")
    (run / "checkpoints" / "step-00000002.ckpt").parent.mkdir()
    (run / "checkpoints" / "step-00000002.ckpt").write_bytes(b"x")
    workspace.settings.last_run = "r1"
    workspace.save_settings()
    inventory.delete_run(workspace, "r1")
    assert not run.exists() and list_runs(run.parent) == []
    assert workspace.settings.last_run is None
    with pytest.raises(inventory.InventoryError, match="no training run 'r1'"):
        inventory.delete_run(workspace, "r1")


def test_renaming_a_voice_renames_its_files_and_its_presets_follow(workspace):
    add_voice(workspace, "anna")
    store = PresetStore.open(workspace)
    store.create(Preset(name="Calm", voice="anna", speed=0.9))
    store.create(Preset(name="Joe", voice=DEFAULT_VOICE_ID))

    assert inventory.rename_voice(workspace, "anna", "Anna (warm)") == "Anna_warm"
    assert (workspace.voices / "Anna_warm.onnx").is_file()
    assert (workspace.voices / "Anna_warm.onnx.json").is_file()
    assert not (workspace.voices / "anna.onnx").exists()
    presets = {p.name: p for p in PresetStore.open(workspace).list()}
    assert presets["Calm"].voice == "Anna_warm" and presets["Calm"].speed == 0.9
    assert presets["Joe"].voice == DEFAULT_VOICE_ID
    assert "Anna_warm" in {v.id for v in list_voices(workspace)}
    add_voice(workspace, "bob")
    with pytest.raises(inventory.InventoryError, match="already exists"):
        inventory.rename_voice(workspace, "bob", "Anna_warm")


def test_deleting_a_voice_leaves_its_presets_saying_it_is_gone(workspace):
    add_voice(workspace, "anna")
    store = PresetStore.open(workspace)
    store.create(Preset(name="Calm", voice="anna"))
    assert inventory.voice_users(workspace, "anna").presets == ["Calm"]
    inventory.delete_voice(workspace, "anna")
    assert list(workspace.voices.iterdir()) == []
    problem = PresetStore.open(workspace).problem("Calm")
    assert problem and "anna" in problem


def test_the_builtin_voice_and_checkpoints_are_not_files_to_rename(workspace):
    with pytest.raises(inventory.InventoryError, match="built-in voice"):
        inventory.rename_voice(workspace, DEFAULT_VOICE_ID, "mine")
    with pytest.raises(inventory.VoiceLabError):
        inventory.delete_voice(workspace, "checkpoint:r1/step-00000002.ckpt")


def test_a_preset_is_made_once_for_a_new_voice(workspace):
    add_voice(workspace, "anna")
    store = PresetStore.open(workspace)
    store.create(Preset(name="anna", voice=DEFAULT_VOICE_ID))  # the name is taken by another
    made = store.for_voice("anna", "anna")
    assert made.name == "anna 2" and made.voice == "anna"
    assert store.for_voice("anna", "anna").name == "anna 2"  # not a second one
    assert len(store) == 2


def test_the_cli_renames_and_deletes_datasets_runs_and_voices(workspace, capsys):
    from voicelab.cli.main import main

    make_dataset(workspace, "Anna")
    make_run(workspace, "r1", dataset_folder(workspace, "Anna"))
    add_voice(workspace, "anna")
    assert main(["dataset", "rename", "Anna", "Bea"]) == 0
    assert "Renamed dataset 'Anna' to 'Bea'" in capsys.readouterr().out
    assert main(["dataset", "delete", "Bea"]) == 0
    assert "keep their prepared copy: r1" in capsys.readouterr().out
    assert main(["dataset", "delete", "Bea"]) != 0
    assert "no dataset named 'Bea'" in capsys.readouterr().err
    assert main(["voices", "rename", "anna", "bella"]) == 0
    assert main(["voices", "delete", "bella"]) == 0
    assert not list(workspace.voices.iterdir())
    assert main(["train", "delete", "r1"]) == 0
    assert list_runs(Path(workspace.root) / "runs") == []


def test_a_delete_cut_short_leaves_nothing_that_lists(workspace):
    """A crash between the rename and the removal leaves tombstones; no listing shows them,
    and the next delete clears them."""
    dataset = make_dataset(workspace, "Anna")
    run = make_run(workspace, "r1", dataset.path)
    dataset.path.rename(dataset.path.with_name(inventory.TOMBSTONE_PREFIX + "1-Anna"))
    run.rename(run.with_name(inventory.TOMBSTONE_PREFIX + "1-r1"))
    assert list_datasets(workspace) == [] and list_runs(run.parent) == []
    make_dataset(workspace, "Bob")
    inventory.delete_dataset(workspace, "Bob")
    assert list(dataset.path.parent.iterdir()) == []
