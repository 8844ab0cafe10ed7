"""Finding recordings in files and folders, and every way a file can be unusable."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.dataset_audio import SENTENCES, recording, write_recording
from voicelab.core.audio import AudioError
from voicelab.core.dataset.ingest import (
    FileProblem, decode, file_sha256, find_audio, header_seconds, problem_from,
)


@pytest.fixture(scope="module")
def speech():
    return recording(SENTENCES[:1])


def test_find_audio_searches_folders_recursively(tmp_path, speech):
    folder = tmp_path / "phone"
    wav = write_recording(folder / "a.wav", speech)
    nested = write_recording(folder / "deeper" / "b.flac", speech)
    m4a = write_recording(folder / "deeper" / "c.m4a", speech)
    (folder / "notes.txt").write_text("not audio")
    (folder / ".hidden.wav").write_bytes(wav.read_bytes())
    (folder / ".cache").mkdir()
    write_recording(folder / ".cache" / "d.wav", speech)
    direct = tmp_path / "memo.txt"
    direct.write_text("a text file named directly is tried, and reported")
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    files, problems = find_audio([folder, direct, folder / "a.wav", tmp_path / "gone.wav", empty])
    assert files == [wav, nested, m4a, direct]  # sorted, no duplicates, no hidden files
    assert [p.path for p in problems] == [tmp_path / "gone.wav", empty]
    assert "does not exist" in problems[0].reason
    assert "holds no audio files" in problems[1].reason


@pytest.mark.parametrize("name, rate, channels", [
    ("speech.wav", 44100, 2), ("speech.flac", 48000, 1), ("speech.ogg", 22050, 1),
    ("speech.mp3", 24000, 2), ("speech.m4a", 44100, 2),
])
def test_decode_any_format_rate_and_channels(tmp_path, speech, name, rate, channels):
    path = write_recording(tmp_path / name, speech, rate=rate, channels=channels)
    expected = len(speech) / 22050
    assert header_seconds(path) == pytest.approx(expected, abs=0.1)
    decoded = decode(path)
    assert decoded.rate == rate and decoded.samples.ndim == 1
    assert decoded.duration == pytest.approx(expected, abs=0.1)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty \(0 bytes\)"):
        header_seconds(path)


def test_truncated_file(tmp_path, speech):
    whole = write_recording(tmp_path / "whole.wav", speech)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    with pytest.raises(AudioError, match="truncated"):
        decode(cut)


def test_not_audio(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError, match="not an audio file|could not be|damaged"):
        header_seconds(path)
    text = tmp_path / "notes.txt"
    text.write_text("hello " * 100)
    try:
        header_seconds(text)
        decode(text)
    except AudioError as exc:
        problem = problem_from(text, exc)
    else:  # pragma: no cover - FFmpeg decoded text as audio
        pytest.fail("a text file was decoded as audio")
    assert "is not an audio file (.txt)" in problem.reason


@pytest.mark.parametrize("level", [0.0, 0.0003])
def test_silent_file(tmp_path, level):
    path = write_recording(tmp_path / "silence.flac",
                           np.full(22050 * 2, level, np.float32) * np.sign(np.sin(np.arange(44100))))
    with pytest.raises(AudioError, match="is silent"):
        decode(path)


def test_too_short_file(tmp_path, speech):
    path = write_recording(tmp_path / "blip.wav", speech[:2000])
    with pytest.raises(AudioError, match="too short"):
        decode(path)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path, speech):
    path = write_recording(tmp_path / "locked.wav", speech)
    path.chmod(0)
    try:
        with pytest.raises(AudioError, match="permission denied"):
            header_seconds(path)
        with pytest.raises(AudioError, match="permission denied"):
            file_sha256(path)
    finally:
        path.chmod(0o644)


def test_unreadable_file_as_seen_by_the_checks(tmp_path, speech, monkeypatch):
    """The same path through the checks for a file the user may not read (simulated where
    the tests run as root, which reads anything)."""
    path = write_recording(tmp_path / "locked.wav", speech)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if Path(p) == path
                        else real_access(p, mode, *a, **k))
    with pytest.raises(AudioError, match="permission denied"):
        header_seconds(path)


def test_sha256_matches(tmp_path, speech):
    path = write_recording(tmp_path / "a.wav", speech)
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_problem_text_names_the_file():
    problem = FileProblem(Path("/x/a.wav"), "/x/a.wav is empty (0 bytes).")
    assert str(problem) == "/x/a.wav is empty (0 bytes)."
    assert str(FileProblem(Path("/x/b.wav"), "skipped")) == "/x/b.wav: skipped"
