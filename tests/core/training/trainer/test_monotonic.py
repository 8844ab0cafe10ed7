"""The numba maximum-path search against references written from its definition.

Two references: for small matrices, every monotonic alignment is enumerated and the best
total taken (no dynamic programming at all, so it cannot share a recurrence bug); for
larger ones a plain-numpy dynamic programme over explicit -inf cells.
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest

from voicelab.core.training.trainer import monotonic


def brute_force_path(value: np.ndarray) -> np.ndarray:
    """Best monotonic alignment of t_y frames to t_x phonemes by trying them all.

    An alignment gives each phoneme a run of >= 1 consecutive frames, in order: choose the
    t_x - 1 frames where a new phoneme starts.
    """
    t_y, t_x = value.shape
    best, best_path = -np.inf, None
    for starts in itertools.combinations(range(1, t_y), t_x - 1):
        bounds = (0, *starts, t_y)
        path = np.zeros((t_y, t_x), dtype=np.int32)
        for x in range(t_x):
            path[bounds[x]:bounds[x + 1], x] = 1
        total = float((value * path).sum())
        if total > best:
            best, best_path = total, path
    return best_path


def dp_path(value: np.ndarray) -> np.ndarray:
    """The same optimum by dynamic programming over explicit -inf cells (float64)."""
    t_y, t_x = value.shape
    score = np.full((t_y, t_x), -np.inf)
    score[0, 0] = value[0, 0]
    for y in range(1, t_y):
        for x in range(t_x):
            previous = max(score[y - 1, x], score[y - 1, x - 1] if x > 0 else -np.inf)
            score[y, x] = value[y, x] + previous
    path = np.zeros((t_y, t_x), dtype=np.int32)
    x = t_x - 1
    for y in range(t_y - 1, -1, -1):
        path[y, x] = 1
        if y > 0 and x > 0 and (x == y or score[y - 1, x - 1] > score[y - 1, x]):
            x -= 1
    return path


def run_kernel(values: np.ndarray, t_ys, t_xs) -> np.ndarray:
    paths = np.zeros(values.shape, dtype=np.int32)
    monotonic.maximum_path_c(paths, values.astype(np.float32).copy(),
                             np.asarray(t_ys, dtype=np.int32), np.asarray(t_xs, dtype=np.int32))
    return paths


def check_is_alignment(path: np.ndarray) -> None:
    t_y, t_x = path.shape
    assert (path.sum(axis=1) == 1).all(), "every frame belongs to exactly one phoneme"
    columns = path.argmax(axis=1)
    assert columns[0] == 0 and columns[-1] == t_x - 1
    assert set(np.diff(columns)) <= {0, 1}, "phonemes advance by at most one per frame"


@pytest.mark.parametrize("t_y, t_x", [(1, 1), (2, 1), (5, 1), (2, 2), (4, 4), (5, 2), (7, 3),
                                      (8, 5), (9, 4)])
def test_matches_exhaustive_search(t_y, t_x):
    rng = np.random.default_rng(t_y * 31 + t_x)
    for _ in range(5):
        value = rng.standard_normal((t_y, t_x)).astype(np.float32)
        path = run_kernel(value[None], [t_y], [t_x])[0]
        check_is_alignment(path)
        np.testing.assert_array_equal(path, brute_force_path(value.astype(np.float64)))


def test_matches_dynamic_programme_on_larger_random_batches_with_differing_lengths():
    rng = np.random.default_rng(7)
    t_ys, t_xs = [60, 33, 17, 5, 40, 12], [20, 33, 1, 5, 39, 3]
    values = rng.standard_normal((len(t_ys), max(t_ys), max(t_xs))).astype(np.float32) * 3
    paths = run_kernel(values, t_ys, t_xs)
    for b, (t_y, t_x) in enumerate(zip(t_ys, t_xs)):
        expected = dp_path(values[b, :t_y, :t_x].astype(np.float64))
        np.testing.assert_array_equal(paths[b, :t_y, :t_x], expected)
        check_is_alignment(paths[b, :t_y, :t_x])
        assert paths[b, t_y:, :].sum() == 0 and paths[b, :, t_x:].sum() == 0  # padding untouched


def test_same_result_as_the_plain_python_build():
    rng = np.random.default_rng(3)
    values = rng.standard_normal((3, 30, 12)).astype(np.float32)
    t_ys, t_xs = np.array([30, 20, 12], np.int32), np.array([12, 7, 12], np.int32)
    compiled = run_kernel(values, t_ys, t_xs)
    plain = np.zeros(values.shape, dtype=np.int32)
    monotonic._fill_batch(plain, values.copy(), t_ys, t_xs)
    np.testing.assert_array_equal(compiled, plain)


def test_torch_wrapper_takes_masks_and_bfloat16_like_pipers():
    import torch

    rng = np.random.default_rng(11)
    lengths = [(9, 4), (6, 6), (3, 1)]  # (frames, phonemes): t_x == t_y and t_x == 1 included
    neg_cent = torch.tensor(rng.standard_normal((3, 9, 6)), dtype=torch.float32)
    mask = torch.zeros(3, 9, 6)
    for b, (t_y, t_x) in enumerate(lengths):
        mask[b, :t_y, :t_x] = 1
    path = monotonic.maximum_path(neg_cent, mask)
    assert path.dtype == torch.float32 and path.shape == neg_cent.shape
    for b, (t_y, t_x) in enumerate(lengths):
        expected = dp_path(neg_cent[b, :t_y, :t_x].double().numpy())
        np.testing.assert_array_equal(path[b, :t_y, :t_x].int().numpy(), expected)
    # bf16-mixed hands piper bfloat16 scores; `.numpy()` cannot take those
    path_bf16 = monotonic.maximum_path(neg_cent.to(torch.bfloat16), mask.to(torch.bfloat16))
    assert path_bf16.dtype == torch.bfloat16
    assert path_bf16.sum(dim=(1, 2)).tolist() == [9.0, 6.0, 3.0]


def test_batch_of_one():
    import torch

    neg_cent = torch.randn(1, 5, 3)
    path = monotonic.maximum_path(neg_cent, torch.ones(1, 5, 3))
    check_is_alignment(path[0].int().numpy())


def test_install_puts_it_where_piper_imports_it():
    import torch

    monotonic.install()
    from piper.train.vits import monotonic_align
    from piper.train.vits.monotonic_align.monotonic_align.core import maximum_path_c

    assert maximum_path_c is monotonic.maximum_path_c
    assert monotonic_align.maximum_path is monotonic.maximum_path
    monotonic.install()  # idempotent
    path = monotonic_align.maximum_path(torch.randn(2, 4, 2), torch.ones(2, 4, 2))
    assert path.sum().item() == 8
    assert "piper.train.vits.monotonic_align.monotonic_align.core" in sys.modules


def test_pipers_generator_forward_runs_with_it():
    """piper's SynthesizerTrn.forward (the training path) aligns through the installed search."""
    import torch
    from piper.train.vits.models import SynthesizerTrn

    monotonic.install()
    torch.manual_seed(0)
    model = SynthesizerTrn(n_vocab=20, spec_channels=33, segment_size=8, inter_channels=8,
                           hidden_channels=8, filter_channels=16, n_heads=2, n_layers=1,
                           kernel_size=3, p_dropout=0.0, resblock="2", resblock_kernel_sizes=(3,),
                           resblock_dilation_sizes=((1, 2),), upsample_rates=(4, 4),
                           upsample_initial_channel=8, upsample_kernel_sizes=(8, 8))
    text = torch.randint(1, 20, (2, 7))
    spec = torch.randn(2, 33, 30)
    outputs = model(text, torch.tensor([7, 5]), spec, torch.tensor([30, 22]))
    attention = outputs[2]  # [b, 1, t_y, t_x]
    assert attention[0, 0].sum().item() == 30 and attention[1, 0].sum().item() == 22
