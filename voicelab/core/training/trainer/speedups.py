"""Optional speed-ups of the training step that do not change the model or its losses.

`compile: decoder` runs `torch.compile` on the parts of VITS that always see the same shapes
(the decoder, which turns fixed-size random latent segments into audio, and the two
discriminators, which judge those segments): fixed shapes compile once and let inductor fuse
the many small per-layer ops (leaky ReLU, weight norm, residual adds) that make a GPU step
host-bound. The modules are compiled in place (`nn.Module.compile`), so parameter names,
checkpoints and export are unchanged.

Off by default: the gain is unmeasured (no GPU was available to measure it), compiling costs
a minute or more at the first steps, and it needs Triton. Where it cannot work it is skipped
with a note instead of failing a run: on the CPU, on GPUs older than compute capability 7.0,
and where Triton is not installed (Windows, usually). Failures inside the compiler at the
first step fall back to eager execution (dynamo's `suppress_errors`).

TF32 matmuls on CUDA are not here: the runner always enables them (piper's loop measured in
the issue used them too).
"""

from __future__ import annotations

from typing import Any

from voicelab.core.training.run.config import TrainConfig


def compile_support(accelerator: str) -> str:
    """Why `compile: decoder` cannot run here, or "" when it can."""
    if accelerator != "gpu":
        return "torch.compile is used on CUDA GPUs only"
    import torch

    if not torch.cuda.is_available():
        return "no CUDA GPU is visible to PyTorch"
    major, _minor = torch.cuda.get_device_capability(0)
    if major < 7:
        return f"this GPU (compute capability {major}.x) is older than Triton supports (7.0)"
    try:
        import triton  # noqa: F401
    except ImportError:
        return "Triton is not installed (on Windows: pip install triton-windows)"
    return ""


def apply(model: Any, config: TrainConfig, accelerator: str) -> list[str]:
    """Apply the config's speed-ups to `model` in place; returns notes for the event log."""
    notes: list[str] = []
    if config.compile == "off":
        return notes
    reason = compile_support(accelerator)
    if reason:
        return [f"compile: {config.compile} skipped: {reason}; training runs uncompiled."]
    import torch._dynamo

    torch._dynamo.config.suppress_errors = True  # a compiler failure runs that part eagerly
    parts = [model.model_g.dec, model.model_d]
    if getattr(model, "model_mrd", None) is not None:
        parts.append(model.model_mrd)
    for part in parts:
        part.compile(dynamic=False)
    return [f"compile: {config.compile}: decoder and discriminators compiled (first steps slower)."]
