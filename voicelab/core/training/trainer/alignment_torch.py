"""VITS' monotonic alignment search in torch, on the scores' own device (no host copy).

`monotonic.py` runs the search with numba on the CPU, which on a GPU means copying the
[batch x frames x phonemes] scores to the host, waiting for them (a synchronisation that
stops the host from queueing the rest of the step), and copying the path back. This module
computes the same path where the scores are:

* forward: the best cumulative score of every cell, one frame after another (the recurrence
  is sequential in frames), vectorised over the batch and the phonemes. Two tensor ops a
  frame: a padded column 0 stands for "no previous phoneme", so "stay" and "advance" are two
  views of the previous row and no shift has to be copied;
* backward: instead of walking back frame by frame (thousands of tiny launches on a GPU),
  each frame's step ("from phoneme x, the previous frame was on x or x-1") is a map between
  columns, and maps are composed by doubling (log2(frames) gathers over the whole batch),
  which gives every frame's phoneme at once.

The result is identical to the numba search (and piper's Cython one): same cells allowed,
same tie-breaking (stay unless advancing is strictly better, move left when stay is
impossible), for any score above -1e9 (the sentinel both use; real scores are
log-likelihoods, far above it). The tests compare the two on random inputs and edge shapes.

On the CPU the numba search is faster (measured by the tests' benchmark helper and in the
report); this one is for CUDA, where `alignment: auto` picks it.
"""

from __future__ import annotations

from typing import Any

NEG_INF = -1e9


def maximum_path(neg_cent: Any, mask: Any) -> Any:
    """piper's `maximum_path(neg_cent [b, t_t, t_s], mask [b, t_t, t_s])` on neg_cent's device.

    Returns the 0/1 path in neg_cent's dtype, like piper's.
    """
    import torch

    with torch.no_grad():
        scores = neg_cent.detach().to(torch.float32)
        lengths = mask.detach().to(torch.float32)
        t_ys = lengths.sum(1)[:, 0].to(torch.long)  # frames of each utterance
        t_xs = lengths.sum(2)[:, 0].to(torch.long)  # phonemes of each utterance
        path = _search(scores, t_ys, t_xs)
    return path.to(dtype=neg_cent.dtype)


def _band(batch: int, frames: int, phonemes: int, t_ys: Any, t_xs: Any, device: Any) -> Any:
    """Cells a path can use: reachable from the start and still able to reach the end."""
    import torch

    y = torch.arange(frames, device=device).view(1, frames, 1)
    x = torch.arange(phonemes, device=device).view(1, 1, phonemes)
    ty, tx = t_ys.view(batch, 1, 1), t_xs.view(batch, 1, 1)
    return (y < ty) & (x <= y) & (x < tx) & (x >= tx + y - ty)


def _search(scores: Any, t_ys: Any, t_xs: Any) -> Any:
    import torch

    batch, frames, phonemes = scores.shape
    device = scores.device
    band = _band(batch, frames, phonemes, t_ys, t_xs, device)
    value = scores.masked_fill(~band, float("-inf"))

    # Forward. best[:, y, 0] is a fixed "before the first phoneme" column: advancing into
    # phoneme 0 is allowed only at frame 0 (from 0.0), never later (NEG_INF, as in numba).
    best = torch.full((batch, frames, phonemes + 1), NEG_INF, dtype=torch.float32, device=device)
    best[:, 0, 1:] = value[:, 0]  # frame 0: only phoneme 0 is in the band, and it starts at 0
    step = torch.empty((batch, phonemes), dtype=torch.float32, device=device)
    for y in range(1, frames):
        previous = best[:, y - 1]
        torch.maximum(previous[:, 1:], previous[:, :-1], out=step)  # stay, advance
        torch.add(value[:, y], step, out=best[:, y, 1:])
    cumulative = best[:, :, 1:]

    # Backward. At frame y on phoneme x the path came from x-1 when it had to (x == y) or
    # when that was strictly better; outside the band numba compares the raw scores.
    seen = torch.where(band, cumulative, scores)
    x = torch.arange(phonemes, device=device).view(1, 1, phonemes)
    y = torch.arange(frames, device=device).view(1, frames, 1)
    left = torch.zeros((batch, frames, phonemes), dtype=torch.bool, device=device)
    if frames > 1:
        left[:, 1:, 1:] = (seen[:, :-1, 1:] < seen[:, :-1, :-1]) | (x[:, :, 1:] == y[:, 1:])
    left &= y < t_ys.view(batch, 1, 1)  # frames past the end: stay put (the path starts there)
    # to_previous[:, y] maps the phoneme at frame y+1 to the phoneme at frame y.
    to_previous = x.expand(batch, frames, phonemes) - left.to(torch.long)
    to_previous = torch.cat([to_previous[:, 1:], x.expand(batch, 1, phonemes)], dim=1)
    # Doubling: after it, to_previous[:, y] maps the phoneme at the last frame to frame y.
    reach = 1
    while reach < frames:
        later = torch.cat([to_previous[:, reach:],
                           x.expand(batch, reach, phonemes)], dim=1)  # identity past the end
        to_previous = torch.gather(to_previous, 2, later)
        reach *= 2
    start = (t_xs - 1).clamp(min=0).view(batch, 1, 1).expand(batch, frames, 1)
    column = torch.gather(to_previous, 2, start)  # [b, frames, 1]
    path = (x == column) & (y < t_ys.view(batch, 1, 1))
    return path.to(torch.int32)
