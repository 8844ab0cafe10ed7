"""What the synthesis engine needs from a loaded voice, and the ONNX voice that provides it.

The engine only talks to `SpeechModel`: phonemize, map phonemes to ids, turn ids into
audio. An exported Piper voice (`OnnxVoice`, ONNX Runtime) is one implementation; a
training checkpoint loaded for a quick listen can be another, without the engine, the
presets or the GUI changing.

`OnnxVoice` runs the ONNX session itself rather than through
`PiperVoice.phoneme_ids_to_audio` for one reason: cancel. ONNX Runtime's
`RunOptions.terminate` stops a run that is under way, so Cancel takes effect inside the
sentence being synthesized instead of after it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import onnxruntime
from piper import PiperVoice
from piper.config import PiperConfig, SynthesisConfig

from voicelab.core.errors import Cancelled
from voicelab.core.progress import CancelToken
from voicelab.core.synthesis.errors import VoiceError

_CANCEL_POLL_S = 0.02  # how often a running sentence looks at the cancel token


@runtime_checkable
class SpeechModel(Protocol):
    """A loaded voice the engine can speak with."""

    @property
    def config(self) -> PiperConfig:
        """Sample rate, phoneme map, speakers, espeak language and default scales."""

    @property
    def source(self) -> Path:
        """The file it was loaded from, for error messages."""

    def phonemize(self, text: str) -> list[list[str]]:
        """Phonemes for `text`, one list per sentence as the phonemizer splits it."""

    def phonemes_to_ids(self, phonemes: list[str]) -> list[int]:
        """Model input ids for one sentence's phonemes (with BOS/EOS and padding)."""

    def ids_to_audio(self, phoneme_ids: list[int], config: SynthesisConfig,
                     cancel: CancelToken | None = None) -> np.ndarray:
        """Raw float audio for one sentence; raises `Cancelled` when `cancel` fires mid-run."""


class OnnxVoice:
    """An exported Piper voice (`.onnx` + `.onnx.json`) run with ONNX Runtime."""

    def __init__(self, voice: PiperVoice, source: Path) -> None:
        self.voice = voice
        self._source = source
        inputs = {i.name for i in voice.session.get_inputs()}
        self._takes_speaker = "sid" in inputs

    @classmethod
    def load(cls, model_path: Path, config_path: Path) -> OnnxVoice:
        return cls(PiperVoice.load(model_path, config_path=config_path), Path(model_path))

    @property
    def config(self) -> PiperConfig:
        return self.voice.config

    @property
    def source(self) -> Path:
        return self._source

    def phonemize(self, text: str) -> list[list[str]]:
        return self.voice.phonemize(text)

    def phonemes_to_ids(self, phonemes: list[str]) -> list[int]:
        return self.voice.phonemes_to_ids(phonemes)

    def ids_to_audio(self, phoneme_ids: list[int], config: SynthesisConfig,
                     cancel: CancelToken | None = None) -> np.ndarray:
        piper_config = self.voice.config
        scales = np.array(
            [
                piper_config.noise_scale if config.noise_scale is None else config.noise_scale,
                piper_config.length_scale if config.length_scale is None else config.length_scale,
                piper_config.noise_w_scale if config.noise_w_scale is None else config.noise_w_scale,
            ],
            dtype=np.float32,
        )
        inputs: dict[str, np.ndarray] = {
            "input": np.asarray([phoneme_ids], dtype=np.int64),
            "input_lengths": np.asarray([len(phoneme_ids)], dtype=np.int64),
            "scales": scales,
        }
        if piper_config.num_speakers > 1 and self._takes_speaker:
            speaker = piper_config.default_speaker_id if config.speaker_id is None else config.speaker_id
            inputs["sid"] = np.asarray([speaker], dtype=np.int64)
        if cancel is None:
            try:
                return np.asarray(self.voice.session.run(None, inputs)[0]).reshape(-1)
            except Exception as error:
                raise self._failed(error) from None
        cancel.raise_if_cancelled()
        options = onnxruntime.RunOptions()
        finished = threading.Event()

        def watch() -> None:
            while not finished.wait(_CANCEL_POLL_S):
                if cancel.cancelled:
                    options.terminate = True
                    return

        watcher = threading.Thread(target=watch, name="voicelab-synthesis-cancel", daemon=True)
        watcher.start()
        try:
            result = self.voice.session.run(None, inputs, options)
        except Exception as error:
            if cancel.cancelled:
                raise Cancelled() from None
            raise self._failed(error) from None
        finally:
            finished.set()
            watcher.join()
        cancel.raise_if_cancelled()
        return np.asarray(result[0]).reshape(-1)

    def _failed(self, error: Exception) -> VoiceError:
        """ONNX Runtime refused to run: the config promises the model something it lacks (a
        phoneme id past its symbols, a speaker it does not have)."""
        detail = " ".join(str(error).split())[:300] or type(error).__name__
        return VoiceError(f"The voice {self._source} failed to speak ({detail}). Its config "
                          f"({self._source.name}.json) does not fit the model: export or import the "
                          "voice again.")
