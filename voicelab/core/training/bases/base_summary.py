"""What a chosen base is, in a person's words, with the technical facts kept for "Details".

The Training tab checks a base as soon as it is chosen (`base.inspect_base`), and it used to
show what the check found as found: "403 weights rebuilt … correlation 1.000000; starts
untrained: duration predictor posterior, posterior encoder, discriminator". True, and of
no use to someone picking a voice to start from. `summarize_base` says what it means for
them: whose voice, which quality, that training can start from it, and what happens first
(a voice file holds no posterior encoder or discriminator, so a short warm-up on the voice's
own speech trains those before the first step: `warmup.py`). The facts behind it (file,
sample rate, speakers, who wrote it, what the rebuild proved, what starts untrained) stay
in `details`, for whoever asks.

The words are for a base that fits the chosen quality; `base.check_base_quality` says
what to do about one that does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voicelab.core.training.bases.base import BaseInfo, is_voice_base


@dataclass(frozen=True)
class BaseSummary:
    text: str  # one line: "Joe (US English), medium quality: ready to fine-tune; …"
    details: list[str]  # the facts, a line each


def summarize_base(info: BaseInfo, name: str | None = None, *, warmup_steps: int | None = None,
                   speaker: int | None = None) -> BaseSummary:
    """The base in plain words. `name` is what the app calls it (its voice or catalog name;
    default: the file name); `warmup_steps` and `speaker` are the run's `base_warmup_steps`
    and `base_speaker` (default: TrainConfig's)."""
    if warmup_steps is None:
        from voicelab.core.training.run.config import TrainConfig

        warmup_steps = TrainConfig(dataset="").base_warmup_steps
    voice = is_voice_base(info.path)
    label = (name or "").strip() or _file_label(info)
    quality = (info.quality or "").replace("_", "-")
    if not quality:
        head = f"{label}, {info.sample_rate} Hz" if info.sample_rate else label
    elif quality in _words(label):  # "Lessac (US English, medium)" says it already
        head = label
    else:
        head = f"{label}, {quality} quality"
    said = [f"{head}: ready to fine-tune"]
    if info.num_speakers > 1:
        said.append(f"it speaks as speaker {speaker or 0} of its {info.num_speakers}")
    if voice:
        said.append("a short warm-up runs first" if warmup_steps > 0 else
                    "the warm-up is off, so the first previews may sound rough")
    return BaseSummary(text="; ".join(said), details=_details(info, voice, warmup_steps))


def _words(label: str) -> list[str]:
    """The words of a name, "x-low" one of them: "en_US-joe-medium" → en, us, joe, medium."""
    return re.findall(r"x-low|[a-z0-9]+", label.lower().replace("x_low", "x-low"))


def _file_label(info: BaseInfo) -> str:
    name = info.path.name
    for suffix in (".onnx", ".ckpt"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _details(info: BaseInfo, voice: bool, warmup_steps: int) -> list[str]:
    speakers = f"{info.num_speakers} speakers" if info.num_speakers > 1 else "one speaker"
    lines = [f"File: {info.path}",
             f"{info.sample_rate or 'unknown'} Hz, {speakers}, {info.num_symbols} phoneme symbols",
             f"From: {info.origin}"]
    if voice:
        lines.append("A voice file holds only what speaking needs; the parts that only training "
                     "uses start untrained" + (f" and are warmed up for {warmup_steps} steps on "
                                               "the voice's own speech first." if warmup_steps > 0
                                               else " (the warm-up is off)."))
    elif info.global_step:
        epoch = f", epoch {info.epoch:,}" if info.epoch is not None else ""
        lines.append(f"Trained {info.global_step:,} steps{epoch} before this run.")
    if info.saved_quality and info.quality and info.saved_quality != info.quality:
        lines.append(f"The file says quality {info.saved_quality}; its weights are {info.quality}.")
    lines.append(f"SHA-256 {info.sha256[:16]}…")
    return lines
