"""openai-whisper (PyTorch) as a `Transcriber`: the optional second recognizer.

Installed with the `openai-whisper` extra. It is slower than faster-whisper on a CPU but
runs wherever PyTorch runs (Apple's MPS included) and reads OpenAI's own `.pt` weights.

Its `transcribe` runs a whole recording in one call with no way to stop it, so the audio
is fed in pieces of at most 30 s cut at quiet points (one Whisper window each), every piece
runs through `pull_cancellable`, and Cancel is honoured between and during pieces. The
decoding settings match the faster-whisper backend: word timestamps, no conditioning on
the previous text, beam search at temperature 0 with the usual fallbacks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from voicelab.core.dataset.asr import (
    ASR_RATE,
    ASRError,
    ASROptions,
    Segment,
    Transcript,
    Word,
    check_samples,
    language_arg,
    pull_cancellable,
    quiet_pieces,
    raise_if_cancelled,
)
from voicelab.core.progress import CancelToken, ProgressCallback

PIECE_SECONDS = 30.0


def _torch_device(device: str) -> str:
    import torch

    if device in ("cpu", "cuda"):
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


class OpenAIWhisperTranscriber:
    """A loaded openai-whisper model behind the `Transcriber` interface."""

    def __init__(self, model_path: Path | None, options: ASROptions, model=None) -> None:
        import tqdm

        tqdm.tqdm.monitor_interval = 0  # whisper's (disabled) bars would start tqdm's monitor thread
        try:
            import whisper
        except ImportError:
            raise ASRError("The openai-whisper recognizer is not installed. Install VoiceLab "
                           "with the extra: pip install 'voicelab[openai-whisper]', or use "
                           "faster-whisper (the default).") from None
        self.options = options
        self.device = _torch_device(options.device)
        if model is None:
            try:
                model = whisper.load_model(str(model_path), device=self.device)
            except Exception as exc:
                raise ASRError(f"Could not load openai-whisper weights from {model_path}: "
                               f"{str(exc).splitlines()[0] if str(exc) else exc!r}. Download "
                               "them again, or use the faster-whisper recognizer.") from None
        self.model = model
        self.device = str(next(model.parameters()).device.type)

    @classmethod
    def from_model(cls, model, options: ASROptions = ASROptions(backend="openai-whisper")
                   ) -> OpenAIWhisperTranscriber:
        """Wrap an already built `whisper.model.Whisper` (tests, notebooks)."""
        return cls(None, options, model=model)

    def transcribe(self, samples: np.ndarray, *, language: str | None = None,
                   cancel: CancelToken | None = None,
                   progress: ProgressCallback | None = None) -> Transcript:
        audio = check_samples(samples)
        duration = audio.shape[0] / ASR_RATE
        detected = language_arg(self.options.language if language is None else language)
        if detected is None and not self.model.is_multilingual:
            detected = "en"
        segments: list[Segment] = []
        for start, end in quiet_pieces(audio, max_seconds=PIECE_SECONDS, search_seconds=10.0):
            raise_if_cancelled(cancel)
            piece = audio[start:end]
            offset = start / ASR_RATE
            for result in pull_cancellable(lambda p=piece, d=detected: self._run(p, d), cancel):
                if detected is None:  # the first piece decides the language for the rest
                    detected = result.get("language") or None
                segments.extend(_segments(result, offset, end / ASR_RATE))
            if progress is not None:
                progress(end / ASR_RATE, duration, "Transcribing")
        return Transcript(segments, detected, None, duration)

    def _run(self, piece: np.ndarray, language: str | None) -> Iterator[dict]:
        import whisper

        if piece.shape[0] < ASR_RATE // 10:
            return
        try:
            yield whisper.transcribe(
                self.model, piece, language=language, word_timestamps=True,
                condition_on_previous_text=False, fp16=self.device == "cuda",
                beam_size=self.options.beam_size if self.options.beam_size > 1 else None,
                verbose=None)
        except (RuntimeError, ValueError) as exc:
            raise ASRError(f"openai-whisper failed on the audio "
                           f"({str(exc).splitlines()[0] if str(exc) else exc!r}).") from None


def _segments(result: dict, offset: float, limit: float) -> list[Segment]:
    """openai-whisper's result dict as our segments, times moved into the whole recording."""

    def clamp(value) -> float:
        return float(min(max(float(value) + offset, offset), limit))

    found = []
    for raw in result.get("segments", []):
        words = [Word(str(w["word"]), clamp(w["start"]), clamp(w["end"]),
                      float(w.get("probability", 1.0)))
                 for w in raw.get("words", []) or []]
        logprob = raw.get("avg_logprob")
        no_speech = raw.get("no_speech_prob")
        found.append(Segment(
            text=str(raw.get("text", "")), start=clamp(raw.get("start", 0.0)),
            end=clamp(raw.get("end", 0.0)), words=words,
            avg_logprob=float(logprob) if logprob is not None and np.isfinite(logprob) else None,
            no_speech_prob=float(no_speech) if no_speech is not None and np.isfinite(no_speech)
            else None))
    return found
