"""Recordings → clips through the real pipeline: joe's speech, tiny.en, the real store.

One set of recordings (known sentences and pauses; WAV/FLAC/OGG/MP3/M4A; 16–48 kHz; mono
and stereo; one with background noise) is made and processed once per module; tests that
change a dataset work on a copy of it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.support.dataset_audio import (
    MORE_SENTENCES,
    SENTENCES,
    recording,
    recording_spans,
    tiny_model_path,
    write_recording,
)
from tests.support.paths import REPO_ROOT
from tests.support.speech import transcribe, wer
from voicelab.core.audio import read_audio
from voicelab.core.dataset.asr import ASRError, ASROptions
from voicelab.core.dataset.pipeline import (
    AddCancelled,
    PipelineOptions,
    add_recordings,
    process_pending,
    retranscribe_clip,
)
from voicelab.core.dataset.store import Dataset
from voicelab.core.dataset.transcribers import load_transcriber
from voicelab.core.progress import CancelToken

ROOT = REPO_ROOT

#: name → (sentences, writer arguments)
FILES: dict[str, tuple] = {
    "a_stereo.wav": (SENTENCES[0:2], dict(rate=44100, channels=2), dict(pause=0.7)),
    "b_noisy.flac": (SENTENCES[2:4], dict(rate=48000), dict(pause=0.9, noise_db=-45)),
    "c.ogg": (MORE_SENTENCES[0:1], dict(rate=22050), {}),
    "d.mp3": (MORE_SENTENCES[1:2], dict(rate=24000, channels=2), {}),
    "e.m4a": (SENTENCES[4:6], dict(rate=44100, channels=2), dict(pause=0.6)),
}


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("recordings")
    return {name: write_recording(folder / name, recording(sentences, **shape), **kwargs)
            for name, (sentences, kwargs, shape) in FILES.items()}


def options(**asr) -> PipelineOptions:
    return PipelineOptions(asr=ASROptions(model_path=tiny_model_path(), **asr))


@pytest.fixture(scope="module")
def processed(tmp_path_factory, recordings):
    """The five recordings added to one dataset; (folder, report, progress calls, hashes)."""
    before = {name: (p.stat().st_mtime_ns, p.read_bytes()) for name, p in recordings.items()}
    folder = tmp_path_factory.mktemp("processed") / "speech"
    dataset = Dataset.create(folder, "speech")
    calls: list[tuple] = []
    report = add_recordings(dataset, [recordings[n] for n in FILES], options(),
                            progress=lambda d, t, m: calls.append((d, t, m)))
    return folder, report, calls, before


def copy_of(processed, tmp_path) -> Dataset:
    target = tmp_path / "copy"
    shutil.copytree(processed[0], target)
    return Dataset.open(target)


def assert_consistent(folder: Path) -> dict:
    """What a reader of the folder sees must agree: JSON, wavs and manifests."""
    data = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    ids = [c["id"] for c in data["clips"]]
    assert len(ids) == len(set(ids)), "duplicate clip ids"
    for clip in data["clips"]:
        assert (folder / "wavs" / f"{clip['id']}.wav").is_file(), clip["id"]
        source = next(s for s in data["sources"] if s["id"] == clip["source"])
        assert source["state"] in ("done", "pending", "failed")
    usable = [c for c in data["clips"] if not c["excluded"] and c["text"].strip()]
    rows = (folder / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert [r.split("|")[0] for r in rows] == [c["id"] for c in usable]
    train = (folder / "train.txt").read_text(encoding="utf-8").splitlines()
    validation = (folder / "validation.txt").read_text(encoding="utf-8").splitlines()
    assert sorted(train + validation) == sorted(rows)
    return data


def assert_one_clip_per_sentence(clips, sentences, pause=0.7, tolerance=0.15):
    """Each sentence (where the recording put it) lies in exactly one clip, and the clips
    hold nothing else: no sentence lost, none duplicated. Word errors are tiny.en's and are
    judged by the WER tests, so the text check here is loose."""
    clips = sorted(clips, key=lambda c: c.start)
    assert len(clips) == len(sentences), [c.text for c in clips]
    for (start, end), sentence in zip(recording_spans(sentences, pause), sentences):
        holding = [c for c in clips if c.start <= start + tolerance and c.end >= end - tolerance]
        assert len(holding) == 1, (sentence, start, end, [(c.start, c.end) for c in clips])
        assert wer(sentence, holding[0].text) <= 0.6, (sentence, holding[0].text)
    for first, second in zip(clips, clips[1:]):
        assert first.end <= second.start + 1e-6


# --------------------------------------------------------------------------- the main run


def test_every_sentence_lands_in_its_own_clip_within_the_limits(processed):
    folder, report, _, _ = processed
    dataset = Dataset.open(folder)
    assert report.files_added == 5 and report.files_skipped == []
    assert report.clips_added == len(dataset.clips) == sum(len(s) for s, _, _ in FILES.values())
    assert all(s.state == "done" and s.language == "en" for s in dataset.sources)
    for source, (name, (sentences, _, _)) in zip(dataset.sources, FILES.items()):
        clips = [c for c in dataset.clips if c.source == source.id]
        assert Path(source.original).name == name
        assert_one_clip_per_sentence(clips, sentences, FILES[name][2].get("pause", 0.7))
    for clip in dataset.clips:
        assert 1.0 <= clip.duration <= 12.0
        assert clip.words and clip.words[0][1] >= clip.start and clip.words[-1][2] <= clip.end + 0.01
        assert clip.confidence is not None and 0 < clip.confidence <= 1
    assert report.seconds_processed == pytest.approx(sum(s.duration for s in dataset.sources), abs=0.1)


def test_wer_is_within_three_points_of_bare_faster_whisper(processed, recordings):
    dataset = Dataset.open(processed[0])
    reference = " ".join(" ".join(s) for s, _, _ in FILES.values())
    ours = " ".join(c.text for c in dataset.clips)
    bare = " ".join(transcribe(*read_audio(recordings[name])) for name in FILES)
    assert wer(reference, ours) <= wer(reference, bare) + 0.03, (ours, bare)


def test_files_on_disk(processed, recordings):
    folder, _, _, before = processed
    data = assert_consistent(folder)
    for clip in data["clips"]:
        info = soundfile.info(str(folder / "wavs" / f"{clip['id']}.wav"))
        assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
        assert info.duration == pytest.approx(clip["end"] - clip["start"], abs=0.01)
    for source in data["sources"]:
        original = Path(source["original"])
        copied = folder / source["file"]
        assert copied.read_bytes() == original.read_bytes()
        assert (original.stat().st_mtime_ns, original.read_bytes()) == before[original.name]
    rows = (folder / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == len(data["clips"]) and all(r.count("|") == 1 for r in rows)


def test_progress_counts_seconds_and_names_the_files(processed):
    _, report, calls, _ = processed
    done = [d for d, _, _ in calls]
    assert done == sorted(done)
    total = calls[-1][1]
    assert done[-1] == pytest.approx(total)
    assert total == pytest.approx(report.seconds_processed, abs=0.5)
    messages = " ".join(m for _, _, m in calls)
    for number, name in enumerate(FILES, 1):
        assert f"file {number}/5: {name}" in messages
    assert "transcribing" in messages


# --------------------------------------------------------------------------- incremental


def test_adding_again_processes_only_new_files(processed, recordings, tmp_path):
    dataset = copy_of(processed, tmp_path)
    old = {c.id: (c.start, c.end, c.text) for c in dataset.clips}
    new_file = write_recording(tmp_path / "f.wav", recording(MORE_SENTENCES[2:4], pause=0.8))
    calls = []
    report = add_recordings(dataset, [*recordings.values(), new_file], options(),
                            progress=lambda d, t, m: calls.append(m))
    assert report.files_added == 1
    assert [p.path.name for p in report.files_skipped] == list(FILES)
    assert all("already in the dataset" in p.reason for p in report.files_skipped)
    assert {c.id: (c.start, c.end, c.text) for c in dataset.clips if c.id in old} == old
    fresh = [c for c in dataset.clips if c.id not in old]
    assert len(fresh) == 2 and report.clips_added == 2
    assert not any("transcribing" in m for m in calls if "f.wav" not in m)
    assert_consistent(dataset.path)


def test_user_edits_survive_a_rerun(processed, tmp_path):
    dataset = copy_of(processed, tmp_path)
    source = dataset.sources[0]
    first, second = [c for c in dataset.clips if c.source == source.id]
    dataset.set_text(first.id, "My own careful transcript.")
    moved = dataset.set_bounds(second.id, second.start + 0.05, second.end)
    dataset.mark_source(source.id, "pending")
    report = process_pending(dataset, options())
    assert report.files_added == 1
    clips = [c for c in dataset.clips if c.source == source.id]
    kept = {c.id: c for c in clips}
    assert kept[first.id].text == "My own careful transcript." and kept[first.id].edited
    assert (kept[second.id].start, kept[second.id].end) == (moved.start, moved.end)
    for clip in clips:  # nothing new was cut over the edited clips
        if clip.id not in (first.id, second.id):
            assert clip.end <= first.start or clip.start >= first.end
            assert clip.end <= moved.start or clip.start >= moved.end
    assert_consistent(dataset.path)


def test_retranscribe_one_clip(processed, tmp_path):
    dataset = copy_of(processed, tmp_path)
    clip = dataset.clips[0]
    sentence = best_clip_sentence(clip.text)
    dataset.set_text(clip.id, "garbage")
    transcriber = load_transcriber(ASROptions(model_path=tiny_model_path()))
    again = retranscribe_clip(dataset, clip.id, transcriber)
    assert wer(sentence, again.text) <= 0.5
    assert again.edited and again.confidence is not None
    assert all(clip.start - 0.01 <= w[1] <= w[2] <= clip.end + 0.01 for w in again.words)
    assert Dataset.open(dataset.path).clip(clip.id).text == again.text


def best_clip_sentence(text: str) -> str:
    every = [s for sentences, _, _ in FILES.values() for s in sentences]
    return min(every, key=lambda s: wer(s, text))


# --------------------------------------------------------------------------- options


def test_loudness_normalization_brings_clips_to_one_level(recordings, tmp_path):
    dataset = Dataset.create(tmp_path / "loud", "loud")
    quiet = write_recording(tmp_path / "quiet.wav", recording(SENTENCES[:2], pause=0.8) * 0.05)
    report = add_recordings(dataset, [quiet, recordings["e.m4a"]],
                            PipelineOptions(asr=options().asr, loudness_db=-20.0))
    assert report.clips_added == 4
    for clip in dataset.clips:
        samples, _ = soundfile.read(str(dataset.clip_path(clip.id)), dtype="float32")
        rms = 20 * np.log10(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
        peak = np.max(np.abs(samples))
        assert rms == pytest.approx(-20.0, abs=1.0) or peak > 0.85  # or held at -1 dBFS
        assert peak <= 0.9


def test_vad_mode_cuts_without_text(recordings, tmp_path):
    dataset = Dataset.create(tmp_path / "vad", "vad")
    report = add_recordings(dataset, [recordings["b_noisy.flac"]],
                            PipelineOptions(mode="vad", asr=ASROptions(model="not-needed")))
    assert report.clips_added == 2
    assert all(c.text == "" and 1.0 <= c.duration <= 12.0 for c in dataset.clips)
    assert (dataset.path / "metadata.csv").read_text() == ""  # nothing usable until typed
    dataset.set_text(dataset.clips[0].id, "Typed by hand.")
    assert (dataset.path / "metadata.csv").read_text().strip().endswith("|Typed by hand.")


# --------------------------------------------------------------------------- bad input


def test_bad_files_are_skipped_with_reasons_and_the_rest_goes_on(recordings, tmp_path, monkeypatch):
    folder = tmp_path / "drop"
    good = write_recording(folder / "good.wav", recording(MORE_SENTENCES[4:5]))
    (folder / "empty.wav").write_bytes(b"")
    whole = recordings["a_stereo.wav"].read_bytes()
    (folder / "truncated.wav").write_bytes(whole[: len(whole) // 3])
    (folder / "noise.mp3").write_bytes(np.random.default_rng(3).integers(0, 256, 30000, np.uint8).tobytes())
    write_recording(folder / "silent.flac", np.zeros(22050 * 2, np.float32))
    locked = write_recording(folder / "locked.ogg", recording(SENTENCES[:1]))
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list")
    real_access = os.access  # root reads anything: simulate a file the user may not read
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if Path(p) == locked
                        else real_access(p, mode, *a, **k))
    dataset = Dataset.create(tmp_path / "ds", "ds")
    report = add_recordings(dataset, [folder, notes, tmp_path / "missing.wav"], options())
    reasons = {p.path.name: p.reason for p in report.files_skipped}
    assert set(reasons) == {"empty.wav", "truncated.wav", "noise.mp3", "silent.flac",
                            "locked.ogg", "notes.txt", "missing.wav"}
    assert "empty" in reasons["empty.wav"]
    assert "truncated" in reasons["truncated.wav"]
    assert "not an audio file" in reasons["noise.mp3"] or "damaged" in reasons["noise.mp3"]
    assert "silent" in reasons["silent.flac"]
    assert "permission denied" in reasons["locked.ogg"]
    assert "not an audio file" in reasons["notes.txt"]
    assert "does not exist" in reasons["missing.wav"]
    assert all(str(p.path) in p.reason for p in report.files_skipped)  # each names its file
    assert report.files_added == 1 and len(dataset.sources) == 1
    assert Path(dataset.sources[0].original) == good
    assert [p.name for p in (dataset.path / "sources").iterdir()] == ["good.wav"]


def test_a_missing_model_fails_before_anything_is_copied(recordings, tmp_path, workspace):
    dataset = Dataset.create(tmp_path / "ds", "ds")
    with pytest.raises(ASRError, match="models download whisper:small.en"):
        add_recordings(dataset, [recordings["c.ogg"]],
                       PipelineOptions(asr=ASROptions(model="small.en")), workspace=workspace)
    assert dataset.sources == [] and not any((dataset.path / "sources").iterdir())


# --------------------------------------------------------------------------- stop and resume


def test_cancel_stops_within_a_second_and_the_dataset_stays_consistent(recordings, tmp_path):
    long = write_recording(tmp_path / "long.wav",
                           recording(SENTENCES + MORE_SENTENCES, pause=0.7), rate=16000)
    files = [recordings["c.ogg"], long, recordings["d.mp3"]]
    dataset = Dataset.create(tmp_path / "ds", "ds")
    token = CancelToken()
    second_started = threading.Event()
    cancelled_at = []

    def progress(done, total, message):
        if message.startswith("file 2/3") and "transcribing" in message:
            second_started.set()

    def cancel_mid_file():
        if second_started.wait(60):
            time.sleep(0.1)
            cancelled_at.append(time.monotonic())
            token.cancel()

    # Sequential decoding keeps each uninterruptible engine call short, so the background
    # window the cancel leaves behind ends within the test's leaked-thread allowance.
    canceller = threading.Thread(target=cancel_mid_file)
    canceller.start()
    with pytest.raises(AddCancelled) as stopped:
        add_recordings(dataset, files, options(batched=False), progress=progress, cancel=token)
    returned = time.monotonic()
    canceller.join()
    assert returned - cancelled_at[0] < 1.0
    finish_background_work()
    assert stopped.value.report.files_added == 1
    data = assert_consistent(dataset.path)
    states = [s["state"] for s in data["sources"]]
    assert states == ["done", "pending"]
    assert {c["source"] for c in data["clips"]} == {data["sources"][0]["id"]}

    report = process_pending(Dataset.open(dataset.path), options())
    assert report.files_added == 1
    dataset = Dataset.open(dataset.path)
    assert [s.state for s in dataset.sources] == ["done", "done"]
    assert_one_clip_per_sentence([c for c in dataset.clips if c.source == dataset.sources[1].id],
                                 SENTENCES + MORE_SENTENCES, pause=0.7)


_CHILD = """
import sys
from pathlib import Path
from voicelab.core.dataset.asr import ASROptions
from voicelab.core.dataset.pipeline import PipelineOptions, add_recordings
from voicelab.core.dataset.store import Dataset

folder, model, *files = sys.argv[1:]

def progress(done, total, message):
    if message.endswith("done"):
        print("DONE", message, flush=True)

add_recordings(Dataset.open(Path(folder)), files,
               PipelineOptions(asr=ASROptions(model_path=model, batched=False)), progress=progress)
print("FINISHED", flush=True)
"""


def test_a_killed_run_resumes_without_losing_or_duplicating_clips(recordings, tmp_path):
    names = ["c.ogg", "a_stereo.wav", "e.m4a"]
    files = [str(recordings[n]) for n in names]
    folder = tmp_path / "ds"
    Dataset.create(folder, "ds")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(folder), tiny_model_path(), *files],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             cwd=str(ROOT))
    try:
        line = child.stdout.readline()
        assert line.startswith("DONE file 1/3"), line + child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)  # mid-way through the second recording
    finally:
        child.wait(30)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    after_kill = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    done = [s for s in after_kill["sources"] if s["state"] == "done"]
    assert 1 <= len(done) < 3

    dataset = Dataset.open(folder)  # drops wavs the killed run wrote but never saved
    report = add_recordings(dataset, files, options())
    assert report.files_added == 3 - len(done)
    assert_consistent(folder)
    assert [Path(s.original).name for s in dataset.sources] == names
    assert all(s.state == "done" for s in dataset.sources)
    named = {f"{c.id}.wav" for c in dataset.clips}
    assert {p.name for p in (folder / "wavs").iterdir()} == named
    for source, name in zip(dataset.sources, names):
        assert_one_clip_per_sentence([c for c in dataset.clips if c.source == source.id],
                                     FILES[name][0], FILES[name][2].get("pause", 0.7))


def finish_background_work(timeout: float = 30.0) -> None:
    """Let the engine call a cancel left running end (its result is dropped), so a slow
    machine does not trip the leaked-thread check; the cancel latency is already measured."""
    for thread in threading.enumerate():
        if thread.name in ("voicelab-asr", "voicelab-decode"):
            thread.join(timeout)
