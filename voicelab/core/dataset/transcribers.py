"""The transcriber for a set of options: the backend's model, loaded once and reused.

A module of its own because it is the one place that knows every backend (asr_faster,
asr_openai); the backends import the shared pieces from asr.py, so nothing imports in a
circle.
"""

from __future__ import annotations

import threading

from voicelab.core.dataset.asr import BACKENDS, ASRError, ASROptions, Transcriber, resolve_model_path

_CACHE: dict[tuple, Transcriber] = {}
_CACHE_LOCK = threading.Lock()


def load_transcriber(options: ASROptions, workspace=None) -> Transcriber:
    """A ready transcriber for `options`; the last one loaded is reused while they match.

    Only one model is kept: a second size would double memory for little gain, since a
    dataset is transcribed with one model at a time.
    """
    if options.backend not in BACKENDS:
        raise ASRError(f"Unknown speech recognizer '{options.backend}'; use one of "
                       f"{', '.join(BACKENDS)}.")
    path = resolve_model_path(options, workspace)
    key = (options.backend, str(path), options.device, options.compute_type, options.batched,
           options.batch_size, options.beam_size, options.language)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        _CACHE.clear()
        if options.backend == "faster-whisper":
            from voicelab.core.dataset.asr_faster import FasterWhisperTranscriber

            transcriber: Transcriber = FasterWhisperTranscriber(path, options)
        else:
            from voicelab.core.dataset.asr_openai import OpenAIWhisperTranscriber

            transcriber = OpenAIWhisperTranscriber(path, options)
        _CACHE[key] = transcriber
        return transcriber


def clear_transcriber_cache() -> None:
    """Forget the loaded model (frees its memory once nothing else holds it)."""
    with _CACHE_LOCK:
        _CACHE.clear()
