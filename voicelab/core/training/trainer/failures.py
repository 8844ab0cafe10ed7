"""A failed run in words: what happened and what to change, for its `error` event."""

from __future__ import annotations

from voicelab.core.errors import CheckpointError, UnsafeCheckpointError, VoiceLabError
from voicelab.core.training.run.config import TrainingConfigError

_OOM_TEXT = ("out of memory", "can't allocate memory", "cannot allocate memory",
             "not enough memory", "defaultcpuallocator")


def describe_failure(error: BaseException, stage: str = "") -> tuple[str, str, str]:
    """(kind, message, hint) for an error event: what happened and what to change."""
    from voicelab.core.training.run.snapshot import TrainingDataError

    text = " ".join(str(error).split())
    if _is_oom(error):
        return ("oom", "Training ran out of memory" + (f" ({text[:200]})" if text else "") + ".",
                "Lower batch_size, use precision bf16-mixed (or 16-mixed on a GPU), lower "
                "max_seconds so long clips are left out, or try optimizer adamw8bit on CUDA.")
    if type(error).__name__ == "TrainingDiverged":
        return "nan", str(error), "Lower the learning rate or use precision 32."
    if isinstance(error, TrainingConfigError):
        return "config", str(error), "Fix the setting in train.yaml, or start a new run."
    if isinstance(error, TrainingDataError):
        return "data", str(error), "Fix the dataset in the Dataset tab, then start a new run."
    if isinstance(error, (CheckpointError, UnsafeCheckpointError)):
        return "checkpoint", str(error), "Resume from an earlier checkpoint, or start a new run."
    if isinstance(error, VoiceLabError):
        kind = {"OptimizerUnavailable": "config", "BaseChanged": "base", "BaseUnusable": "base",
                "BaseCheckpointError": "base", "RunBusy": "busy"}.get(type(error).__name__)
        if kind is None:
            kind = "base" if "base" in type(error).__module__ else stage or "internal"
        return kind, str(error), ""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted", "Training was interrupted before a checkpoint could be saved.", \
            "Resume the run to continue from its last checkpoint."
    name = type(error).__name__
    return ("internal", f"Training failed unexpectedly: {name}: {text[:500]}",
            "See logs/trainer.log in the run folder; resume the run to continue from its last "
            "checkpoint. If it happens again, report it with that log.")


def _is_oom(error: BaseException) -> bool:
    if isinstance(error, MemoryError):
        return True
    name = type(error).__name__
    if name in ("OutOfMemoryError", "OutOfResources"):
        return True
    return isinstance(error, RuntimeError) and any(t in str(error).lower() for t in _OOM_TEXT)
