"""The dataset store: layout on disk, manifests, edits, undo, crash safety, listeners."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import soundfile

from voicelab.core.dataset.records import Change, DatasetError, NewClip, split_rows
from voicelab.core.dataset.store import Dataset, dataset_folder, list_datasets
from voicelab.core.names import BadName

RATE = 22050


def tone(seconds: float, level: float = 0.3, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def dataset(workspace, tmp_path):
    ds = Dataset.create(dataset_folder(workspace, "Joe"), "Joe")
    original = tmp_path / "My Recording.wav"
    soundfile.write(original, tone(10.0), RATE)
    source, _ = ds.add_source(original)
    ds.write_work_audio(source, tone(10.0))
    ds.replace_source_clips(source.id, [
        NewClip(0.5, 2.5, "One two three.", [["One", 0.5, 1.0], ["two", 1.2, 1.6], ["three.", 1.8, 2.4]],
                avg_logprob=-0.2, no_speech_prob=0.01, language="en"),
        NewClip(3.0, 5.0, "Four | five\tsix", avg_logprob=-0.3, no_speech_prob=0.02),
        NewClip(6.0, 8.5, "Seven eight.", avg_logprob=-0.1, no_speech_prob=0.0),
    ])
    return ds


def rows(path):
    return path.read_text(encoding="utf-8").splitlines()


def test_layout_and_manifests(dataset, tmp_path):
    folder = dataset.path
    assert (folder / "sources" / "my_recording.wav").is_file()
    assert (tmp_path / "My Recording.wav").is_file()  # the user's file is untouched
    ids = [c.id for c in dataset.clips]
    assert ids == ["my_recording_0001", "my_recording_0002", "my_recording_0003"]
    for clip in dataset.clips:
        data, rate = soundfile.read(folder / "wavs" / f"{clip.id}.wav")
        info = soundfile.info(folder / "wavs" / f"{clip.id}.wav")
        assert rate == RATE and info.channels == 1 and info.subtype == "PCM_16"
        assert abs(len(data) / RATE - clip.duration) < 0.01
    meta = rows(folder / "metadata.csv")
    assert meta[1] == "my_recording_0002|Four five six"  # the separator cannot break a row
    train, validation = rows(folder / "train.txt"), rows(folder / "validation.txt")
    assert sorted(train + validation) == sorted(meta) and len(validation) == 1
    saved = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    assert saved["clips"][0]["source"] == "my_recording" and saved["clips"][0]["start"] == 0.5
    assert saved["sources"][0]["original"].endswith("My Recording.wav")
    assert 0.7 < saved["clips"][0]["confidence"] < 0.85


def test_reopen_and_list(dataset, workspace):
    again = Dataset.open(dataset.path)
    assert [c.text for c in again.clips] == [c.text for c in dataset.clips]
    listed = list_datasets(workspace)
    assert [d.name for d in listed] == ["Joe"] and listed[0].clips == 3
    assert abs(listed[0].usable_seconds - 6.5) < 0.01


def test_same_file_twice_is_one_source(dataset, tmp_path):
    source, is_new = dataset.add_source(tmp_path / "My Recording.wav")
    assert not is_new and len(dataset.sources) == 1


def test_edits_exclusion_and_manifest(dataset):
    dataset.set_text("my_recording_0001", "One, two,\nthree!")
    dataset.set_excluded(["my_recording_0003"])
    meta = rows(dataset.path / "metadata.csv")
    assert meta == ["my_recording_0001|One, two, three!", "my_recording_0002|Four five six"]
    assert dataset.clip("my_recording_0001").edited


def test_split_merge_bounds_and_undo(dataset):
    ids = [c.id for c in dataset.clips]
    before = dataset.capture(ids)
    first, second = dataset.split_clip("my_recording_0001", 1.1)
    assert (first.text, second.text) == ("One", "two three.")
    assert second.id == "my_recording_0004"
    assert abs(soundfile.info(dataset.clip_path(second.id)).duration - 1.4) < 0.01
    merged = dataset.merge_with_next(first.id)
    assert merged.text == "One two three." and not dataset.clip_path(second.id).exists()
    moved = dataset.set_bounds("my_recording_0002", 2.8, 5.5)
    assert abs(soundfile.info(dataset.clip_path(moved.id)).duration - 2.7) < 0.01
    dataset.delete_clips(["my_recording_0003"])
    assert not dataset.clip_path("my_recording_0003").exists()

    dataset.swap([c.id for c in dataset.clips], before)
    assert [c.id for c in dataset.clips] == ["my_recording_0001", "my_recording_0002", "my_recording_0003"]
    assert dataset.clip_path("my_recording_0003").exists()
    assert abs(soundfile.info(dataset.clip_path("my_recording_0002")).duration - 2.0) < 0.01
    again, _ = dataset.split_clip("my_recording_0001", 1.1)
    assert dataset.clips[1].id == "my_recording_0005"  # ids are never handed out twice


def test_undo_of_one_edit_keeps_clips_added_since(dataset):
    before = dataset.capture(["my_recording_0001", "my_recording_0002"])
    merged = dataset.merge_with_next("my_recording_0001")
    after = dataset.capture([merged.id])
    dataset.replace_source_clips("my_recording", [NewClip(8.6, 9.9, "Nine.")])  # the pipeline
    dataset.swap([merged.id], before)  # undo
    assert [c.text for c in dataset.clips] == ["One two three.", "Four five six", "Nine."]
    dataset.swap(["my_recording_0001", "my_recording_0002"], after)  # redo
    assert [c.text for c in dataset.clips] == ["One two three. Four five six", "Nine."]
    assert abs(soundfile.info(dataset.clip_path(merged.id)).duration - 4.5) < 0.01


def test_bad_edits_say_why(dataset):
    with pytest.raises(DatasetError, match="not inside"):
        dataset.split_clip("my_recording_0001", 5.0)
    with pytest.raises(DatasetError, match="last of its recording"):
        dataset.merge_with_next("my_recording_0003")
    with pytest.raises(DatasetError, match="no clip"):
        dataset.set_text("nope", "x")
    with pytest.raises(BadName, match="cannot be a dataset name"):
        Dataset.create(dataset.path.parent / "x", "a/b")


def test_rerun_keeps_user_edits(dataset):
    dataset.set_text("my_recording_0002", "Four five six, checked by me")
    fresh = dataset.replace_source_clips("my_recording", [
        NewClip(0.4, 2.6, "One two three"), NewClip(3.1, 4.9, "overlaps the edited clip"),
        NewClip(8.6, 9.9, "Nine."),
    ])
    texts = [c.text for c in dataset.clips]
    assert texts == ["One two three", "Four five six, checked by me", "Nine."]
    assert [c.id for c in fresh] == ["my_recording_0004", "my_recording_0005"]
    assert not dataset.clip_path("my_recording_0001").exists()  # replaced clip's audio gone


def test_listeners_hear_changes(dataset):
    heard = []
    dataset.add_listener(heard.append)
    dataset.set_text("my_recording_0001", "x")
    dataset.delete_clips(["my_recording_0002"])
    assert heard == [Change("clip", ("my_recording_0001",)), Change("clips", ("my_recording_0002",))]


def test_summary_and_hint(dataset):
    summary = dataset.summary()
    assert (summary.clips, summary.usable_clips) == (3, 3)
    assert abs(summary.usable_seconds - 6.5) < 0.01
    assert "very little" in summary.hint


def test_split_is_stable_when_clips_are_added():
    rows_a = [f"c{i:03d}|text {i}" for i in range(100)]
    train_a, val_a = split_rows(rows_a, 0.1, 1234)
    assert len(val_a) == 10
    train_b, val_b = split_rows(rows_a + [f"d{i:03d}|more" for i in range(10)], 0.1, 1234)
    assert len(set(val_a) - set(val_b)) <= 1  # adding clips hardly moves existing ones
    assert split_rows(rows_a, 0.1, 1234) == (train_a, val_a)
    assert split_rows(rows_a, 0.1, 99) != (train_a, val_a)


def test_orphan_wavs_from_a_crash_are_removed_once_no_writer_has_the_dataset_open(dataset):
    orphan = dataset.path / "wavs" / "my_recording_0099.wav"
    soundfile.write(orphan, tone(0.5), RATE)
    Dataset.open(dataset.path)
    assert orphan.exists()  # the fixture's writer may be about to name it in dataset.json
    dataset.close()
    again = Dataset.open(dataset.path)
    assert not orphan.exists() and len(again.clips) == 3


def test_killed_writer_leaves_a_dataset_that_opens(dataset):
    """SIGKILL while the process saves edits in a loop: the dataset always opens whole."""
    script = textwrap.dedent(f"""
        from voicelab.core.dataset.store import Dataset
        ds = Dataset.open({str(dataset.path)!r})
        i = 0
        print("ready", flush=True)
        while True:
            i += 1
            ds.set_text("my_recording_0001", f"edit number {{i}}")
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    import time
    time.sleep(0.5)
    proc.kill()
    proc.wait()
    proc.stdout.close()
    again = Dataset.open(dataset.path)
    assert again.clip("my_recording_0001").text.startswith("edit number")
    assert len(rows(dataset.path / "metadata.csv")) == 3
    assert len(again.clips) == 3


def test_loudness_option_levels_clips(workspace, tmp_path):
    ds = Dataset.create(dataset_folder(workspace, "Level"))
    src_file = tmp_path / "quiet.wav"
    audio = np.concatenate([tone(2.0, 0.02), tone(2.0, 0.5)])
    soundfile.write(src_file, audio, RATE)
    source, _ = ds.add_source(src_file)
    ds.write_work_audio(source, audio)
    ds.set_options(loudness_db=-20.0)
    quiet, loud = ds.replace_source_clips(source.id, [NewClip(0.1, 1.9, "a"), NewClip(2.1, 3.9, "b")])
    assert abs(quiet.rms_db - loud.rms_db) < 0.5 and abs(quiet.rms_db + 20) < 0.5


def test_excluded_clips_survive_a_rerun_and_state_is_saved_with_clips(dataset):
    dataset.set_excluded(["my_recording_0003"])
    dataset.replace_source_clips("my_recording", [NewClip(0.4, 2.6, "again")], state="done", language="en")
    assert [c.id for c in dataset.clips] == ["my_recording_0004", "my_recording_0003"]
    saved = json.loads((dataset.path / "dataset.json").read_text(encoding="utf-8"))
    assert saved["sources"][0]["state"] == "done" and saved["sources"][0]["language"] == "en"


def test_batch_saves_once_and_notifies_once(dataset, monkeypatch):
    saves, heard = [], []
    real_save = Dataset.save
    monkeypatch.setattr(Dataset, "save", lambda self: (saves.append(1), real_save(self)))
    dataset.add_listener(heard.append)
    with dataset.batch():
        for clip_id in ("my_recording_0001", "my_recording_0002"):
            dataset.set_text(clip_id, "batched")
        assert "batched" not in (dataset.path / "metadata.csv").read_text(encoding="utf-8")
    assert (dataset.path / "metadata.csv").read_text(encoding="utf-8").count("batched") == 2
    assert heard == [Change("reset")]
    assert len(saves) == 3  # two deferred calls, one real write at the end


def test_open_never_deletes_wavs_it_did_not_write(dataset):
    foreign = dataset.path / "wavs" / "LJ001-0001.wav"
    soundfile.write(foreign, tone(0.5), RATE)
    data = json.loads((dataset.path / "dataset.json").read_text(encoding="utf-8"))
    data["clips"] = []  # a JSON that lost its clips must not cost the audio
    (dataset.path / "dataset.json").write_text(json.dumps(data), encoding="utf-8")
    old = time.time() - 60
    for wav in (dataset.path / "wavs").iterdir():
        os.utime(wav, (old, old))  # written long before the JSON was
    dataset.close()
    Dataset.open(dataset.path)
    assert foreign.exists() and dataset.clip_path("my_recording_0001").exists()
