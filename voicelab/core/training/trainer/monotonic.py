"""Monotonic alignment search (VITS' "maximum path") compiled with numba, installed into piper.

VITS aligns text with audio on every training step by finding, for each utterance, the
monotonic path through a [frames x phonemes] score matrix with the highest total: each frame
belongs to one phoneme, phonemes advance by at most one per frame, the path starts at the
first phoneme and ends at the last. piper-tts 1.8 imports a Cython build of it
(`piper.train.vits.monotonic_align.monotonic_align.core.maximum_path_c`) that its wheel does
not ship, so piper's training fails at step 1. A numba build needs no compiler at install
time and runs as fast.

`install()` registers this implementation under the module name piper imports, and replaces
piper's `maximum_path` wrapper, whose `.numpy()` call fails for bfloat16 scores (bf16-mixed
precision): ours converts the scores to float32 first. The trainer calls it at start, before
the model's first step; it is idempotent.

Semantics match the Cython original exactly (same recurrence and tie-breaking), so alignments
and therefore training results do not depend on which build runs.
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import numpy as np

PIPER_PACKAGE = "piper.train.vits.monotonic_align"
_CORE_PACKAGE = PIPER_PACKAGE + ".monotonic_align"
_CORE_MODULE = _CORE_PACKAGE + ".core"

#: The score given to cells a path cannot use (as in the original).
NEG_INF = -1e9

_compiled: Callable[..., None] | None = None
_compile_lock = threading.Lock()


def _fill_batch(paths: np.ndarray, values: np.ndarray, t_ys: np.ndarray, t_xs: np.ndarray) -> None:
    """`maximum_path_c`'s contract: int32 paths [b, t_y, t_x] filled, float32 values consumed.

    For each utterance, `values[b]` becomes the best cumulative score of a path reaching each
    cell, then the path is traced back from the last frame and phoneme.
    """
    for b in range(paths.shape[0]):
        path, value, t_y, t_x = paths[b], values[b], t_ys[b], t_xs[b]
        for y in range(t_y):
            # Only cells the start can reach and from which the end is still reachable.
            low = max(0, t_x + y - t_y)
            high = min(t_x, y + 1)
            for x in range(low, high):
                stay = NEG_INF if x == y else value[y - 1, x]
                if x == 0:
                    advance = 0.0 if y == 0 else NEG_INF
                else:
                    advance = value[y - 1, x - 1]
                value[y, x] += stay if stay > advance else advance
        x = t_x - 1
        for y in range(t_y - 1, -1, -1):
            path[y, x] = 1
            if x != 0 and (x == y or value[y - 1, x] < value[y - 1, x - 1]):
                x -= 1


def maximum_path_c(paths: np.ndarray, values: np.ndarray, t_ys: np.ndarray, t_xs: np.ndarray) -> None:
    """Drop-in for piper's Cython `maximum_path_c` (compiled on first use, then cached)."""
    _kernel()(paths, values, t_ys, t_xs)


def _kernel() -> Callable[..., None]:
    global _compiled
    if _compiled is None:
        with _compile_lock:
            if _compiled is None:
                _compiled = _compile()
    return _compiled


def _compile() -> Callable[..., None]:
    """The numba build of `_fill_batch`; plain Python (slow but correct) if numba is missing.

    Serial on purpose: numba's parallel thread pool keeps spinning after each call and
    starves torch's own threads (a CPU training step measured 10x slower); one batch of
    alignments takes milliseconds on one core anyway.
    """
    try:
        import numba
    except ImportError:  # pragma: no cover - numba comes with piper-tts[train]
        return _fill_batch
    try:  # the on-disk cache saves ~1 s of compiling per trainer start...
        return numba.njit(cache=True, nogil=True)(_fill_batch)
    except Exception:  # ...but needs a writable __pycache__ (not in a frozen app)
        return numba.njit(cache=False, nogil=True)(_fill_batch)


#: Which search `maximum_path` runs (set by `install`): "auto", "numba" or "torch".
_choice = "auto"


def uses_torch(choice: str, device_type: str) -> bool:
    """Whether `choice` runs the torch search for scores on `device_type` ("cuda", "cpu")."""
    return choice == "torch" or (choice == "auto" and device_type == "cuda")


def maximum_path(neg_cent: Any, mask: Any) -> Any:
    """Piper's `maximum_path(neg_cent [b, t_t, t_s], mask [b, t_t, t_s])`, bfloat16-safe.

    Returns the 0/1 path as a tensor on `neg_cent`'s device and dtype, like the original.
    On CUDA with `alignment: auto` (or anywhere with `torch`) the search runs on the device
    (alignment_torch.py); otherwise here, with numba, after a copy to the host.
    """
    if uses_torch(_choice, neg_cent.device.type):
        from voicelab.core.training.trainer import alignment_torch

        return alignment_torch.maximum_path(neg_cent, mask)
    return maximum_path_numba(neg_cent, mask)


def maximum_path_numba(neg_cent: Any, mask: Any) -> Any:
    """The numba search on the host (the scores are copied there and the path back)."""
    import torch

    # A copy: on the CPU `.numpy()` shares the tensor's memory, and the search overwrites it.
    values = np.array(neg_cent.detach().to(torch.float32).cpu().numpy(), copy=True, order="C")
    paths = np.zeros(values.shape, dtype=np.int32)
    lengths = mask.detach().to(torch.float32)
    t_ys = lengths.sum(1)[:, 0].cpu().numpy().astype(np.int32)
    t_xs = lengths.sum(2)[:, 0].cpu().numpy().astype(np.int32)
    maximum_path_c(paths, values, t_ys, t_xs)
    return torch.from_numpy(paths).to(device=neg_cent.device, dtype=neg_cent.dtype)


def install(alignment: str = "auto") -> None:
    """Make piper's training use this implementation (call before its first training step).

    `alignment` is TrainConfig.alignment: "auto" (torch on CUDA, numba on the CPU), "numba"
    or "torch".
    """
    global _choice
    if alignment not in ("auto", "numba", "torch"):
        raise ValueError(f"alignment must be auto, numba or torch, not {alignment!r}")
    _choice = alignment
    if _CORE_MODULE not in sys.modules:
        package = types.ModuleType(_CORE_PACKAGE)
        package.__path__ = []  # a namespace-like package, so `.core` resolves from sys.modules
        core = types.ModuleType(_CORE_MODULE)
        core.maximum_path_c = maximum_path_c  # type: ignore[attr-defined]
        core.__doc__ = "VoiceLab's numba build of VITS' monotonic alignment (voicelab.core.training.trainer.monotonic)."
        package.core = core  # type: ignore[attr-defined]
        sys.modules[_CORE_PACKAGE] = package
        sys.modules[_CORE_MODULE] = core
    import importlib

    piper_module = importlib.import_module(PIPER_PACKAGE)
    piper_module.maximum_path = maximum_path  # type: ignore[attr-defined]
    piper_module.maximum_path_c = maximum_path_c  # type: ignore[attr-defined]


def warm_up() -> None:
    """Compile now (about a second) rather than inside the first training step."""
    paths = np.zeros((1, 2, 2), dtype=np.int32)
    maximum_path_c(paths, np.zeros((1, 2, 2), dtype=np.float32), np.array([2], dtype=np.int32),
                   np.array([2], dtype=np.int32))
