"""Exponential moving averages of a loss curve, as TensorBoard draws them.

Kept apart from the chart (loss_chart.py) because it is plain numpy: the one formula, and
its running form that smooths only the points appended since the last redraw.
"""

from __future__ import annotations

import numpy as np


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """Exponential moving average with bias correction (as TensorBoard draws it)."""
    if weight <= 0 or len(values) == 0:
        return values
    out = np.empty_like(values)
    last, debias = 0.0, 0.0
    for i, value in enumerate(values):
        if not np.isfinite(value):
            out[i] = np.nan
            continue
        last = last * weight + (1 - weight) * value
        debias = debias * weight + (1 - weight)
        out[i] = last / debias
    return out


def _ema(values: np.ndarray, weight: float, last: float, count: int) -> tuple[np.ndarray, float, int]:
    """`smooth` continued from a state, in numpy: (smoothed values, new last, new count).

    `last` is the undebiased average so far and `count` the finite values it has seen.
    s_i = w^i·s_0 + (1−w)·w^i·Σ w^−j·v_j, in chunks short enough that w^−j (≤ e^600) cannot
    overflow; each sum is dominated by its newest terms, so the error stays ~i·ε. The
    debias of the k-th finite value is 1 − w^k, as in `smooth`.
    """
    out = np.full(len(values), np.nan)
    finite = np.isfinite(values)
    data = values[finite]
    if len(data) == 0:
        return out, last, count
    chunk = max(1, min(8192, int(600 / -np.log(weight))))
    result = np.empty(len(data))
    for start in range(0, len(data), chunk):
        part = data[start:start + chunk]
        powers = weight ** np.arange(1, len(part) + 1)
        segment = powers * (last + (1 - weight) * np.cumsum(part / powers))
        result[start:start + len(part)] = segment
        last = float(segment[-1])
    result /= 1 - weight ** (count + np.arange(1, len(data) + 1))
    out[finite] = result
    return out, last, count + len(data)


class Smoother:
    """`smooth` kept up to date as points are appended: only new points cost time.

    A long run has tens of thousands of logged steps and the chart redraws a few times a
    second, so the average's state is kept and only the new tail is smoothed (vectorized).
    A new weight, or fewer values (a reload), starts over.
    """

    def __init__(self) -> None:
        self.reset(-1.0)

    def reset(self, weight: float) -> None:
        self.weight, self.last, self.count = weight, 0.0, 0
        self.out = np.zeros(0)

    def update(self, values: list[float], weight: float) -> np.ndarray:
        if weight != self.weight or len(values) < len(self.out):
            self.reset(weight)
        if weight <= 0:
            return np.asarray(values, dtype=float)
        if len(values) > len(self.out):
            tail, self.last, self.count = _ema(np.asarray(values[len(self.out):], dtype=float), weight,
                                               self.last, self.count)
            self.out = np.concatenate([self.out, tail])
        return self.out
