"""Finding recordings in files and folders, and every way a file can be unusable."""

from __future__ import annotations

import hashlib
import os
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.support.dataset_audio import SENTENCES, recording, write_recording
from voicelab.core.dataset.ingest import (
    FileProblem,
    decode_to,
    file_sha256,
    find_audio,
    header_seconds,
    problem_from,
)
from voicelab.core.errors import AudioError


@pytest.fixture(scope="module")
def speech():
    return recording(SENTENCES[:1])


def decode(path: Path):
    """Decode into a work copy beside the file at 22050 Hz; a failed decode writes none."""
    work = path.parent / "work" / "copy.wav"
    try:
        return decode_to(path, work, 22050)
    except AudioError:
        assert not work.exists()
        raise


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
    assert decoded.rate == 22050 and decoded.duration == pytest.approx(expected, abs=0.1)
    found = soundfile.info(str(decoded.work))
    assert (found.samplerate, found.channels, found.subtype) == (22050, 1, "PCM_16")
    assert found.duration == pytest.approx(decoded.duration, abs=1e-3)
    copy, _ = soundfile.read(str(decoded.work), dtype="float32")
    assert min(1.0, decoded.peak) == pytest.approx(np.max(np.abs(copy)), abs=1e-3)
    mixed = 0.8 if channels == 2 else 1.0  # write_recording puts 1.0 and 0.6 on the channels
    assert np.max(np.abs(copy)) == pytest.approx(mixed * np.max(np.abs(speech)), rel=0.1)


def test_a_long_recording_is_decoded_a_block_at_a_time(tmp_path, speech):
    """Memory stays flat with length: decoding 12 minutes allocates no more at its peak
    than decoding 4 (generous bound: 1.5 times), where holding the samples whole would
    take three times as much."""
    pattern = np.concatenate([speech, np.zeros(11025, np.float32)])

    def peak_decoding(minutes: int) -> float:
        audio = np.tile(pattern, int(np.ceil(minutes * 60 * 22050 / pattern.shape[0])))
        path = write_recording(tmp_path / f"{minutes}.wav", audio, rate=16000)
        del audio
        tracemalloc.start()
        try:
            decoded = decode(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert decoded.duration == pytest.approx(soundfile.info(str(path)).duration, abs=0.01)
        decoded.work.unlink()
        return peak

    short, long = peak_decoding(4), peak_decoding(12)
    assert long < 1.5 * short, f"peak {long / 1e6:.1f} MB for 12 minutes, {short / 1e6:.1f} MB for 4"


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
