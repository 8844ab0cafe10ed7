"""What a warm-up will do and how far it is: its settings, sentences, stages and progress.

Shared by the stages (warmup_stages.py), the warm-up itself (warmup.py) and the trainer,
which turns a run's `base_warmup_steps` into `WarmupSettings`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

STAGES = ("speaking", "encoder", "discriminator")
#: The phrases the voice speaks to teach its own encoder: varied, plain, no rare words.
_SUBJECTS = ("The old man", "My sister", "A small child", "The teacher", "Our neighbour",
             "The doctor", "Every student", "That young woman")
_VERBS = ("carried", "painted", "found", "described", "remembered", "opened", "wanted", "noticed")
_OBJECTS = ("a heavy wooden box", "the blue door near the station", "three letters from home",
            "a quiet room above the bakery", "the bright morning light", "an umbrella in the rain",
            "the map of the northern islands", "a cup of hot tea")
_ENDINGS = (".", " yesterday.", " again?", " before dinner.", " with great care.", "!")
#: Relative cost of one unit of each stage on a CPU (a sentence spoken, an encoder step, a
#: discriminator step), for the time left before a stage has been measured.
_UNIT_COST = {"speaking": 0.4, "encoder": 0.3, "discriminator": 8.0}


def warmup_sentences(count: int) -> list[str]:
    """`count` different sentences, always the same ones for the same count."""
    sentences = []
    for index in range(count):
        sentences.append(f"{_SUBJECTS[index % 8]} {_VERBS[(index * 3 + index // 8) % 8]} "
                         f"{_OBJECTS[(index * 5 + index // 64) % 8]}{_ENDINGS[index % 6]}")
    return sentences


@dataclass(frozen=True)
class WarmupSettings:
    sentences: int = 48
    encoder_steps: int = 300
    discriminator_steps: int = 0
    batch_size: int = 16
    #: Frames of latent per encoder training window (the encoder sees 65 frames at most).
    segment_frames: int = 96
    encoder_lr: float = 1e-3
    #: The posterior's std is taught as this share of the prior's: a sharp posterior, frozen
    #: while fine-tuning (model.freeze_for_finetune), kept the pitch moving toward a new
    #: speaker where one as broad as the prior (1.0) let the voice collapse into a buzz.
    posterior_sharpness: float = 0.1
    discriminator_lr: float = 2e-4
    #: "raw": the voice's own output level; "peak": each clip scaled to peak 0.95 first.
    level: str = "raw"
    #: The discriminator is warm when it classifies this share of segments right.
    target_accuracy: float = 0.9
    seed: int = 1234


@dataclass(frozen=True)
class Progress:
    """Where a warm-up is: its stage, step `done` of `total` in it, the whole warm-up's
    share done (`overall`, 0–1) and the seconds left (None until there is a pace)."""

    stage: str
    done: int
    total: int
    overall: float
    eta_s: float | None
    message: str


class Tracker:
    """Turns stage steps into `Progress`: the share of the whole warm-up and the time left."""

    def __init__(self, plan: dict[str, int], tell: Callable[[Progress], None]) -> None:
        self.plan = plan  # stage -> units (sentences or steps)
        self.tell = tell
        self.pace: dict[str, float] = {}  # measured seconds per unit
        self._stage_start: dict[str, tuple] = {}
        self._shown = 0.0  # the share never goes back when a stage's pace is measured anew

    def _cost(self, stage: str) -> float:
        return self.pace.get(stage, _UNIT_COST[stage] * self._scale())

    def _scale(self) -> float:
        """Measured pace over the assumed one, so unmeasured stages are scaled to this machine."""
        ratios = [self.pace[s] / _UNIT_COST[s] for s in self.pace]
        return sum(ratios) / len(ratios) if ratios else 1.0

    def step(self, stage: str, done: int, message: str) -> None:
        now = time.monotonic()
        begun = self._stage_start.setdefault(stage, (now, done))
        if done > begun[1]:
            self.pace[stage] = (now - begun[0]) / (done - begun[1])
        order = [s for s in STAGES if self.plan.get(s)]
        index = order.index(stage) if stage in order else len(order)
        costs = {s: self._cost(s) * self.plan[s] for s in order}
        finished = sum(costs[s] for s in order[:index]) + self._cost(stage) * done
        total = sum(costs.values()) or 1.0
        measured = bool(self.pace)
        left = max(0.0, total - finished) if measured else None
        self._shown = max(self._shown, min(1.0, finished / total))
        self.tell(Progress(stage, int(done), int(self.plan.get(stage, 0)), self._shown, left, message))
