"""The largest batch that fits the GPU, found by trying real training steps.

A VITS step's memory depends on the model, the precision and, most of all, on the longest
utterance in the batch (the text encoder, flows and posterior encoder see whole utterances;
only the decoder and discriminators see fixed segments). Estimating it from parameter counts
is unreliable, so `suggest_batch_size` builds the run's model on the GPU and runs piper's
training step (generator and discriminator forward, backward and AdamW update, the optimizer
state included) on synthetic batches of the worst case the run can meet: every utterance as
long as the longest prepared clip (or `max_seconds` / `max_phonemes` before preparation).
Batch sizes grow until a step fails for memory or its peak passes `margin` of the GPU's
memory; the last one that stayed under is suggested.

On the CPU memory is rarely the limit (speed is), so no probe runs there and the answer says
so. The GUI can call `suggest_batch_size(config)` from a worker (it takes seconds to a
minute) and show `message`; the CLI prints it (`voicelab-cli train suggest-batch`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from voicelab.core.progress import CancelToken, ProgressCallback, no_progress
from voicelab.core.training.run.config import TrainConfig

CANDIDATES = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
#: Share of the GPU's memory a probed step may peak at: the rest absorbs fragmentation,
#: the data loader's pinned batches and a slightly longer real utterance.
DEFAULT_MARGIN = 0.85


@dataclass
class BatchSuggestion:
    batch_size: int | None  # None: no suggestion (CPU, or not even the smallest fits)
    device: str
    message: str
    total_gib: float | None = None
    #: (batch size, peak GiB) per probed size; peak None where the step ran out of memory.
    tried: list[tuple[int, float | None]] = field(default_factory=list)


def probe(candidates: Sequence[int], run_step: Callable[[int], float], limit_bytes: float, *,
          is_oom: Callable[[BaseException], bool], progress: ProgressCallback = no_progress,
          cancel: CancelToken | None = None) -> tuple[int | None, list[tuple[int, float | None]]]:
    """Try sizes in increasing order; return the largest whose peak stays under the limit.

    `run_step(size)` runs one step and returns its peak bytes; it raises for out-of-memory
    (`is_oom` tells those from real errors, which propagate).
    """
    best: int | None = None
    tried: list[tuple[int, float | None]] = []
    for index, size in enumerate(sorted(candidates)):
        if cancel is not None:
            cancel.raise_if_cancelled()
        progress(index, len(candidates), f"trying batch size {size}")
        try:
            peak = run_step(size)
        except BaseException as error:  # noqa: B902 - filtered just below
            if not is_oom(error):
                raise
            tried.append((size, None))
            break
        tried.append((size, peak / 2**30))
        if peak > limit_bytes:
            break
        best = size
    progress(len(candidates), len(candidates), "done")
    return best, tried


def suggest_batch_size(config: TrainConfig, *, num_symbols: int = 256,
                       lengths: tuple[int, int] | None = None, margin: float = DEFAULT_MARGIN,
                       candidates: Sequence[int] = CANDIDATES, device: str | None = None,
                       progress: ProgressCallback = no_progress,
                       cancel: CancelToken | None = None) -> BatchSuggestion:
    """Probe the GPU for the largest batch of `config`'s model (see the module docstring).

    `lengths` is (spectrogram frames, phonemes) of the longest utterance (a run's prepared
    data knows it: `longest_utterance`); without it the config's limits are the worst case.
    """
    import torch

    if device is None:
        device = "cuda" if config.device != "cpu" and torch.cuda.is_available() else "cpu"
    if device != "cuda":
        return BatchSuggestion(None, "cpu", "No CUDA GPU here: on the CPU the batch size is "
                               "limited by speed, not memory; keep 8-16.")
    hp = config.model_hparams()
    hop = int(hp.get("hop_length", 256))
    frames, phonemes = lengths or (int(config.max_seconds * config.sample_rate / hop),
                                   config.max_phonemes)
    total = torch.cuda.get_device_properties(0).total_memory
    step = _step_runner(config, num_symbols, frames, phonemes)
    try:
        best, tried = probe(candidates, step, margin * total, is_oom=_is_oom,
                            progress=progress, cancel=cancel)
    finally:
        step.close()  # type: ignore[attr-defined]
    total_gib = total / 2**30
    if best is None:
        message = (f"Even batch size {min(candidates)} does not fit this GPU "
                   f"({total_gib:.0f} GiB) for utterances of {frames} frames: lower max_seconds, "
                   "use precision bf16-mixed or a smaller quality.")
    else:
        message = (f"Batch size {best} fits this GPU ({total_gib:.0f} GiB) with a "
                   f"{round(100 * (1 - margin))}% margin, for utterances up to {frames} frames "
                   f"and {phonemes} phonemes at precision {config.precision}.")
    return BatchSuggestion(best, "cuda", message, total_gib, tried)


def longest_utterance(prepared: Any) -> tuple[int, int]:
    """(frames, phonemes) of the longest prepared training clip (a `data.Prepared`)."""
    entries = prepared.train or prepared.validation
    return (max(int(e["frames"]) for e in entries), max(int(e["phonemes"]) for e in entries))


def _step_runner(config: TrainConfig, num_symbols: int, frames: int, phonemes: int,
                 device: str = "cuda", model_hook: Callable[[Any], None] | None = None) -> Any:
    """A callable(batch_size) -> peak bytes running piper's training step on synthetic data.

    `device` "cpu" runs the same step (peak 0): the tests check the step itself that way.
    """
    import torch
    from piper.train.vits.dataset import Batch

    from voicelab.core.training.trainer import monotonic
    from voicelab.core.training.trainer.model import build_model

    monotonic.install(config.alignment)
    cuda = device == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    model = build_model(config, num_symbols=num_symbols)
    if model_hook is not None:  # tests: smaller discriminators
        model_hook(model)
    model = model.to(device).train()
    optimizers, _schedulers = model.configure_optimizers()
    hp = config.model_hparams()
    hop, bins = int(hp.get("hop_length", 256)), int(hp.get("filter_length", 1024)) // 2 + 1
    dtype = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(config.precision)

    def run(size: int) -> float:
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        batch = Batch(
            phoneme_ids=torch.randint(1, num_symbols, (size, phonemes), device=device),
            phoneme_lengths=torch.full((size,), phonemes, device=device),
            spectrograms=torch.rand(size, bins, frames, device=device),
            spectrogram_lengths=torch.full((size,), frames, device=device),
            audios=torch.rand(size, 1, frames * hop, device=device) * 0.2 - 0.1,
            audio_lengths=torch.full((size,), frames * hop, device=device),
        )
        try:
            with torch.autocast(device, dtype=dtype or torch.float32,
                                enabled=cuda and dtype is not None):
                loss_g, loss_d, _metrics = model._compute_loss(batch)
            loss_g.backward()
            optimizers[0].step()
            optimizers[1].zero_grad(set_to_none=True)
            loss_d.backward()
            optimizers[1].step()
            if not cuda:
                return 0.0
            torch.cuda.synchronize()
            return float(torch.cuda.max_memory_allocated())
        finally:
            del batch
            for optimizer in optimizers:
                optimizer.zero_grad(set_to_none=True)

    def close() -> None:
        nonlocal model, optimizers
        del model, optimizers
        if cuda:
            torch.cuda.empty_cache()

    run.close = close  # type: ignore[attr-defined]
    return run


def _is_oom(error: BaseException) -> bool:
    import torch

    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
