"""Several writers, one dataset (issue 16): every writer's clips are kept.

Two `dataset add` a second apart both said "22 clips", "24 clips", and the dataset kept only
the second's: each process saved what it held in memory. Now each change re-reads what
another process saved, under the dataset's lock.
"""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile

from tests.support.dataset_audio import SENTENCES, recording, write_recording
from voicelab.cli import main as cli
from voicelab.core.dataset.records import Change, NewClip
from voicelab.core.dataset.store import Dataset, dataset_folder

#: Waits for the start file, so both processes open the dataset at the same moment.
WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from voicelab.cli import main as cli
    go = Path(sys.argv[1])
    while not go.exists():
        time.sleep(0.002)
    sys.exit(cli.main(sys.argv[2:]))
""")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """Eight recordings of two sentences each, all different: four for each process."""
    folder = tmp_path_factory.mktemp("two-writers")
    files = [write_recording(folder / f"take{i}.wav",
                             recording([SENTENCES[i % 3], SENTENCES[(i + 1) % 3]], pause=0.8 + 0.05 * i))
             for i in range(8)]
    return files[:4], files[4:]


def test_two_processes_adding_at_once_keep_every_clip(workspace, tmp_path, recordings):
    folder = dataset_folder(workspace, "shared")
    assert cli.main(["dataset", "create", "shared"]) == 0
    go = tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", WORKER, str(go), "dataset", "add", "shared",
                                   *map(str, files), "--vad"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for files in recordings]
    go.touch()
    for process in processes:
        out, err = process.communicate(timeout=180)  # a bound that catches a hang
        assert process.returncode == 0, err
        # Each adds its four; one may also finish a recording the other added and had not
        # finished yet (it is "pending" in dataset.json): done twice, kept once.
        assert int(re.search(r"Added (\d+) recording\(s\)", out).group(1)) >= 4, out

    data = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    assert sorted(s["original"] for s in data["sources"]) == sorted(
        str(f) for files in recordings for f in files)
    assert all(s["state"] == "done" for s in data["sources"])
    per_source = collections.Counter(c["source"] for c in data["clips"])
    assert per_source == {s["id"]: 2 for s in data["sources"]}  # two sentences each, none lost
    assert len({c["id"] for c in data["clips"]}) == len(data["clips"]) == 16
    named = {f"{c['id']}.wav" for c in data["clips"]}
    assert {p.name for p in (folder / "wavs").iterdir()} == named  # no orphan, none missing
    assert {p.name for p in (folder / "sources").iterdir()} == {
        s["file"].split("/")[-1] for s in data["sources"]}
    assert data["queued"] == []


def test_each_object_catches_up_with_the_other_before_it_changes_anything(workspace, tmp_path):
    """Two `Dataset` objects on one folder stand for two processes (a GUI and a CLI)."""
    rate = 22050
    audio = (0.3 * np.sin(2 * np.pi * 220 * np.arange(4 * rate) / rate)).astype(np.float32)
    first = Dataset.create(dataset_folder(workspace, "both"), "both")
    heard = []
    first.add_listener(heard.append)
    second = Dataset.open(first.path)
    for name, writer in (("a.wav", first), ("b.wav", second)):
        soundfile.write(tmp_path / name, audio * (0.5 if name == "a.wav" else 0.9), rate)
        source, _ = writer.add_source(tmp_path / name)
        writer.write_work_audio(source, audio)
        writer.replace_source_clips(source.id, [NewClip(0.2, 1.8, f"{name} one"),
                                                NewClip(2.0, 3.8, f"{name} two")], state="done")
    first.set_text("a_0001", "edited by the first")
    second.set_excluded(["b_0002"])
    assert Change("reset") in heard  # the first heard that it read the second's clips in

    again = Dataset.open(first.path)
    assert [s.id for s in again.sources] == ["a", "b"]
    assert {c.id: (c.text, c.excluded) for c in again.clips} == {
        "a_0001": ("edited by the first", False), "a_0002": ("a.wav two", False),
        "b_0001": ("b.wav one", False), "b_0002": ("b.wav two", True)}
    assert all(again.clip_path(c.id).is_file() for c in again.clips)

    # A split takes its new clip's id for every writer before cutting the audio.
    one, two = first.split_clip("b_0001", 1.0)
    three, four = second.split_clip("b_0002", 2.9)
    assert len({one.id, two.id, three.id, four.id}) == 4
    assert len(Dataset.open(first.path).clips) == 6
