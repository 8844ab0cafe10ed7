"""Batches of utterances of similar length (`bucket_batches: true`), an opt-in.

piper's loader draws batches at random, so a 2 s clip often shares a batch with a 14 s one
and is padded to 14 s: the text encoder, the flows and the posterior encoder (which see whole
utterances, unlike the decoder's fixed segments) then spend much of their work on padding.
This sampler shuffles the training clips, cuts the shuffled order into pools of `pool`
batches, sorts each pool by spectrogram length, cuts it into batches and shuffles the batch
order. Every clip is still seen once an epoch; the number of batches is piper's
(floor(n / batch) when the last ragged batch is dropped, as piper drops it); batches are
random in which clips they hold, only less mixed in length.

It is off by default: it changes which clips share a batch (so a run's losses are not
step-for-step those of piper's loop), and its gain, which grows with the spread of clip
lengths, is measured on a GPU only (see bench/bench_training.py). With several processes
(ddp) the runner keeps piper's loader, whose sampler Lightning distributes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any


class LengthBucketBatchSampler:
    """A batch sampler (torch's protocol: iterable of index lists, with len)."""

    def __init__(self, lengths: Sequence[int], batch_size: int, *, drop_last: bool, seed: int,
                 pool: int = 32) -> None:
        if batch_size < 1 or pool < 1:
            raise ValueError("batch_size and pool must be at least 1")
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.seed = seed
        self.pool = pool
        self.epoch: int | None = None
        self._iterations = 0

    def set_epoch(self, epoch: int) -> None:
        """Lightning calls this each epoch; without it, each pass over the data counts one."""
        self.epoch = epoch

    def __len__(self) -> int:
        count = len(self.lengths)
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)

    def batches(self, epoch: int) -> list[list[int]]:
        rng = random.Random(self.seed * 100003 + epoch)
        order = list(range(len(self.lengths)))
        rng.shuffle(order)
        span = self.batch_size * self.pool
        arranged: list[int] = []
        for start in range(0, len(order), span):
            arranged += sorted(order[start:start + span], key=lambda i: self.lengths[i])
        batches = [arranged[i:i + self.batch_size] for i in range(0, len(arranged), self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        rng.shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        epoch = self.epoch if self.epoch is not None else self._iterations
        self._iterations += 1
        return iter(self.batches(epoch))


def padding_share(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> float:
    """Share of padded frames in `batches` (what bucketing lowers), for reports and tests."""
    padded = sum(max(lengths[i] for i in batch) * len(batch) for batch in batches if batch)
    real = sum(lengths[i] for batch in batches for i in batch)
    return 1.0 - real / padded if padded else 0.0


def bucketed_loader(module: Any, lengths: list[int], seed: int, arguments: dict[str, Any]) -> Any:
    """piper's training loader with batches of similar length (see bucketing.py); `arguments`
    are the rest of a training loader's (`datamodule.loader_arguments`)."""
    from torch.utils.data import DataLoader

    drop_last = len(lengths) > module.batch_size  # as piper's loader
    sampler = LengthBucketBatchSampler(lengths, module.batch_size, drop_last=drop_last, seed=seed)
    return DataLoader(module.train_dataset, batch_sampler=sampler, **arguments)
