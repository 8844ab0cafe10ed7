"""The Lightning callbacks through which VoiceLab owns a run: events, checkpoints, stop, previews.

Only the trainer process imports this module (from inside `runner.run`), so Lightning
loads there and never in the GUI.

* `RunState` is what the loop, the callbacks and the heartbeat thread share: the step
  count (training batches over all epochs; saved in each checkpoint, so it counts on after
  a resume), the phase and the time of the last step.
* `EventsCallback` emits step events (at most ~10 a second), validation events, enforces
  `max_steps` in VoiceLab's unit (batches: Lightning's `global_step` counts both of
  piper's optimizers) and stops on NaN losses before a poisoned checkpoint is written.
* `CheckpointCallback` saves on its intervals, on a stop request and at the end, through
  `AtomicCheckpointIO` (temp file + fsync + rename: a kill never leaves half a checkpoint
  under a real name), then lets the ranking prune old ones and writes previews.
* `AtomicCheckpointIO` also *loads* through VoiceLab's safe loader, so a resume never
  unpickles anything outside the allow-list.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from voicelab.core.errors import VoiceLabError
from voicelab.core.fileio import atomic_open
from voicelab.core.progress import CancelToken
from voicelab.core.training.run import events
from voicelab.core.training.run.config import TrainConfig
from voicelab.core.training.trainer.model import current_lr

_LOG = logging.getLogger(__name__)
STEP_EVENT_INTERVAL_S = 0.1
CHECKPOINT_DIR = "checkpoints"
PREVIEW_DIR = "previews"
_METRIC_NAMES = {"loss_g": "loss_g", "loss_d": "loss_d", "mel": "train_mel", "kl": "train_kl",
                 "dur": "train_dur", "fm": "train_fm", "gen": "train_gen", "disc": "train_disc"}
_VAL_NAMES = {"loss_g": "val_loss", "mel": "val_mel", "kl": "val_kl", "dur": "val_dur",
              "fm": "val_fm", "gen": "val_gen", "disc": "val_disc"}


class TrainingDiverged(VoiceLabError):
    """The losses became NaN or infinite."""


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}.ckpt"


@dataclass
class RunState:
    """Shared by the training loop (main thread) and the heartbeat thread."""

    step: int = 0
    epoch: int = 0
    phase: str = "preparing"
    last_step_at: float | None = None  # time.monotonic()
    last_checkpoint: Path | None = None
    last_checkpoint_step: int | None = None
    stop_requested: bool = False  # set in the loop once the stop has been agreed by all ranks

    def since_step(self) -> float | None:
        return None if self.last_step_at is None else time.monotonic() - self.last_step_at


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes checkpoints atomically and reads them with VoiceLab's safe loader."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        with atomic_open(path, "wb") as handle:
            torch.save(checkpoint, handle)

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: Any = None) -> dict[str, Any]:
        from voicelab.core.checkpoints import load_checkpoint

        return load_checkpoint(path, map_location="cpu")


def _float(value: Any) -> float | None:
    try:
        number = float(value.detach().float().item() if hasattr(value, "detach") else value)
    except (TypeError, ValueError, RuntimeError):
        return None
    return number


class EventsCallback(pl.Callback):
    """Step and validation events, max_steps in batches, NaN guard."""

    def __init__(self, state: RunState, emit: Callable[..., None], config: TrainConfig,
                 started: dict[str, Any] | None = None, *,
                 step_interval_s: float = STEP_EVENT_INTERVAL_S) -> None:
        self.state = state
        self.emit = emit
        self.config = config
        self.started = started  # fields of the `started` event known before fit
        self.step_interval_s = step_interval_s
        self._last_emit = 0.0
        self._window: collections.deque[tuple[float, int]] = collections.deque()
        self.steps_per_epoch: int | None = None

    # Saved in checkpoints: the step count in VoiceLab's unit survives a resume.
    def state_dict(self) -> dict[str, Any]:
        return {"step": self.state.step}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.state.step = int(state_dict.get("step", 0))

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        batches = trainer.num_training_batches
        if not batches or batches == float("inf"):
            from voicelab.core.training.run.snapshot import TrainingDataError

            raise TrainingDataError("The training loader yields no batches, so nothing would be "
                                    "trained. Add clips to the dataset or lower batch_size.")
        self.steps_per_epoch = int(batches)
        limit = self.config.max_steps
        if limit is not None and self.state.step >= limit:
            # A resume from a checkpoint at the limit (the kill came after its save, before
            # "finished"): nothing is left to train, and one more batch would pass the limit.
            trainer.should_stop = True
        self.state.phase = "training"
        self.state.last_step_at = time.monotonic()
        self._window.clear()
        self._window.append((time.monotonic(), self.state.step))
        if self.started is not None and trainer.is_global_zero:
            # Here, not before fit: only now has Lightning restored a resumed run's step.
            info = self.started
            self.emit(events.started(
                config=info["config"], device=device_name(trainer), devices=trainer.world_size,
                parameters=info["parameters"], step=self.state.step, epoch=trainer.current_epoch,
                resumed_from=info["resumed_from"], train_utterances=info["train_utterances"],
                validation_utterances=info["validation_utterances"],
                steps_per_epoch=self.steps_per_epoch, base=info["base"],
                frozen=info["frozen"]), fsync=True)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        now = time.monotonic()
        state = self.state
        state.step += 1
        # Every event's epoch counts the epochs finished: an epoch's last step finishes it, and
        # its round, checkpoint and validation follow (Lightning's count rises only after them).
        state.epoch = trainer.current_epoch + (1 if trainer.is_last_batch else 0)
        state.last_step_at = now
        state.phase = "training"
        limit = self.config.max_steps
        done = limit is not None and state.step >= limit
        if done:
            trainer.should_stop = True
        if now - self._last_emit < self.step_interval_s and not done and state.step > 1:
            return
        self._last_emit = now
        losses = {name: _float(trainer.callback_metrics.get(key))
                  for name, key in _METRIC_NAMES.items()}
        if trainer.is_global_zero:
            rate = self._rate(now, state.step)
            self.emit(events.step(step=state.step, epoch=state.epoch, losses=losses,
                                  lr=current_lr(trainer), steps_per_s=rate,
                                  eta_s=self._eta(trainer, rate, batch_idx)))

    def _rate(self, now: float, step: int) -> float | None:
        window = self._window
        window.append((now, step))
        while len(window) > 2 and now - window[0][0] > 30.0:
            window.popleft()
        elapsed = now - window[0][0]
        return (step - window[0][1]) / elapsed if elapsed > 0 else None

    def _eta(self, trainer: pl.Trainer, rate: float | None, batch_idx: int) -> float | None:
        if not rate:
            return None
        remaining = []
        if self.config.max_steps is not None:
            remaining.append(self.config.max_steps - self.state.step)
        if self.config.max_epochs is not None and self.steps_per_epoch:
            remaining.append((self.config.max_epochs - trainer.current_epoch) * self.steps_per_epoch
                             - (batch_idx + 1))
        return max(0.0, min(remaining)) / rate if remaining else None

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self.state.phase = "validating"

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.state.phase = "training"
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        metrics = trainer.callback_metrics
        losses = {name: _float(metrics.get(key)) for name, key in _VAL_NAMES.items()
                  if metrics.get(key) is not None}
        if losses:
            self.emit(events.validation(step=self.state.step, epoch=self.state.epoch,
                                        losses=losses))


class ControlCallback(pl.Callback):
    """Stop requests and the NaN guard (agreed by all ranks), checkpoints, ranking, previews.

    Runs after `EventsCallback` on each batch, so the step count is already updated.
    """

    def __init__(self, state: RunState, emit: Callable[..., None], config: TrainConfig,
                 run_dir: Path, cancel: CancelToken) -> None:
        self.state = state
        self.emit = emit
        self.config = config
        self.run_dir = Path(run_dir)
        self.cancel = cancel
        self._speaker: Any = None  # likeness.Reference, once known
        self._speaker_tried = False

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Lightning installs its SIGTERM handler just before training starts; it would raise
        # out of the loop without a checkpoint, so VoiceLab's handler goes back on top.
        from voicelab.core.training.trainer.signals import reinstall_signal_handlers

        reinstall_signal_handlers()
        if self.state.step == 0 and self.config.preview_every_epochs:
            self.previews(trainer, pl_module)  # step 0: the voice the run starts from (likeness 0)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """The final checkpoint, inside fit so every ddp rank still takes part."""
        if not self.state.stop_requested and self.state.step > 0:
            self.save(trainer, "final")

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        stop, diverged = self.cancel.cancelled, not _finite(pl_module)
        if trainer.world_size > 1:  # every rank must agree, or the next collective hangs
            flags = torch.tensor([float(stop), float(diverged)], device=pl_module.device)
            flags = trainer.strategy.reduce(flags, reduce_op="sum")
            stop, diverged = bool(flags[0] > 0), bool(flags[1] > 0)
        if diverged:  # before any save: a NaN checkpoint would poison every resume
            raise TrainingDiverged(
                f"Training diverged at step {self.state.step} (epoch {trainer.current_epoch}): "
                "the losses became NaN or infinite. Lower learning_rate (now "
                f"{self.config.learning_rate:g}), use precision 32 instead of "
                f"{self.config.precision}, or remove silent or clipped clips; then resume from "
                "the last checkpoint or start a new run.")
        every = self.config.checkpoint_every_steps
        if stop:
            self.state.stop_requested = True
            self.save(trainer, "stop")
            trainer.should_stop = True
        elif every and self.state.step % every == 0:
            self.save(trainer, "interval")

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.state.stop_requested:
            return
        epoch = trainer.current_epoch + 1  # epochs finished
        previews = self.config.preview_every_epochs
        if previews and epoch % previews == 0:  # first, so the ranking after the save sees the WER
            self.previews(trainer, pl_module)
        every = self.config.checkpoint_every_epochs
        if every and epoch % every == 0:
            self.save(trainer, "epoch")

    def save(self, trainer: pl.Trainer, reason: str) -> Path | None:
        """Save a checkpoint of the current step (once per step), emit it, prune old ones."""
        state = self.state
        if state.last_checkpoint_step == state.step and state.last_checkpoint is not None:
            return state.last_checkpoint
        path = self.run_dir / CHECKPOINT_DIR / checkpoint_name(state.step)
        previous_phase, state.phase = state.phase, "saving"
        try:
            trainer.save_checkpoint(path, weights_only=False)  # all ranks call it; rank 0 writes
        finally:
            state.phase = previous_phase
        state.last_checkpoint, state.last_checkpoint_step = path, state.step
        if trainer.is_global_zero:
            self.emit(events.checkpoint(step=state.step, epoch=state.epoch, path=path,
                                        reason=reason), fsync=True)
            rank_checkpoints(self.run_dir, self.config.keep_best)
        return path

    def previews(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        from voicelab.core.training.scoring.previews import write_previews

        state = self.state
        previous_phase, state.phase = state.phase, "previewing"
        was_training = pl_module.training
        try:
            out_dir = self.run_dir / PREVIEW_DIR / f"step-{state.step:08d}"
            from voicelab.core.training.run.runs import scoring_model

            asr = scoring_model(self.config)
            speaker = self.speaker()
            floor_known = speaker is not None and speaker.floor is not None
            results = write_previews(pl_module, list(self.config.preview_sentences), out_dir,
                                     step=state.step, epoch=state.epoch, asr_model_path=asr,
                                     speaker=speaker)
            if speaker is not None and not floor_known and speaker.floor is not None:
                from voicelab.core.training.scoring.likeness import save_reference

                save_reference(self.run_dir, speaker)  # the floor, measured once per run
        except VoiceLabError as error:  # a preview failing must not end the training
            _LOG.warning("previews failed at step %s: %s", state.step, error)
            return
        finally:
            pl_module.train(was_training)
            state.phase = previous_phase
        from voicelab.core.training.scoring.previews import round_likeness, round_pitch

        self.emit(events.preview(step=state.step, epoch=state.epoch,
                                 previews=[p.to_dict() for p in results],
                                 likeness=round_likeness(results, speaker), pitch=round_pitch(results)))

    def speaker(self) -> Any:
        """The run's likeness reference: from `likeness.json`, else measured on its clips now."""
        if self._speaker is not None or self._speaker_tried:
            return self._speaker
        self._speaker_tried = True
        from voicelab.core.training.scoring import likeness

        found = likeness.load_reference(self.run_dir)
        if found is not None:
            self._speaker = found
            return found
        try:
            self._speaker = dataset_speaker(self.run_dir, self.config, cancel=self.cancel)
        except VoiceLabError as error:  # no resemblyzer: previews go on without likeness
            _LOG.warning("no likeness scores: %s", error)
            return None
        if self._speaker is not None:
            likeness.save_reference(self.run_dir, self._speaker)
        return self._speaker


def dataset_speaker(run_dir: Path, config: TrainConfig, *, cancel: CancelToken | None = None) -> Any:
    """The likeness reference of a run's training clips, read from its prepared cache."""
    from voicelab.core.training.scoring import likeness
    from voicelab.core.training.trainer import prepare

    prepared = prepare.load_prepared(run_dir)
    if prepared is None or not prepared.train:
        return None
    cache = Path(run_dir) / prepare.CACHE_DIR

    def load(entry: dict[str, Any]) -> Any:
        return torch.load(cache / f"{entry['stem']}.audio.pt", map_location="cpu",
                          weights_only=True).numpy()

    return likeness.build_reference(prepared.train, prepared.sample_rate, load=load, cancel=cancel)


def device_name(trainer: pl.Trainer) -> str:
    device = trainer.strategy.root_device
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def _finite(pl_module: pl.LightningModule) -> bool:
    losses = getattr(pl_module, "voicelab_losses", None)
    if not losses:
        return True
    return bool(torch.isfinite(torch.stack([loss.float() for loss in losses])).all())


def rank_checkpoints(run_dir: Path, keep_best: int) -> None:
    """Let the ranking delete checkpoints that are neither the last nor among the best."""
    from voicelab.core.training.run.ranking import update_ranking

    try:
        update_ranking(run_dir, keep_best=keep_best)
    except VoiceLabError as error:
        _LOG.warning("checkpoint ranking failed: %s", error)
