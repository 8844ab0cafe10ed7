"""Naturalness: would a listener call this clean, natural speech? Scored without a reference.

A voice can be intelligible and like its speaker and still sound metallic, buzzy or noisy.
DNSMOS (Microsoft's deep-noise-suppression MOS predictor, P.835) estimates the mean opinion
score people would give a clip, 1 (bad) to 5 (excellent), from the audio alone; speechmos
ships its ONNX models inside its wheel, so it runs offline on onnxruntime. The number used
is DNSMOS's overall score (OVRL): real speech recordings score ~3.3–3.6, a buzz or noise
below 2.5.

DNSMOS judges 9-second windows of 16 kHz audio and repeats shorter clips to fill one, so a
preview sentence costs one window (about a second on one CPU core).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from voicelab.core.errors import VoiceLabError

DNSMOS_RATE = 16000
_lock = threading.RLock()
_scorer: Any = None


class NaturalnessUnavailable(VoiceLabError):
    """speechmos (DNSMOS) is not installed or its models cannot be loaded."""


def _dnsmos() -> Any:
    """speechmos' DNSMOS with its two bundled models, loaded once per process."""
    global _scorer
    with _lock:
        if _scorer is None:
            try:
                import os

                from speechmos import dnsmos
            except ImportError as error:
                raise NaturalnessUnavailable(f"Naturalness needs the speechmos package ({error}): "
                                             "pip install speechmos.") from error
            folder = os.path.join(os.path.dirname(os.path.abspath(dnsmos.__file__)), "dnsmos_models")
            try:
                _scorer = dnsmos.DNSMOS(os.path.join(folder, "sig_bak_ovr.onnx"),
                                        os.path.join(folder, "model_v8.onnx"))
            except Exception as error:  # missing or damaged model files
                raise NaturalnessUnavailable(f"DNSMOS's models in {folder} cannot be loaded "
                                             f"({error}). Reinstall speechmos.") from error
        return _scorer


def naturalness(samples: np.ndarray, sample_rate: int) -> float | None:
    """DNSMOS overall score (1–5) of float mono audio; None for less than 0.25 s of sound."""
    from voicelab.core.audio import resample

    audio = np.asarray(samples, dtype=np.float32).reshape(-1)
    audio = resample(np.nan_to_num(audio), int(sample_rate), DNSMOS_RATE)
    if audio.size < DNSMOS_RATE // 4 or not np.any(audio):
        return None
    peak = float(np.max(np.abs(audio)))
    if peak > 1.0:
        audio = audio / peak  # DNSMOS refuses samples outside [-1, 1]
    with _lock:  # one session, used from one thread at a time
        scores = _dnsmos()(audio, DNSMOS_RATE, False)
    return float(scores["ovrl_mos"])
