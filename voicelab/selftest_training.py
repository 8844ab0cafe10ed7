"""A model and a dataset small enough for the self-test to train in seconds on any CPU.

The self-test must prove that the packaged app can train (torch, Lightning, piper's VITS,
espeak phonemes, the trainer subprocess, checkpoints), not that it trains well. A full
medium voice needs minutes a step on a laptop CPU and writes 560 MB checkpoints, so the
self-test shrinks piper's generator through the run's `model` settings and, through the
trainer's model hook (`VOICELAB_TRAINER_HOOK=voicelab.selftest_training:small_discriminator`),
replaces the 47 M-parameter multi-period discriminator with a few thousand parameters.
The hook lives in the app (not in tests) because the packaged app has to import it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

HOOK = "voicelab.selftest_training:small_discriminator"

SENTENCES: tuple[str, ...] = (
    "A small boat drifts past the pier.",
    "The lamp on the desk is bright.",
    "We bake fresh bread on Sundays.",
    "Green hills roll toward the coast.",
    "My brother plays the violin.",
    "Snow covered the quiet street.",
    "Leave the keys by the door.",
    "The clock struck nine at last.",
)

#: Piper's VITS with every width cut down; hop 64 matches upsampling 4 x 4 x 4.
SMALL_MODEL: dict[str, Any] = {
    "hidden_channels": 16, "inter_channels": 16, "filter_channels": 32,
    "n_heads": 2, "n_layers": 1,
    "resblock": "2", "resblock_kernel_sizes": [3], "resblock_dilation_sizes": [[1, 2]],
    "upsample_rates": [4, 4, 4], "upsample_kernel_sizes": [8, 8, 8],
    "upsample_initial_channel": 16,
    "filter_length": 256, "win_length": 256, "hop_length": 64, "mel_channels": 40,
    "segment_size": 2048,
}


def write_dataset(folder: Path, speak: Callable[[str], tuple[np.ndarray, int]],
                  sentences: Sequence[str] = SENTENCES, validation: int = 2) -> Path:
    """A dataset folder in the layout the trainer reads, one clip per sentence.

    `speak(text) -> (float samples, rate)` makes the audio (the self-test uses the
    default voice). The last `validation` clips are held out.
    """
    import soundfile

    folder = Path(folder)
    (folder / "wavs").mkdir(parents=True, exist_ok=True)
    rows, rate = [], 0
    for index, sentence in enumerate(sentences):
        samples, rate = speak(sentence)
        clip = f"selftest_{index:03d}"
        soundfile.write(str(folder / "wavs" / f"{clip}.wav"), np.clip(samples, -1, 1), rate,
                        subtype="PCM_16")
        rows.append(f"{clip}|{sentence}\n")
    train, held = rows[:-validation], rows[-validation:]
    (folder / "metadata.csv").write_text("".join(rows), encoding="utf-8")
    (folder / "train.txt").write_text("".join(train), encoding="utf-8")
    (folder / "validation.txt").write_text("".join(held), encoding="utf-8")
    info = {"format": 1, "name": "self-test", "sample_rate": rate, "seed": 1234, "clips": []}
    (folder / "dataset.json").write_text(json.dumps(info), encoding="utf-8")
    return folder


def small_config(dataset: Path, steps: int = 2) -> dict[str, Any]:
    """train.yaml settings: `steps` CPU steps, one checkpoint at the end, no previews."""
    config = {
        "dataset": str(dataset), "quality": "medium",
        "max_steps": steps, "max_epochs": None, "batch_size": 4,
        "checkpoint_every_steps": steps, "checkpoint_every_epochs": None,
        "preview_every_epochs": None, "device": "cpu", "num_workers": 0, "seed": 1234,
        # Silence trimming as in real runs: it starts a pool of worker processes (spawned
        # through the app's own executable when packaged) and loads the Silero VAD model.
        "trim_silence": True, "model": dict(SMALL_MODEL),
    }
    if _has_setting("prepare_workers"):
        config["prepare_workers"] = 2  # a pool even on one core: the spawn path is what can break
    return config


def _has_setting(name: str) -> bool:
    import dataclasses

    from voicelab.core.training.config import TrainConfig

    return any(f.name == name for f in dataclasses.fields(TrainConfig))


def small_discriminator(model: Any) -> None:
    """Trainer hook: swap piper's discriminator for a tiny one with the same call contract.

    piper calls `model_d(real, fake)` and expects four lists, one entry per
    sub-discriminator: scores for real audio, scores for generated audio, and the feature
    maps of each (for the feature-matching loss).
    """
    import torch

    class Periodic(torch.nn.Module):
        """Folds audio into `period` columns and scores it with two small convolutions."""

        def __init__(self, period: int) -> None:
            super().__init__()
            self.period = period
            self.layers = torch.nn.ModuleList([
                torch.nn.Conv2d(1, 8, (5, 1), stride=(3, 1), padding=(2, 0)),
                torch.nn.Conv2d(8, 1, (3, 1), padding=(1, 0)),
            ])

        def forward(self, audio: Any) -> tuple[Any, list]:
            missing = (-audio.shape[-1]) % self.period
            x = torch.nn.functional.pad(audio, (0, missing), mode="reflect")
            x = x.reshape(x.shape[0], 1, -1, self.period)
            maps = []
            for index, layer in enumerate(self.layers):
                x = layer(x)
                if index < len(self.layers) - 1:
                    x = torch.nn.functional.leaky_relu(x, 0.1)
                maps.append(x)
            return x.flatten(1), maps

    class Small(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.parts = torch.nn.ModuleList([Periodic(2), Periodic(5)])

        def forward(self, real: Any, fake: Any) -> tuple[list, list, list, list]:
            real_scores, fake_scores, real_maps, fake_maps = [], [], [], []
            for part in self.parts:
                score, maps = part(real)
                real_scores.append(score)
                real_maps.append(maps)
                score, maps = part(fake)
                fake_scores.append(score)
                fake_maps.append(maps)
            return real_scores, fake_scores, real_maps, fake_maps

    model.model_d = Small()
