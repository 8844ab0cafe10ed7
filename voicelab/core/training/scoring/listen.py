"""What Whisper hears a voice say: the ear behind preview scores and export checks.

Previews during training and the check after an export both ask the same question, "does
this audio say the sentence?", so both use this one helper: faster-whisper on the CPU in
int8 (the trainer's GPU stays free for training, and a tiny/base model transcribes a
preview sentence in well under a second), greedy decoding without conditioning on earlier
text so each clip is judged alone, English unless told otherwise. The model is loaded once
per process and path.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

WHISPER_RATE = 16000
_models: dict[str, Any] = {}
_lock = threading.Lock()


def whisper_model(model_path: Path) -> Any:
    """The faster-whisper model at `model_path` (a CTranslate2 folder), loaded once."""
    key = str(Path(model_path).resolve())
    with _lock:
        model = _models.get(key)
        if model is None:
            import tqdm
            from faster_whisper import WhisperModel

            # faster-whisper opens a (disabled) tqdm bar per call and every tqdm instance
            # starts tqdm's monitor thread, which would outlive the caller; turn it off.
            tqdm.tqdm.monitor_interval = 0
            threads = max(1, min(4, os.cpu_count() or 1))
            model = WhisperModel(key, device="cpu", compute_type="int8", cpu_threads=threads)
            _models[key] = model
        return model


def transcribe(samples: np.ndarray, sample_rate: int, model_path: Path,
               language: str | None = "en") -> str:
    """The text Whisper hears in float mono audio, as one line."""
    from voicelab.core.audio import resample

    audio = np.asarray(samples, dtype=np.float32).reshape(-1)
    audio = resample(audio, int(sample_rate), WHISPER_RATE)
    if audio.size == 0:
        return ""
    segments, _ = whisper_model(model_path).transcribe(
        audio, language=language, beam_size=1, condition_on_previous_text=False,
        vad_filter=False,
    )
    return " ".join(segment.text.strip() for segment in segments).strip()
