"""The batch-size probe: its search, its CPU answer and its command."""

from __future__ import annotations

import pytest

from voicelab.core.errors import Cancelled
from voicelab.core.progress import CancelToken
from voicelab.core.training.run.config import config_from_dict
from voicelab.core.training.trainer import batch_probe
from voicelab.selftest.tiny import tiny_config


class FakeOOM(RuntimeError):
    pass


def fake_gpu(per_utterance: float, oom_above: float):
    """A step whose peak grows with the batch and that runs out of memory past a size."""
    calls = []

    def step(size):
        calls.append(size)
        if size > oom_above:
            raise FakeOOM("CUDA out of memory")
        return 1e9 + per_utterance * size
    return step, calls


def test_probe_returns_the_largest_size_under_the_limit():
    step, calls = fake_gpu(per_utterance=1e8, oom_above=1000)
    best, tried = batch_probe.probe([8, 16, 32, 64], step, limit_bytes=5e9,
                                    is_oom=lambda e: isinstance(e, FakeOOM))
    assert best == 32 and calls == [8, 16, 32, 64]  # 64 peaks at 7.4 GB > 5 GB
    assert [size for size, _ in tried] == [8, 16, 32, 64] and tried[-1][1] > 5e9 / 2**30


def test_probe_stops_at_the_first_out_of_memory():
    step, calls = fake_gpu(per_utterance=1e6, oom_above=20)
    best, tried = batch_probe.probe([4, 8, 16, 24, 32], step, limit_bytes=1e12,
                                    is_oom=lambda e: isinstance(e, FakeOOM))
    assert best == 16 and calls == [4, 8, 16, 24] and tried[-1] == (24, None)


def test_probe_lets_real_errors_through_and_honours_cancel():
    def broken(size):
        raise ValueError("shape mismatch")

    with pytest.raises(ValueError):
        batch_probe.probe([4], broken, 1e9, is_oom=lambda e: False)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        batch_probe.probe([4], lambda size: 1.0, 1e9, is_oom=lambda e: False, cancel=token)


def test_on_the_cpu_there_is_no_probe(tmp_path):
    config = config_from_dict(tiny_config(tmp_path))
    suggestion = batch_probe.suggest_batch_size(config, device="cpu")
    assert suggestion.batch_size is None and suggestion.device == "cpu"
    assert "CPU" in suggestion.message


def test_longest_utterance_reads_prepared_entries():
    from voicelab.core.training.trainer.prepare import Prepared

    prepared = Prepared(train=[{"frames": 90, "phonemes": 30}, {"frames": 120, "phonemes": 25}],
                        validation=[])
    assert batch_probe.longest_utterance(prepared) == (120, 30)


def test_cli_suggest_batch_on_the_cpu(capsys, voicelab_home):
    from voicelab.cli.main import main

    code = main(["train", "suggest-batch", "--set", "device=cpu"])
    assert code == 0
    assert "CPU" in capsys.readouterr().out


def test_cli_suggest_batch_json_for_the_gui(capsys, voicelab_home):
    import json

    from voicelab.cli.main import main

    assert main(["train", "suggest-batch", "--json", "--set", "device=cpu"]) == 0
    answer = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert answer["batch_size"] is None and answer["device"] == "cpu" and answer["tried"] == []


def test_the_probe_step_is_piper_s_training_step(tmp_path):
    """The GPU probe's step, run on the CPU: synthetic batch, both losses, both updates."""
    import torch

    config = config_from_dict(tiny_config(tmp_path))
    from voicelab.selftest.tiny import tiny_discriminator

    run_step = batch_probe._step_runner(config, 256, frames=40, phonemes=12, device="cpu",
                                        model_hook=tiny_discriminator)
    try:
        assert run_step(2) == 0.0
        assert run_step(3) == 0.0  # a second size reuses the model and optimizer state
    finally:
        run_step.close()
    assert torch.get_default_dtype() == torch.float32
