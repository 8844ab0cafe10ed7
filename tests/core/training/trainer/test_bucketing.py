"""Length-bucketed batches (opt-in) and the compile switch's fallbacks."""

from __future__ import annotations

import random

import pytest

from voicelab.core.training.trainer.bucketing import LengthBucketBatchSampler, padding_share


def lengths(count=203, seed=5):
    rng = random.Random(seed)
    return [rng.randint(60, 1300) for _ in range(count)]


def test_every_clip_once_an_epoch_and_piper_s_batch_count():
    sizes = lengths()
    sampler = LengthBucketBatchSampler(sizes, 16, drop_last=True, seed=1, pool=4)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 203 // 16
    flat = [i for batch in batches for i in batch]
    assert len(flat) == len(set(flat)) == 12 * 16 and all(len(b) == 16 for b in batches)
    keep_all = LengthBucketBatchSampler(sizes, 16, drop_last=False, seed=1)
    assert sorted(i for b in keep_all for i in b) == list(range(203)) and len(keep_all) == 13


def test_batches_hold_similar_lengths_and_change_each_epoch():
    sizes = lengths()
    sampler = LengthBucketBatchSampler(sizes, 16, drop_last=True, seed=1, pool=8)
    bucketed = sampler.batches(0)
    shuffled = list(range(len(sizes)))
    random.Random(0).shuffle(shuffled)
    random_batches = [shuffled[i:i + 16] for i in range(0, 192, 16)]
    assert padding_share(sizes, bucketed) < padding_share(sizes, random_batches) / 3
    assert sampler.batches(1) != bucketed
    sampler.set_epoch(0)
    assert list(sampler) == bucketed  # an epoch's batches are reproducible (resume, seeds)


def test_the_datamodule_uses_it_only_when_asked(tmp_path):
    from voicelab.core.training.run import snapshot
    from voicelab.core.training.run.config import config_from_dict
    from voicelab.core.training.trainer import datamodule, prepare
    from voicelab.selftest.tiny import build_dataset, tiny_config

    dataset = build_dataset(tmp_path / "joe")
    for bucket in (False, True):
        config = config_from_dict(tiny_config(dataset, bucket_batches=bucket, batch_size=3))
        run_dir = tmp_path / f"run-{bucket}"
        snapshot.snapshot_manifests(dataset, run_dir, validation_share=None, seed=1)
        prepared = prepare.prepare(run_dir, config, shared_store=tmp_path / "store")
        module = datamodule.make_datamodule(run_dir, config, prepared)
        module.setup("fit")
        loader = module.train_dataloader()
        assert isinstance(loader.batch_sampler, LengthBucketBatchSampler) == bucket
        batches = list(loader)
        assert len(batches) == datamodule.steps_per_epoch(prepared, 3) == 3
        assert batches[0].spectrograms.shape[0] == 3


def test_compile_is_skipped_with_a_note_on_the_cpu(tmp_path):
    from voicelab.core.training.run.config import TrainingConfigError, config_from_dict
    from voicelab.core.training.trainer import speedups
    from voicelab.selftest.tiny import tiny_config

    config = config_from_dict(tiny_config(tmp_path, compile="decoder"))

    class Model:
        pass

    model = Model()
    notes = speedups.apply(model, config, "cpu")
    assert len(notes) == 1 and "skipped" in notes[0] and "CUDA" in notes[0]
    assert speedups.apply(model, config_from_dict(tiny_config(tmp_path)), "gpu") == []
    with pytest.raises(TrainingConfigError, match="compile"):
        config_from_dict(tiny_config(tmp_path, compile="everything"))
    with pytest.raises(TrainingConfigError, match="bucket_batches"):
        config_from_dict(tiny_config(tmp_path, bucket_batches="yes"))
