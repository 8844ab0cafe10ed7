"""A training checkpoint as a voice the Generate tab can speak with, without exporting.

While a voice trains the user wants to hear a checkpoint now, not after a minute of ONNX
export and verification. `load_checkpoint_voice` rebuilds the checkpoint's generator in
PyTorch (through the safe loader) and wraps it in the synthesis engine's `SpeechModel`
interface, so `engine.synthesize`, presets and clip export work on it unchanged.

Phonemization is piper's own (`PiperVoice.phonemize` / `phonemes_to_ids`), run on a
`PiperVoice` that has a config but no ONNX session: those two methods read only the config,
so the checkpoint is phonemized exactly like its exported voice will be.

Cancel is honoured before and after each sentence (a PyTorch forward pass cannot be
interrupted the way an ONNX Runtime run can); sentences are short, so it stays responsive.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

import numpy as np

from voicelab.core.progress import CancelToken

PathLike = Union[str, "os.PathLike[str]"]


class CheckpointVoice:
    """A checkpoint's generator behind the `SpeechModel` interface."""

    def __init__(self, generator: Any, config: Any, source: Path, arch: Mapping[str, Any]) -> None:
        from piper import PiperVoice

        self.generator = generator
        self.arch = dict(arch)
        self._config = config
        self._source = Path(source)
        self._phonemizer = PiperVoice(session=None, config=config)  # type: ignore[arg-type]
        self._lock = threading.Lock()  # one forward pass at a time: the module is shared

    @property
    def config(self) -> Any:
        return self._config

    @property
    def source(self) -> Path:
        return self._source

    @property
    def sample_rate(self) -> int:
        return int(self._config.sample_rate)

    def phonemize(self, text: str) -> list[list[str]]:
        return self._phonemizer.phonemize(text)

    def phonemes_to_ids(self, phonemes: list[str]) -> list[int]:
        return self._phonemizer.phonemes_to_ids(phonemes)

    def ids_to_audio(self, phoneme_ids: list[int], config: Any,
                     cancel: CancelToken | None = None) -> np.ndarray:
        import torch

        if cancel is not None:
            cancel.raise_if_cancelled()
        voice = self._config
        noise = voice.noise_scale if config.noise_scale is None else config.noise_scale
        length = voice.length_scale if config.length_scale is None else config.length_scale
        noise_w = voice.noise_w_scale if config.noise_w_scale is None else config.noise_w_scale
        speaker = None
        if voice.num_speakers > 1:
            speaker_id = voice.default_speaker_id if config.speaker_id is None else config.speaker_id
            speaker = torch.tensor([int(speaker_id)], dtype=torch.long)
        ids = torch.tensor([phoneme_ids], dtype=torch.long)
        lengths = torch.tensor([len(phoneme_ids)], dtype=torch.long)
        with self._lock, torch.inference_mode():
            audio = self.generator.infer(ids, lengths, sid=speaker, noise_scale=float(noise),
                                         length_scale=float(length), noise_scale_w=float(noise_w))[0]
        if cancel is not None:
            cancel.raise_if_cancelled()
        return audio.detach().float().cpu().numpy().reshape(-1)


def load_checkpoint_voice(path: PathLike, *, config: Mapping[str, Any] | Path | None = None
                          ) -> CheckpointVoice:
    """A `SpeechModel` speaking with a training checkpoint's current weights.

    `config` is the voice config to phonemize with (dict or path); by default the run's
    own, found beside the checkpoint (see `voice_config.find_run_config`). Raises the safe
    loader's errors for unsafe or broken files and `CheckpointError` for a file without a
    Piper generator.
    """
    from voicelab.core.checkpoints import load_checkpoint
    from voicelab.core.training.vits.architecture import hyper_parameters, load_generator
    from voicelab.core.training.vits.voice_config import piper_config, voice_config_for_checkpoint

    file = Path(path)
    ckpt = load_checkpoint(file)
    generator, arch = load_generator(ckpt, str(file))
    voice = voice_config_for_checkpoint(file, arch, hyper_parameters(ckpt), config=config)
    return CheckpointVoice(generator, piper_config(voice), file, arch)
