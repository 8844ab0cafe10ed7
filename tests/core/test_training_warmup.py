"""Warm-up of an .onnx base's untrained parts: the posterior encoder learns to read the voice
back, the discriminator learns to tell real from generated, and the result is cached."""

from __future__ import annotations

import pytest
import torch

from tests import checkpoint_builders as builders
from voicelab.core.training import warmup

pytestmark = [pytest.mark.usefixtures("one_torch_thread"),
              pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning",
                                         "ignore::DeprecationWarning")]


def _ids(count=6):
    from voicelab.core.training.previews import phoneme_ids

    return [ids for text in warmup.warmup_sentences(count) for ids in phoneme_ids(text, "en-us")]


def _copy(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_sentences_are_varied_and_stable():
    sentences = warmup.warmup_sentences(64)
    assert len(set(sentences)) == 64 and sentences == warmup.warmup_sentences(64)


def test_warm_up_trains_encoder_and_discriminator_then_comes_from_the_cache(tmp_path):
    torch.manual_seed(0)
    model = builders.tiny_vits_model(seed=3)
    generator_before = {k: v for k, v in _copy(model.model_g).items() if not k.startswith("enc_q.")}
    enc_q, disc = _copy(model.model_g.enc_q), _copy(model.model_d)
    settings = warmup.WarmupSettings(sentences=6, encoder_steps=40, discriminator_steps=30,
                                     batch_size=4)
    stages = []
    report = warmup.warm_up(model, _ids(), base_sha256="a" * 64, cache_dir=tmp_path,
                            settings=settings, progress=lambda s, d, t, m: stages.append(s))
    assert not report["cached"] and report["clips"] == 6
    assert report["encoder_loss_last"] < report["encoder_loss_first"]
    assert 1 <= report["discriminator_steps"] <= 30
    assert 0.0 <= report["discriminator_accuracy"] <= 1.0
    assert {"speaking", "encoder", "discriminator"} <= set(stages)
    after_q, after_d = _copy(model.model_g.enc_q), _copy(model.model_d)
    assert any(not torch.equal(enc_q[k], after_q[k]) for k in enc_q)
    assert any(not torch.equal(disc[k], after_d[k]) for k in disc)
    # the trained voice itself is untouched
    assert all(torch.equal(v, model.model_g.state_dict()[k]) for k, v in generator_before.items())
    assert len(list(tmp_path.glob("*.pt"))) == 1

    fresh = builders.tiny_vits_model(seed=4)
    stages.clear()
    again = warmup.warm_up(fresh, _ids(), base_sha256="a" * 64, cache_dir=tmp_path,
                           settings=settings, progress=lambda s, d, t, m: stages.append(s))
    assert again["cached"] and stages == ["cached"]
    assert all(torch.equal(after_q[k], fresh.model_g.enc_q.state_dict()[k]) for k in after_q)
    assert all(torch.equal(after_d[k], fresh.model_d.state_dict()[k]) for k in after_d)
    other = warmup.warm_up(builders.tiny_vits_model(seed=4), _ids(), base_sha256="b" * 64,
                           cache_dir=tmp_path, settings=settings)
    assert not other["cached"]  # another voice: its own warm-up


def test_a_damaged_cache_file_is_replaced(tmp_path):
    model = builders.tiny_vits_model(seed=3)
    settings = warmup.WarmupSettings(sentences=4, encoder_steps=5, discriminator_steps=5, batch_size=2)
    key = warmup.cache_key("c" * 64, model, _ids(4), settings)
    (tmp_path / f"{key}.pt").write_bytes(b"not a checkpoint")
    report = warmup.warm_up(model, _ids(4), base_sha256="c" * 64, cache_dir=tmp_path, settings=settings)
    assert not report["cached"]
    assert torch.load(tmp_path / f"{key}.pt", weights_only=True)["report"]["clips"] == 4


def test_cache_folder_is_the_workspace_cache(tmp_path):
    assert warmup.cache_folder(tmp_path / "ws" / "runs" / "r1") == (tmp_path / "ws" / "cache" / "warmup").resolve()
