"""The torch alignment search gives the numba search's paths, cell for cell."""

from __future__ import annotations

import numpy as np
import pytest

from voicelab.core.training.trainer import alignment_torch, monotonic


def masks(lengths, frames, phonemes):
    import torch

    mask = torch.zeros(len(lengths), frames, phonemes)
    for b, (t_y, t_x) in enumerate(lengths):
        mask[b, :t_y, :t_x] = 1
    return mask


@pytest.mark.parametrize("seed", range(6))
def test_random_batches_match_numba(seed):
    import torch

    rng = np.random.default_rng(seed)
    batch = int(rng.integers(1, 6))
    frames, phonemes = int(rng.integers(1, 60)), int(rng.integers(1, 25))
    lengths = [(int(rng.integers(1, frames + 1)), int(rng.integers(1, phonemes + 1)))
               for _ in range(batch)]
    lengths[0] = (frames, min(phonemes, frames))  # one utterance fills the padding
    scores = torch.tensor(rng.standard_normal((batch, frames, phonemes)) * 10, dtype=torch.float32)
    mask = masks(lengths, frames, phonemes)
    before = scores.clone()
    expected = monotonic.maximum_path_numba(scores, mask)
    assert torch.equal(scores, before)  # neither search may overwrite the scores
    got = alignment_torch.maximum_path(scores, mask)
    assert torch.equal(scores, before)
    assert got.dtype == scores.dtype and torch.equal(got, expected)


@pytest.mark.parametrize("lengths,frames,phonemes", [
    ([(1, 1)], 1, 1),                 # a single cell
    ([(7, 7)], 7, 7),                 # as many phonemes as frames: the diagonal
    ([(9, 1)], 9, 4),                 # one phoneme held all along
    ([(3, 5)], 6, 6),                 # more phonemes than frames: no valid path (degenerate)
    ([(5, 2), (1, 1), (8, 3)], 8, 3),  # ragged batch, padding on both axes
])
def test_edge_shapes_match_numba(lengths, frames, phonemes):
    import torch

    torch.manual_seed(3)
    scores = torch.randn(len(lengths), frames, phonemes) * 5
    mask = masks(lengths, frames, phonemes)
    assert torch.equal(alignment_torch.maximum_path(scores, mask),
                       monotonic.maximum_path_numba(scores, mask))


def test_ties_break_like_numba():
    import torch

    scores = torch.zeros(2, 12, 5)  # every path scores the same
    mask = masks([(12, 5), (10, 3)], 12, 5)
    assert torch.equal(alignment_torch.maximum_path(scores, mask),
                       monotonic.maximum_path_numba(scores, mask))


def test_bfloat16_scores_give_a_bfloat16_path():
    import torch

    scores = torch.randn(2, 10, 4).to(torch.bfloat16)
    mask = masks([(10, 4), (6, 3)], 10, 4).to(torch.bfloat16)
    path = alignment_torch.maximum_path(scores, mask)
    assert path.dtype == torch.bfloat16
    assert torch.equal(path, monotonic.maximum_path_numba(scores, mask))


def test_install_chooses_by_setting_and_device(monkeypatch):
    import torch

    calls = []
    monkeypatch.setattr(alignment_torch, "maximum_path",
                        lambda s, m: calls.append("torch") or monotonic.maximum_path_numba(s, m))
    scores, mask = torch.randn(1, 4, 2), torch.ones(1, 4, 2)
    try:
        monotonic.install("auto")  # on the CPU: numba
        monotonic.maximum_path(scores, mask)
        assert calls == []
        monotonic.install("torch")
        monotonic.maximum_path(scores, mask)
        assert calls == ["torch"]
        assert monotonic.uses_torch("auto", "cuda") and not monotonic.uses_torch("numba", "cuda")
        with pytest.raises(ValueError, match="alignment"):
            monotonic.install("gpu")
    finally:
        monotonic.install("auto")


def test_alignment_setting_is_validated(tmp_path):
    from voicelab.core.training.run.config import TrainingConfigError, config_from_dict

    base = {"dataset": str(tmp_path)}
    assert config_from_dict({**base, "alignment": "torch"}).alignment == "torch"
    with pytest.raises(TrainingConfigError, match="alignment: must be one of auto, numba, torch"):
        config_from_dict({**base, "alignment": "cuda"})
