"""faster-whisper (CTranslate2) as a `Transcriber`: VoiceLab's default recognizer.

Settings that matter for a TTS dataset rather than for subtitles:

- `word_timestamps=True`: the slicer cuts between words, so it needs their times;
- `condition_on_previous_text=False`: with it, one misheard window can make Whisper repeat
  itself for the rest of a long recording, and a dataset has no use for the context;
- Silero VAD on (`vad_filter=True`): silence is skipped rather than "transcribed" into
  "Thank you." — the most common hallucination in home recordings;
- int8 on CPU and float16 on CUDA unless the user says otherwise ("auto" picks CUDA when
  CTranslate2 sees a GPU).

`batched=True` uses `BatchedInferencePipeline`, which decodes several 30 s chunks in one
call; it was about twice as fast on a 2-core CPU (see `ASROptions`). Each engine call runs
in a worker thread via `pull_cancellable`, so Cancel never waits for a batch to finish.

The batched pipeline decodes each chunk (up to 30 s of speech) in one pass and keeps what
that pass gives: when beam search settles early on a hypothesis that ends at a sentence
end, the rest of the chunk is never decoded (one clear 12.8 s recording came back as its
first 4.7 s, every time). The sequential decoder instead seeks on from the last timestamp
it decoded. So audio that fits in one chunk, where batching has nothing to batch anyway,
goes through the sequential decoder; for longer audio the pipeline listens again to speech
that got no words (`coverage.listen_again`).
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
from voicelab.core.errors import first_line
from voicelab.core.progress import CancelToken, ProgressCallback

#: Whisper's window: audio this short is one batch chunk, so it is decoded sequentially.
ONE_CHUNK = 30.0


def pick_device(device: str) -> str:
    """"cuda" when asked for, or when "auto" and CTranslate2 can use a GPU; else "cpu"."""
    if device in ("cpu", "cuda"):
        return device
    import ctranslate2

    try:
        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # a broken CUDA install must not stop CPU transcription
        return "cpu"


def pick_compute_type(device: str, compute_type: str | None) -> str:
    if compute_type:
        return compute_type
    return "float16" if device == "cuda" else "int8"


class FasterWhisperTranscriber:
    """A loaded faster-whisper model; one instance serves many `transcribe` calls."""

    def __init__(self, model_path: Path, options: ASROptions) -> None:
        import tqdm

        # faster-whisper makes a (disabled) tqdm bar per call; tqdm's monitor thread would
        # otherwise start with the first one and outlive the work.
        tqdm.tqdm.monitor_interval = 0
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.options = options
        self.device = pick_device(options.device)
        self.compute_type = pick_compute_type(self.device, options.compute_type)
        try:
            self.model = WhisperModel(str(model_path), device=self.device,
                                      compute_type=self.compute_type, local_files_only=True)
        except Exception as exc:
            raise ASRError(f"Could not load the Whisper model from {model_path} on "
                           f"{self.device} ({self.compute_type}): {first_line(exc)}. Download "
                           "it again in Tools ▸ Models, or choose the CPU in Settings.") from None
        self.pipeline = BatchedInferencePipeline(self.model) if options.batched else None

    @property
    def multilingual(self) -> bool:
        return bool(self.model.model.is_multilingual)

    def transcribe(self, samples: np.ndarray, *, language: str | None = None,
                   cancel: CancelToken | None = None,
                   progress: ProgressCallback | None = None) -> Transcript:
        audio = check_samples(samples)
        duration = audio.shape[0] / ASR_RATE
        wanted = language_arg(self.options.language if language is None else language)
        segments: list[Segment] = []
        detected, probability = wanted, 1.0 if wanted else None
        for start, end in quiet_pieces(audio):
            raise_if_cancelled(cancel)
            offset = start / ASR_RATE
            piece = audio[start:end]
            info_box: list = []
            items = pull_cancellable(lambda p=piece, d=detected, box=info_box: self._run(p, d, box), cancel)
            for segment in items:
                segments.append(_segment(segment, offset))
                if progress is not None:
                    progress(min(duration, offset + segment.end), duration, "Transcribing")
            if info_box and detected is None:  # the first piece decides the language
                detected, probability = info_box[0].language, info_box[0].language_probability
            if progress is not None:
                progress(end / ASR_RATE, duration, "Transcribing")
        return Transcript(segments, detected, probability, duration)

    def _run(self, audio: np.ndarray, language: str | None, info_box: list) -> Iterator:
        """The engine's segments for one piece (runs in the worker thread when cancellable)."""
        if audio.shape[0] < ASR_RATE // 10:
            return  # nothing to hear in under 0.1 s; the engine would only pad it with silence
        common = dict(language=language, beam_size=self.options.beam_size, word_timestamps=True,
                      condition_on_previous_text=False, vad_filter=True)
        try:
            if self.pipeline is not None and audio.shape[0] > ONE_CHUNK * ASR_RATE:
                batch = self.options.batch_size or (8 if self.device == "cuda" else 4)
                found, info = self.pipeline.transcribe(audio, batch_size=batch, **common)
            else:
                found, info = self.model.transcribe(audio, **common)
            info_box.append(info)
            yield from found
        except (RuntimeError, ValueError, MemoryError) as exc:
            raise ASRError(f"Whisper failed on the audio ({first_line(exc)}). On a GPU, try "
                           "the CPU or a smaller model in Settings.") from None


def _segment(found, offset: float) -> Segment:
    words = [Word(w.word, float(w.start) + offset, float(w.end) + offset, float(w.probability))
             for w in (found.words or [])]
    return Segment(text=found.text, start=float(found.start) + offset,
                   end=float(found.end) + offset, words=words,
                   avg_logprob=float(found.avg_logprob), no_speech_prob=float(found.no_speech_prob))

