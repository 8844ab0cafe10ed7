"""Where a run trains: the device, Lightning's accelerator and strategy, the precision."""

from __future__ import annotations

from voicelab.core.training.run.config import TrainConfig, TrainingConfigError


def check_device(device: str) -> None:
    """`TrainingConfigError` when `device` is cuda and PyTorch sees no CUDA GPU here.

    The CLI asks before it creates or resumes a run (torch is imported only for cuda), so
    a run that cannot start on this machine is refused, not left behind as failed."""
    if device != "cuda":
        return
    import torch

    if not torch.cuda.is_available():
        raise TrainingConfigError("device is cuda, but no CUDA GPU is available to PyTorch "
                                  f"(torch {torch.__version__}). Choose device auto or cpu, "
                                  "or install a CUDA build of PyTorch.")


def lightning_accelerator(config: TrainConfig) -> str:
    """"cpu" or "gpu" for the config's device ("auto": a GPU when PyTorch sees one)."""
    import torch

    if config.device == "cpu":
        return "cpu"
    check_device(config.device)
    if config.device == "cuda":
        return "gpu"
    return "gpu" if torch.cuda.is_available() else "cpu"


def strategy(config: TrainConfig, accelerator: str) -> str:
    """Lightning's strategy for the config. piper's training step runs two backward passes
    per forward (generator, then discriminator), so under DDP each pass leaves some
    parameters without gradients; plain "ddp" stops with "parameters that were not used in
    producing the loss", so it runs with unused-parameter detection on."""
    if config.devices == "auto":
        import torch

        several = accelerator == "gpu" and torch.cuda.device_count() > 1
    else:
        several = int(config.devices) > 1
    if config.strategy == "ddp" or (config.strategy == "auto" and (several or config.num_nodes > 1)):
        return "ddp_find_unused_parameters_true"
    return config.strategy


def precision_name(precision: str) -> str:
    """Lightning's name for a run's precision setting."""
    return "32-true" if precision == "32" else precision
