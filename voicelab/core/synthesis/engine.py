"""Text in, audio out, one sentence at a time.

Synthesis streams: the text is checked and split up front (so a bad character is reported
before any sound), then each sentence is phonemized and synthesized and handed to the
caller as soon as it is ready. A player can start on the first sentence while the rest are
made, which is what makes a long paragraph feel instant. Cancel is honoured between
sentences and inside one (see `OnnxVoice.ids_to_audio`).

Per sentence the audio is peak-normalized and scaled by the volume exactly like
`PiperVoice.synthesize`, so a VoiceLab clip sounds like piper's own output for the same
settings.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from piper.config import PhonemeType, SynthesisConfig

from voicelab.core.progress import CancelToken, ProgressCallback, no_progress
from voicelab.core.synthesis.errors import SynthesisError, TextError
from voicelab.core.synthesis.model import SpeechModel
from voicelab.core.synthesis.text import prepare_text
from voicelab.core.text.characters import describe_characters
from voicelab.core.text.sentences import MAX_SENTENCE_CHARS


@dataclass(frozen=True)
class SynthesisOptions:
    """How to speak. `None` scales mean "what the voice's config says"."""

    speaker_id: int | None = None
    speed: float = 1.0  # 1.25 = 25 % faster; divides the voice's length scale
    noise_scale: float | None = None  # variation of the voice
    noise_w: float | None = None  # variation of the rhythm (phoneme durations)
    sentence_pause: float = 0.0  # seconds of silence between sentences
    volume: float = 1.0
    normalize: bool = True  # peak-normalize each sentence, as piper does by default

    def __post_init__(self) -> None:
        if not 0.1 <= self.speed <= 10:
            raise SynthesisError(f"Speed must be between 0.1 and 10, not {self.speed}.")
        if not 0 <= self.sentence_pause <= 30:
            raise SynthesisError(f"The pause between sentences must be 0 to 30 s, not {self.sentence_pause}.")
        if not 0 <= self.volume <= 10:
            raise SynthesisError(f"Volume must be between 0 and 10, not {self.volume}.")
        for name in ("noise_scale", "noise_w"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 5:
                raise SynthesisError(f"{name} must be between 0 and 5, not {value}.")

    def piper_config(self, model: SpeechModel) -> SynthesisConfig:
        """Piper's own settings object for these options and this voice."""
        return SynthesisConfig(
            speaker_id=self.speaker_id,
            length_scale=model.config.length_scale / self.speed,
            noise_scale=self.noise_scale,
            noise_w_scale=self.noise_w,
            normalize_audio=self.normalize,
            volume=self.volume,
        )


@dataclass(frozen=True)
class SentenceAudio:
    """One sentence's audio, ready to play: the pause before it (if any), then speech."""

    index: int  # 0-based position in the text
    total: int  # number of sentences in the text
    text: str  # the sentence as spoken (normalized)
    samples: np.ndarray  # float32 mono
    sample_rate: int
    pause_samples: int  # leading silence inside `samples`

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / self.sample_rate


@dataclass(frozen=True)
class Speech:
    """A whole text's audio."""

    samples: np.ndarray
    sample_rate: int
    sentences: tuple[str, ...]

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / self.sample_rate


def voice_label(model: SpeechModel) -> str:
    name = model.source.name
    return f"The voice '{name[:-5] if name.endswith('.onnx') else name}'"


def sentences_for(model: SpeechModel, text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """The sentences this voice will speak for `text`; `TextError` when it cannot.

    Cheap (no synthesis): used up front by streaming and by batch export, which checks
    every line before making the first clip.
    """
    config = model.config
    sentences = prepare_text(text, config.espeak_voice, max_chars, voice_name=voice_label(model))
    if config.phoneme_type == PhonemeType.TEXT:  # characters are the phonemes
        missing = {}
        for sentence in sentences:
            for ch in unicodedata.normalize("NFD", sentence):
                if ch not in config.phoneme_id_map:
                    missing[ch] = None
        if missing:
            raise TextError(
                f"{voice_label(model)} cannot speak these characters: "
                f"{describe_characters(list(missing))}. Remove them or write them out in words."
            )
    return sentences


def _check_phonemes(model: SpeechModel, sentence: str, phonemes: Sequence[str]) -> None:
    id_map = model.config.phoneme_id_map
    missing = [p for p in dict.fromkeys(phonemes) if p not in id_map]
    if not missing:
        return
    words = []
    for word in sentence.split():
        sounds = [p for part in model.phonemize(word) for p in part]
        if any(p in missing for p in sounds):
            words.append(word)
    culprits = f" in {', '.join(repr(w) for w in words[:8])}" if words else ""
    raise TextError(
        f"{voice_label(model)} has no sound for {', '.join(repr(p) for p in missing)}{culprits}. "
        f"Rephrase those words or choose a voice trained for this language."
    )


def _speak_sentence(model: SpeechModel, sentence: str, config: SynthesisConfig,
                    cancel: CancelToken | None) -> np.ndarray:
    pieces = []
    for phonemes in model.phonemize(sentence):
        if not phonemes:
            continue
        _check_phonemes(model, sentence, phonemes)
        audio = np.asarray(model.ids_to_audio(model.phonemes_to_ids(phonemes), config, cancel),
                           dtype=np.float32)
        if config.normalize_audio:
            peak = float(np.max(np.abs(audio))) if audio.size else 0.0
            audio = audio / peak if peak >= 1e-8 else np.zeros_like(audio)
        if config.volume != 1.0:
            audio = audio * config.volume
        pieces.append(np.clip(audio, -1.0, 1.0).astype(np.float32, copy=False))
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def stream_speech(model: SpeechModel, text: str, options: SynthesisOptions = SynthesisOptions(), *,
                  progress: ProgressCallback = no_progress,
                  cancel: CancelToken | None = None) -> Iterator[SentenceAudio]:
    """Yield each sentence's audio as soon as it is synthesized.

    The text is checked before this returns, so `TextError` is raised by the call itself,
    not by the first `next()`. `progress(done, total, message)` is called after each
    sentence; `Cancelled` ends the iteration when `cancel` fires.
    """
    sentences = sentences_for(model, text)
    config = options.piper_config(model)
    return _stream(model, sentences, config, options, progress, cancel)


def _stream(model: SpeechModel, sentences: list[str], config: SynthesisConfig,
            options: SynthesisOptions, progress: ProgressCallback,
            cancel: CancelToken | None) -> Iterator[SentenceAudio]:
    rate = model.config.sample_rate
    pause = int(round(options.sentence_pause * rate))
    total = len(sentences)
    progress(0, total, f"Speaking sentence 1 of {total}")
    for index, sentence in enumerate(sentences):
        if cancel is not None:
            cancel.raise_if_cancelled()
        audio = _speak_sentence(model, sentence, config, cancel)
        lead = pause if index > 0 and pause else 0
        if lead:
            audio = np.concatenate([np.zeros(lead, dtype=np.float32), audio])
        progress(index + 1, total, f"Spoke sentence {index + 1} of {total}")
        yield SentenceAudio(index, total, sentence, audio, rate, lead)


def synthesize(model: SpeechModel, text: str, options: SynthesisOptions = SynthesisOptions(), *,
               on_sentence: Callable[[SentenceAudio], None] | None = None,
               progress: ProgressCallback = no_progress,
               cancel: CancelToken | None = None) -> Speech:
    """The whole text as one clip; `on_sentence` sees each sentence as it is ready."""
    chunks: list[np.ndarray] = []
    spoken: list[str] = []
    rate = model.config.sample_rate
    for sentence in stream_speech(model, text, options, progress=progress, cancel=cancel):
        if on_sentence is not None:
            on_sentence(sentence)
        chunks.append(sentence.samples)
        spoken.append(sentence.text)
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return Speech(samples, rate, tuple(spoken))


@dataclass(frozen=True)
class Timing:
    """How fast a synthesis ran: for benchmarks and the GUI's status line."""

    first_audio_s: float
    total_s: float
    audio_s: float

    @property
    def real_time_factor(self) -> float:
        return self.total_s / self.audio_s if self.audio_s else float("inf")


def timed_synthesis(model: SpeechModel, text: str,
                    options: SynthesisOptions = SynthesisOptions(),
                    clock: Callable[[], float] = time.perf_counter) -> tuple[Speech, Timing]:
    """`synthesize` with the time to the first sentence and the real-time factor."""
    start = clock()
    first: list[float] = []

    def mark(_: SentenceAudio) -> None:
        if not first:
            first.append(clock() - start)

    speech = synthesize(model, text, options, on_sentence=mark)
    total = clock() - start
    return speech, Timing(first[0] if first else total, total, speech.duration)
