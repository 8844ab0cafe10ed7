"""voicelab.core.audio: decode everything a user may drop, write the four export formats.

Inputs are real speech from the joe voice, written by soundfile (WAV/FLAC/OGG/MP3) and by
PyAV (AAC in M4A, AAC in MP4 next to a video track), in stereo and at 44.1/48 kHz.
"""

from __future__ import annotations

import os
import sys
from fractions import Fraction

import av
import numpy as np
import pytest
import soundfile

from tests.support.speech import write_speech
from voicelab.core import audio
from voicelab.core.errors import AudioError
from voicelab.selftest.tiny import speak

TEXT = "Every recording you drop on the app is read the same way."


@pytest.fixture(scope="module")
def speech():
    """Joe's speech at 48 kHz (so 44.1 kHz files need a real resample), float32 mono."""
    return speak(TEXT, sample_rate=48000)


def _stereo(samples):
    # Different channels, so a decoder that keeps only the first one is caught.
    return np.stack([samples, 0.5 * samples], axis=1)


def _picture(pixels, index):
    frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
    frame.pts, frame.time_base = index, Fraction(1, 10)
    return frame


def _encode_pyav(path, samples, rate, container, video=False):
    """Write AAC audio (stereo) with PyAV, optionally next to a small MPEG-4 video track."""
    planar = np.ascontiguousarray(_stereo(samples).T.astype(np.float32))
    with av.open(str(path), "w", format=container) as out:
        vstream = None
        if video:  # every stream must exist before the first packet is written
            vstream = out.add_stream("mpeg4", rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 64, "yuv420p"
        astream = out.add_stream("aac", rate=rate, layout="stereo")
        if vstream is not None:
            picture = np.zeros((64, 64, 3), np.uint8)
            for index in range(int(len(samples) / rate * 10)):
                for packet in vstream.encode(_picture(picture, index)):
                    out.mux(packet)
            for packet in vstream.encode(None):
                out.mux(packet)
        frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        for packet in astream.encode(frame):
            out.mux(packet)
        for packet in astream.encode(None):
            out.mux(packet)
    return path


def _envelope(samples, rate, hop=0.01):
    size = int(rate * hop)
    frames = len(samples) // size
    return np.sqrt(np.mean(samples[: frames * size].reshape(frames, size) ** 2, axis=1))


def _similar(decoded, rate, reference, reference_rate):
    """Loudness envelopes correlate (best lag within ±100 ms, for codec delays)."""
    a, b = _envelope(decoded, rate), _envelope(reference, reference_rate)
    best = 0.0
    for lag in range(-10, 11):
        x, y = (a[lag:], b) if lag >= 0 else (a, b[-lag:])
        n = min(len(x), len(y))
        best = max(best, float(np.corrcoef(x[:n], y[:n])[0, 1]))
    return best


@pytest.mark.parametrize("ending, rate, write_kwargs", [
    ("wav", 44100, {"subtype": "PCM_16"}),
    ("flac", 48000, {}),
    ("ogg", 44100, {"subtype": "VORBIS"}),
    ("mp3", 44100, {"subtype": "MPEG_LAYER_III"}),
])
def test_decodes_soundfile_formats_stereo_to_mono_at_requested_rate(tmp_path, speech, ending, rate, write_kwargs):
    samples, source_rate = speech
    source = audio.resample(samples, source_rate, rate)
    path = tmp_path / f"speech.{ending}"
    soundfile.write(str(path), _stereo(source), rate, **write_kwargs)

    decoded, got_rate = audio.read_audio(path, 16000)

    assert got_rate == 16000
    assert decoded.dtype == np.float32 and decoded.ndim == 1
    assert abs(len(decoded) / 16000 - len(source) / rate) < 0.06
    assert _similar(decoded, 16000, source, rate) > 0.95
    # Mono is the average of both channels: (1 + 0.5) / 2 of the speech.
    ratio = np.sqrt(np.mean(decoded**2)) / np.sqrt(np.mean(audio.resample(source, rate, 16000) ** 2))
    assert 0.70 < ratio < 0.80


@pytest.mark.parametrize("name, video", [("speech.m4a", False), ("clip.mp4", True)])
def test_decodes_aac_in_m4a_and_the_audio_track_of_mp4_with_pyav(tmp_path, speech, name, video):
    samples, rate = speech
    path = _encode_pyav(tmp_path / name, samples, rate, "mp4", video=video)

    decoded, got_rate = audio.read_audio(path)  # native rate
    header = audio.info(path)

    assert got_rate == 48000 == header.sample_rate
    assert header.channels == 2
    assert abs(header.duration - len(samples) / rate) < 0.1
    assert abs(len(decoded) / got_rate - len(samples) / rate) < 0.1  # AAC priming adds ~20 ms
    assert _similar(decoded, got_rate, samples, rate) > 0.95
    ratio = np.sqrt(np.mean(decoded**2)) / np.sqrt(np.mean(samples**2))
    assert 0.70 < ratio < 0.80


def test_info_reads_the_header(tmp_path):
    path = write_speech(tmp_path / "speech.wav", TEXT, sample_rate=44100, channels=2)
    found = audio.info(path)
    assert (found.sample_rate, found.channels, found.format) == (44100, 2, "WAV PCM_16")
    assert found.duration == pytest.approx(soundfile.info(str(path)).duration, abs=1e-3)
    assert 2 < found.duration < 8


@pytest.mark.parametrize("fmt", audio.WRITE_FORMATS)
def test_write_audio_round_trips_every_format(tmp_path, speech, fmt):
    samples, rate = speech
    source = audio.resample(samples, rate, 44100)
    path = audio.write_audio(tmp_path / f"out.{fmt}", source, 44100)

    found = soundfile.info(str(path))  # read back by libsndfile itself, not by our reader
    assert found.samplerate == 44100 and found.channels == 1
    assert abs(found.duration - len(source) / 44100) < 0.06
    expected = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS"),
                "mp3": ("MP3", "MPEG_LAYER_III")}[fmt]
    assert (found.format, found.subtype) == expected
    back, _ = soundfile.read(str(path), dtype="float32")
    assert _similar(back, 44100, source, 44100) > 0.95
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_write_audio_clips_instead_of_wrapping(tmp_path):
    loud = np.full(4410, 1.5, dtype=np.float32)
    path = audio.write_audio(tmp_path / "loud.wav", loud, 44100)
    back, _ = soundfile.read(str(path), dtype="float32")
    assert back.min() > 0.99  # wrapped 16-bit values would be negative


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path, speech):
    samples, rate = speech
    folder = tmp_path / "out"
    path = folder / "keep.mp3"
    audio.write_audio(path, audio.resample(samples, rate, 22050), 22050)
    before = path.read_bytes()
    with pytest.raises(AudioError, match="keep.mp3.*MP3 does not support 7000 Hz"):
        audio.write_audio(path, samples, 7000)
    with pytest.raises(AudioError, match="keep.flac.*no audio"):
        audio.write_audio(folder / "keep.flac", np.zeros(0, np.float32), 22050)
    assert path.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["keep.mp3"]


def test_write_audio_refuses_unknown_endings(tmp_path):
    with pytest.raises(AudioError, match="clip.xyz"):
        audio.write_audio(tmp_path / "clip.xyz", np.zeros(100, np.float32), 22050)


# --------------------------------------------------------------------------- bad inputs


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match=r"nothere\.wav does not exist"):
        audio.read_audio(tmp_path / "nothere.wav")


def test_folder(tmp_path):
    with pytest.raises(AudioError, match="is a folder"):
        audio.read_audio(tmp_path)


@pytest.mark.parametrize("name", ["empty.wav", "empty.mp3", "empty.m4a"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.touch()
    for call in (audio.read_audio, audio.info):
        with pytest.raises(AudioError, match=rf"{name} is empty \(0 bytes\)"):
            call(path)


@pytest.mark.parametrize("name, content", [
    ("notes.wav", b"these are my notes, not a recording\n" * 20),
    ("photo.mp3", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8),
])
def test_not_audio(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioError, match=rf"{name} (is not an audio file|has no audio track: it holds only)"):
        audio.read_audio(path)


@pytest.mark.parametrize("ending, write_kwargs", [
    ("wav", {}), ("mp3", {"subtype": "MPEG_LAYER_III"}), ("flac", {}),
])
def test_truncated_file(tmp_path, speech, ending, write_kwargs):
    samples, rate = speech
    whole = tmp_path / f"whole.{ending}"
    soundfile.write(str(whole), audio.resample(samples, rate, 44100), 44100, **write_kwargs)
    cut = tmp_path / f"cut.{ending}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(AudioError, match=rf"cut\.{ending} is (damaged or )?truncated"):
        audio.read_audio(cut)


def test_truncated_m4a_is_reported(tmp_path, speech):
    samples, rate = speech
    whole = _encode_pyav(tmp_path / "whole.m4a", samples, rate, "mp4")
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(AudioError, match=r"cut\.m4a .*(damaged or truncated|truncated)"):
        audio.read_audio(cut)


def test_video_without_audio(tmp_path):
    path = tmp_path / "silent.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for index in range(10):
            for packet in stream.encode(_picture(np.zeros((64, 64, 3), np.uint8), index)):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(AudioError, match=r"silent\.mp4 has no audio track"):
        audio.read_audio(path)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path, speech):
    path = tmp_path / "locked.wav"
    soundfile.write(str(path), speech[0], speech[1])
    path.chmod(0)
    try:
        with pytest.raises(AudioError, match="permission denied"):
            audio.read_audio(path)
    finally:
        path.chmod(0o644)


def test_audio_module_does_not_import_piper():
    import subprocess

    code = ("import sys, voicelab.core.audio; "
            "bad = [m for m in ('piper', 'onnxruntime', 'PySide6') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
