"""The trainer: one run folder in, a trained checkpoint (and its events) out.

`python -m voicelab --run-trainer RUN_DIR` calls `main`, which calls `run`; the GUI and
the CLI start that command through `process.TrainerProcess`. The trainer

1. takes the run's lock, starts the heartbeat thread and listens for `stop` on stdin and
   for SIGTERM / Ctrl-C (each asks for a checkpoint and a clean exit);
2. reads train.yaml, installs the numba maximum-path search into piper, prepares the data
   (`prepare.prepare`: checks every clip before the first step);
3. builds piper's VitsModel (`model.build_model`), loads the base weights for a new run
   (T2's `base.load_base_weights`) or resumes from the newest checkpoint with its optimizer,
   step count and epoch;
4. runs Lightning's `Trainer.fit` with VoiceLab's callbacks (events, checkpoints, stop,
   previews) and its atomic, safe-loading checkpoint IO;
5. ends with exactly one of `finished` (the final checkpoint exists and loads), `stopped`
   or `error` (what happened and what to change).

Exit codes: 0 finished, 3 stopped, 1 failed, 2 could not start (no run, already running).

With Lightning's `ddp` strategy the launcher re-runs this same command once per extra
device (env LOCAL_RANK etc.); those processes train but write no events, take no lock and
do not read stdin: only global rank 0 speaks for the run.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from voicelab.core.errors import Cancelled, CheckpointError, UnsafeCheckpointError, VoiceLabError
from voicelab.core.progress import CancelToken
from voicelab.core.training.run import events as ev
from voicelab.core.training.run import runs
from voicelab.core.training.run.config import TrainConfig
from voicelab.core.training.trainer.devices import lightning_accelerator, precision_name, strategy
from voicelab.core.training.trainer.failures import describe_failure
from voicelab.core.training.trainer.signals import install_signal_handlers
from voicelab.core.training.trainer.watchers import Heartbeat, StdinListener

_LOG = logging.getLogger(__name__)
EXIT_FINISHED, EXIT_FAILED, EXIT_NO_START, EXIT_STOPPED = 0, 1, 2, 3
HEARTBEAT_S = 2.0
#: "module:function" called with the freshly built VitsModel before weights are loaded: a
#: seam for tests (they swap piper's 47 M-parameter discriminator for a tiny one) and
#: experiments. Unset in normal use.
HOOK_ENV = "VOICELAB_TRAINER_HOOK"
_RANK_ENV = ("RANK", "LOCAL_RANK", "NODE_RANK")


def is_primary_process() -> bool:
    """False in the extra processes Lightning's ddp launcher starts (rank > 0)."""
    return all(os.environ.get(name, "0") in ("", "0") for name in _RANK_ENV)


def main(run_dir: str) -> int:
    """Entry point of the trainer process: events on stdout, everything else on stderr."""
    primary = is_primary_process()
    stream: IO[str] | None = None
    if primary:
        events_fd = os.dup(1)
        os.dup2(2, 1)  # libraries' prints (piper, espeak, Lightning) go to stderr, never into events
        stream = os.fdopen(events_fd, "w", encoding="utf-8", buffering=1)
    sys.stdout = sys.stderr
    folder = Path(run_dir)
    if (folder / runs.LOG_DIR).is_dir():
        from voicelab.core.logs import setup_logging

        setup_logging(folder / runs.LOG_DIR / "trainer.log")
        logging.captureWarnings(True)
    return run(folder, stream=stream, listen_stdin=primary, primary=primary)


def run(run_dir: Path, *, stream: IO[str] | None = None, listen_stdin: bool = False,
        cancel: CancelToken | None = None, primary: bool = True,
        model_hook: Callable[[Any], None] | None = None,
        heartbeat_s: float = HEARTBEAT_S) -> int:
    """Train the run in `run_dir` in this process; returns the exit code (see module doc).

    `stream` gets the events as JSON lines (besides events.jsonl); `cancel` lets a caller
    in the same process stop the run (as the `stop` line does for a subprocess).
    """
    run_dir = Path(run_dir).resolve()
    cancel = cancel or CancelToken()
    if not (run_dir / runs.TRAIN_FILE).is_file():
        _emit_once(stream, ev.error(message=f"{run_dir} is not a training run (no train.yaml).",
                                    hint="Create the run first.", kind="config"))
        return EXIT_NO_START
    lock = runs.RunLock(run_dir)
    if primary:
        try:
            lock.acquire()
        except runs.RunBusy as error:
            _emit_once(stream, ev.error(message=str(error), hint="", kind="busy"))
            return EXIT_NO_START
        (run_dir / runs.STOP_FILE).unlink(missing_ok=True)  # an old request is not for this attempt
    writer = ev.EventWriter(run_dir / runs.EVENTS_FILE if primary else None,
                            stream if primary else None)
    session = _Session(run_dir, writer, cancel, primary, model_hook)
    heartbeat = Heartbeat(session, heartbeat_s) if primary else None
    listener = StdinListener(cancel) if listen_stdin else None
    restore_signals = install_signal_handlers(cancel)
    if heartbeat:
        heartbeat.start()
    if listener:
        listener.start()
    try:
        return session.train()
    finally:
        restore_signals()
        if heartbeat:
            heartbeat.stop()
        writer.close()
        if primary:
            (run_dir / runs.STOP_FILE).unlink(missing_ok=True)  # answered (or moot) now
            lock.release()


def _emit_once(stream: IO[str] | None, event: dict[str, Any]) -> None:
    """An event for the caller only (not the run's log), e.g. "already running"."""
    ev.EventWriter(None, stream).emit(event)


class _Session:
    """One attempt at training a run, from config to the final event."""

    def __init__(self, run_dir: Path, writer: ev.EventWriter, cancel: CancelToken, primary: bool,
                 model_hook: Callable[[Any], None] | None) -> None:
        self.run_dir = run_dir
        self.writer = writer
        self.cancel = cancel
        self.primary = primary
        self.model_hook = model_hook
        self.state: Any = None  # callbacks.RunState once torch is loaded
        self.phase = "preparing"
        self._last_progress = 0.0

    def emit(self, event: dict[str, Any], *, fsync: bool = False) -> None:
        if self.primary:
            self.writer.emit(event, fsync=fsync)

    # -- phases ------------------------------------------------------------------------------
    def train(self) -> int:
        stage = "config"
        try:
            config, _lineage = runs.load_run(self.run_dir)
            stage = "data"
            prepared = self._prepare(config)
            stage = "model"
            return self._fit(config, prepared)
        except Cancelled:
            return self._stopped(reason="user")
        except BaseException as error:  # every failure ends with an error event
            if isinstance(error, KeyboardInterrupt):
                self.cancel.cancel()
            if isinstance(error, SystemExit) and self.state is not None and self.state.stop_requested:
                return self._stopped(reason="signal")
            if isinstance(error, SystemExit):
                error = KeyboardInterrupt()  # Lightning's exit after a second Ctrl-C
            kind, message, hint = describe_failure(error, stage)
            self.emit(ev.error(message=message, hint=hint, kind=kind,
                               traceback="".join(traceback.format_exception(error))), fsync=True)
            _LOG.error("training failed (%s): %s", kind, message, exc_info=error)
            return EXIT_FAILED

    def _prepare(self, config: TrainConfig) -> Any:
        from voicelab.core.training.trainer import prepare

        self.phase = "preparing"
        if not self.primary:  # a ddp rank > 0: rank 0 prepares
            return prepare.wait_for_prepared(self.run_dir, config, cancel=self.cancel)
        prepared = prepare.prepare(self.run_dir, config, progress=self._progress, cancel=self.cancel)
        self.emit(ev.prepared(train=len(prepared.train), validation=len(prepared.validation),
                              dropped=prepared.dropped, unknown_phonemes=prepared.unknown_phonemes,
                              seconds=prepared.seconds))
        for item in prepared.dropped:
            _LOG.warning("dropped %s (%s): %s", item.get("id"), item.get("split"), item.get("reason"))
        return prepared

    def _progress(self, done: float, total: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last_progress >= 0.5 or done >= total:
            self._last_progress = now
            self.emit(ev.preparing(done=done, total=total, message=message))

    def _fit(self, config: TrainConfig, prepared: Any) -> int:
        import lightning.pytorch as pl
        import torch

        from voicelab.core.checkpoints import allowed_checkpoint_globals
        from voicelab.core.training.trainer import callbacks as cb
        from voicelab.core.training.trainer import monotonic
        from voicelab.core.training.trainer.model import (
            build_model,
            check_optimizer,
            freeze_for_finetune,
            parameter_count,
        )

        monotonic.install(config.alignment)
        monotonic.warm_up()
        check_optimizer(config)
        accelerator = lightning_accelerator(config)
        if accelerator == "gpu":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        runs.remove_partial_checkpoints(self.run_dir)
        resume = runs.latest_checkpoint(self.run_dir)
        pl.seed_everything(config.seed + (0 if resume is None else _resume_salt(resume)), workers=True,
                           verbose=False)
        model = build_model(config, num_symbols=prepared.num_symbols)
        hook = self.model_hook or _hook_from_env()
        if hook is not None:
            hook(model)
        base_report = None
        if resume is None and config.base:
            base_report = self._load_base(model, config, prepared, accelerator)
        frozen = freeze_for_finetune(model, config)  # on resume too: the recipe is the run's
        from voicelab.core.training.trainer import speedups

        for note in speedups.apply(model, config, accelerator):  # compile: ... (off by default)
            print(note, file=sys.stderr, flush=True)
        self.state = state = cb.RunState()
        started_info = {"config": config.to_dict(), "resumed_from": str(resume) if resume else None,
                        "train_utterances": len(prepared.train),
                        "validation_utterances": len(prepared.validation),
                        "parameters": parameter_count(model), "frozen": frozen, "base": base_report}
        events_cb = cb.EventsCallback(state, self.emit, config, started_info)
        control = cb.ControlCallback(state, self.emit, config, self.run_dir, self.cancel)
        trainer = pl.Trainer(
            accelerator=accelerator, devices=config.devices, strategy=strategy(config, accelerator),
            num_nodes=config.num_nodes, precision=precision_name(config.precision),
            max_epochs=config.max_epochs if config.max_epochs is not None else -1, max_steps=-1,
            logger=False, enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False, num_sanity_val_steps=0,
            check_val_every_n_epoch=config.validate_every_epochs,
            limit_val_batches=None if prepared.validation else 0,
            callbacks=[events_cb, control], plugins=[cb.AtomicCheckpointIO()],
            default_root_dir=str(self.run_dir / runs.LOG_DIR), deterministic=False,
        )
        from voicelab.core.training.trainer.datamodule import make_datamodule

        datamodule = make_datamodule(self.run_dir, config, prepared)
        self.phase = "training"
        with allowed_checkpoint_globals():
            trainer.fit(model, datamodule=datamodule, ckpt_path=str(resume) if resume else None,
                        weights_only=True)
        if state.stop_requested:
            return self._stopped(reason="user")
        if trainer.interrupted:
            raise RuntimeError("Lightning reported the training as interrupted.")
        return self._finished(trainer)

    def _load_base(self, model: Any, config: TrainConfig, prepared: Any = None,
                   accelerator: str = "cpu") -> dict[str, Any]:
        from voicelab.core.training.bases import base as base_module

        path = Path(config.base)
        if not path.is_file():
            raise BaseUnusable(f"The base checkpoint {path} is missing: it was moved or deleted "
                               "after the run was created. Put it back, or start a new run with "
                               "another base (or none, to train from scratch).")
        try:
            info = base_module.inspect_base(path)
        except (CheckpointError, UnsafeCheckpointError) as error:
            raise BaseUnusable(f"The base checkpoint cannot be used: {error}") from error
        if config.base_sha256 and info.sha256 != config.base_sha256:
            raise BaseChanged(f"The base checkpoint {path} has changed since the run was created "
                              f"(SHA-256 {info.sha256}, expected {config.base_sha256}). Put the "
                              "original file back, or start a new run with this base.")
        base_module.check_base_quality(info, config.quality, overrides=config.model)
        report = base_module.load_base_weights(model, path, speaker=config.base_speaker)
        summary: dict[str, Any] = {"path": str(path), "sha256": info.sha256, "origin": info.origin}
        for key, value in (report or {}).items():
            keep = key in ("untrained", "proof")  # small dicts of an .onnx voice base, kept whole
            summary[key] = len(value) if isinstance(value, (list, tuple, set, dict)) and not keep else value
        if base_module.is_voice_base(path) and config.base_warmup_steps > 0:
            summary["warmup"] = self._warm_up(model, config, info.sha256, prepared, accelerator)
        return summary

    def _warm_up(self, model: Any, config: TrainConfig, sha256: str, prepared: Any,
                 accelerator: str) -> dict[str, Any]:
        """An .onnx base's untrained parts warmed from its own speech (warmup.py), cached; a
        stop keeps the work done for the next attempt."""
        from voicelab.core.training.bases import warmup, warmup_plan
        from voicelab.core.training.scoring.previews import phoneme_ids

        settings = warmup_settings(config)
        voice = getattr(prepared, "espeak_voice", None) or config.espeak_voice or "en-us"
        ids = [sentence_ids for text in warmup_plan.warmup_sentences(settings.sentences)
               for sentence_ids in phoneme_ids(text, voice)]

        last = [0.0, ""]

        def progress(state: Any) -> None:  # every step comes here; at most two events a second
            now = time.monotonic()
            if now - last[0] < 0.5 and state.stage == last[1] and state.done < state.total:
                return
            last[0], last[1] = now, state.stage
            self.emit(ev.warmup(stage=state.stage, done=state.done, total=state.total,
                                message=state.message, overall=state.overall, eta_s=state.eta_s))

        device = "cuda" if accelerator == "gpu" else "cpu"
        model.to(device)
        self.phase = "warmup"
        try:
            report = warmup.warm_up(model, ids, base_sha256=sha256, settings=settings,
                                    cache_dir=warmup.cache_folder(self.run_dir),
                                    progress=progress, cancel=self.cancel)
        finally:
            model.to("cpu")
        self.phase = "preparing"
        self.emit(ev.warmup(stage="done", done=1, total=1, message="Warm-up finished", report=report,
                            overall=1.0, eta_s=0.0))
        return report

    def _finished(self, trainer: Any) -> int:
        from voicelab.core.checkpoints import load_checkpoint

        state = self.state
        path = state.last_checkpoint
        if not self.primary:
            return EXIT_FINISHED
        if path is None or not Path(path).is_file():
            raise CheckpointError("Training ended but its final checkpoint was not written. Check "
                                  "the free disk space, then resume the run.")
        loaded = load_checkpoint(path)  # finished means: it exists *and* loads
        if "state_dict" not in loaded:
            raise CheckpointError(f"The final checkpoint {path} holds no model weights.")
        del loaded
        self.emit(ev.finished(step=state.step, epoch=state.epoch, checkpoint=path), fsync=True)
        return EXIT_FINISHED

    def _stopped(self, reason: str) -> int:
        state = self.state
        checkpoint = state.last_checkpoint if state is not None else runs.latest_checkpoint(self.run_dir)
        step = state.step if state is not None else 0
        epoch = state.epoch if state is not None else 0
        during = "training" if state is not None else self.phase if self.phase == "warmup" else "preparing"
        self.emit(ev.stopped(step=step, epoch=epoch, checkpoint=checkpoint, reason=reason, during=during),
                  fsync=True)
        return EXIT_STOPPED


class BaseChanged(VoiceLabError):
    """The base file's checksum differs from the one recorded when the run was created."""


class BaseUnusable(VoiceLabError):
    """The base file is missing, unreadable or unsafe."""


def warmup_settings(config: TrainConfig) -> Any:
    """The warm-up a run's `base_warmup_steps` asks for (warmup_plan.WarmupSettings' other defaults)."""
    from voicelab.core.training.bases import warmup_plan

    steps = int(config.base_warmup_steps)
    defaults = warmup_plan.WarmupSettings()
    scale = steps / defaults.encoder_steps  # fewer steps also speak fewer sentences
    return warmup_plan.WarmupSettings(sentences=max(8, min(defaults.sentences, round(defaults.sentences * scale))),
                                      encoder_steps=steps, seed=config.seed)


def _resume_salt(checkpoint: Path) -> int:
    return runs.checkpoint_step(checkpoint) or 0


def _hook_from_env() -> Callable[[Any], None] | None:
    spec = os.environ.get(HOOK_ENV)
    if not spec:
        return None
    module_name, _, function = spec.partition(":")
    return getattr(importlib.import_module(module_name), function)


