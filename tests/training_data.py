"""Small real datasets and tiny training configs for the training tests.

`build_dataset` writes a dataset folder in the layout VoiceLab's dataset store writes
(`wavs/<id>.wav` as mono 16-bit PCM, `metadata.csv`, `train.txt`, `validation.txt`,
`dataset.json`) directly, with sentences said by the bundled joe voice, so the training
tests depend neither on the dataset store nor on a network. Speech is made once per test
process and cached. `tiny_config` gives settings for a model small enough to train a few
steps on two CPU cores in seconds (piper's architecture, shrunk through the `model`
overrides).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

SENTENCES = (
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

#: A piper VITS shrunk to train in well under a second a step on a CPU. hop 64 = 4*4*4.
TINY_MODEL: dict[str, Any] = {
    "hidden_channels": 16,
    "inter_channels": 16,
    "filter_channels": 32,
    "n_heads": 2,
    "n_layers": 1,
    "resblock": "2",
    "resblock_kernel_sizes": [3],
    "resblock_dilation_sizes": [[1, 2]],
    "upsample_rates": [4, 4, 4],
    "upsample_kernel_sizes": [8, 8, 8],
    "upsample_initial_channel": 16,
    "filter_length": 256,
    "win_length": 256,
    "hop_length": 64,
    "mel_channels": 40,
    "segment_size": 2048,
}


@functools.lru_cache(maxsize=64)
def _speech(text: str, sample_rate: int) -> tuple[bytes, int]:
    from tests.speech import speak

    samples, rate = speak(text, sample_rate=sample_rate)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    return pcm.tobytes(), rate


def write_wav(path: Path, text: str, sample_rate: int = 22050) -> Path:
    import soundfile

    data, rate = _speech(text, sample_rate)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), np.frombuffer(data, dtype="<i2"), rate, subtype="PCM_16")
    return path


def build_dataset(folder: Path, *, sentences: Sequence[str] = SENTENCES, sample_rate: int = 22050,
                  validation: int = 2, name: str = "joe", texts: dict[int, str] | None = None,
                  wav_rate: int | None = None) -> Path:
    """A dataset folder with one clip per sentence; the last `validation` clips validate.

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


def tiny_config(dataset: Path, **overrides: Any) -> dict[str, Any]:
    """Settings (a train.yaml mapping) for a few fast CPU steps on `dataset`: a tiny model
    from scratch (no base, said explicitly: a new run's default base is the built-in voice)."""
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
    """Trainer hook (`VOICELAB_TRAINER_HOOK=tests.training_data:tiny_discriminator`).

    piper's multi-period discriminator has 47 M parameters whatever the generator's size,
    which makes a CPU step take seconds and a checkpoint 560 MB. This swaps it for two tiny
    sub-discriminators with the same contract (`model_d(y, y_hat)` returns real and fake
    scores and feature maps), so tests train in a fraction of a second per step.
    """
    import torch

    class TinyPeriodDiscriminator(torch.nn.Module):
        def __init__(self, period: int) -> None:
            super().__init__()
            self.period = period
            self.conv = torch.nn.Conv2d(1, 4, (5, 1), stride=(3, 1), padding=(2, 0))
            self.post = torch.nn.Conv2d(4, 1, (3, 1), padding=(1, 0))

        def forward(self, audio: Any) -> Any:
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

        def forward(self, y: Any, y_hat: Any) -> Any:
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


HOOK = "tests.training_data:tiny_discriminator"


#: Environment variable naming a file: `tiny_and_hanging_save` creates it when it hangs.
SAVE_MARKER_ENV = "VOICELAB_TEST_SAVE_MARKER"


def tiny_and_hanging_save(model: Any) -> None:
    """Trainer hook: tiny discriminator, and the second checkpoint save hangs half-written.

    The save writes half of a real checkpoint through the same atomic writer, creates the
    file named by `VOICELAB_TEST_SAVE_MARKER` and sleeps, so a test can SIGKILL the trainer
    at the worst moment: in the middle of writing a checkpoint.
    """
    import io
    import os
    import time

    import torch

    from voicelab.core.fileio import atomic_open
    from voicelab.core.training import callbacks

    tiny_discriminator(model)
    original = callbacks.AtomicCheckpointIO.save_checkpoint
    saves = []

    def hanging(self, checkpoint, path, storage_options=None):
        saves.append(path)
        if len(saves) < 2:
            return original(self, checkpoint, path, storage_options)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        data = buffer.getvalue()
        with atomic_open(path, "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
            Path(os.environ[SAVE_MARKER_ENV]).write_text(str(path), encoding="utf-8")
            time.sleep(120)
            handle.write(data[len(data) // 2:])

    callbacks.AtomicCheckpointIO.save_checkpoint = hanging


class ScoredRun:
    """A run folder as a trainer leaves it, without training: train.yaml naming a dataset,
    checkpoint files and an events.jsonl of preview rounds and checkpoints written with the
    trainer's own event builders (for the ranking, export checks, and what the shells show)."""

    def __init__(self, root: Path, dataset: str = "joe") -> None:
        import yaml

        from voicelab.core.training import events

        self.root = Path(root)
        (self.root / "checkpoints").mkdir(parents=True)
        (self.root / "train.yaml").write_text(yaml.safe_dump({"dataset": f"/datasets/{dataset}"}),
                                              encoding="utf-8")
        self._events = events
        self.writer = events.EventWriter(self.root / "events.jsonl")

    def preview(self, step: int, *, wer: float | None = None, likeness: float | None = None,
                naturalness: float | None = None) -> None:
        self.writer.emit(self._events.preview(step=step, epoch=0, likeness=likeness, previews=[
            {"path": "00.wav", "text": "a", "heard": "b", "wer": wer, "likeness": likeness,
             "naturalness": naturalness}]))

    def checkpoint(self, step: int, **scores: Any) -> Path:
        """A checkpoint file of `step`, after its preview round when `scores` are given."""
        if scores:
            self.preview(step, **scores)
        path = self.root / "checkpoints" / f"step-{step}.ckpt"
        path.write_bytes(b"weights of step %d" % step)
        self.writer.emit(self._events.checkpoint(step=step, epoch=0, path=path, reason="interval"))
        return path

    def close(self) -> None:
        self.writer.close()
