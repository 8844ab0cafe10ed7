"""Warm-up of an .onnx base's untrained parts: the posterior encoder learns to read the voice
back, the discriminator learns to tell real from generated, and the result is cached."""

from __future__ import annotations

import pytest
import torch

from tests.support import checkpoint_builders as builders
from voicelab.core.training.bases import warmup, warmup_plan

pytestmark = [pytest.mark.usefixtures("one_torch_thread"),
              pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning",
                                         "ignore::DeprecationWarning")]


def _ids(count=6):
    from voicelab.core.training.scoring.previews import phoneme_ids

    return [ids for text in warmup_plan.warmup_sentences(count) for ids in phoneme_ids(text, "en-us")]


def _copy(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_sentences_are_varied_and_stable():
    sentences = warmup_plan.warmup_sentences(64)
    assert len(set(sentences)) == 64 and sentences == warmup_plan.warmup_sentences(64)


def test_warm_up_trains_encoder_and_discriminator_then_comes_from_the_cache(tmp_path):
    torch.manual_seed(0)
    model = builders.tiny_vits_model(seed=3)
    generator_before = {k: v for k, v in _copy(model.model_g).items() if not k.startswith("enc_q.")}
    enc_q, disc = _copy(model.model_g.enc_q), _copy(model.model_d)
    settings = warmup_plan.WarmupSettings(sentences=6, encoder_steps=40, discriminator_steps=30,
                                          batch_size=4, segment_frames=24)
    seen = []
    report = warmup.warm_up(model, _ids(), base_sha256="a" * 64, cache_dir=tmp_path,
                            settings=settings, progress=seen.append, save_every_s=0)
    assert not report["cached"] and report["clips"] == 6 and report["resumed"] is None
    assert report["encoder_loss_last"] < report["encoder_loss_first"]
    assert 1 <= report["discriminator_steps"] <= 30
    assert 0.0 <= report["discriminator_accuracy"] <= 1.0
    assert {"speaking", "encoder", "discriminator"} <= {p.stage for p in seen}
    # the whole warm-up's share only grows, with a step count per stage and a time left
    overall = [p.overall for p in seen]
    assert overall == sorted(overall) and overall[-1] == pytest.approx(1.0, abs=0.05)
    encoder = [p for p in seen if p.stage == "encoder"]
    assert encoder[-1].done == encoder[-1].total == 40 and "step 40 of 40" in encoder[-1].message
    assert any(p.eta_s is not None and p.eta_s > 0 for p in seen)
    after_q, after_d = _copy(model.model_g.enc_q), _copy(model.model_d)
    assert any(not torch.equal(enc_q[k], after_q[k]) for k in enc_q)
    assert any(not torch.equal(disc[k], after_d[k]) for k in disc)
    # the trained voice itself is untouched
    assert all(torch.equal(v, model.model_g.state_dict()[k]) for k, v in generator_before.items())
    assert [p.name for p in tmp_path.glob("*.pt")] == [f"{warmup.cache_key('a' * 64, model, _ids(), settings)}.pt"]

    fresh = builders.tiny_vits_model(seed=4)
    seen.clear()
    again = warmup.warm_up(fresh, _ids(), base_sha256="a" * 64, cache_dir=tmp_path,
                           settings=settings, progress=seen.append)
    assert again["cached"] and [p.stage for p in seen] == ["cached"]
    assert all(torch.equal(after_q[k], fresh.model_g.enc_q.state_dict()[k]) for k in after_q)
    assert all(torch.equal(after_d[k], fresh.model_d.state_dict()[k]) for k in after_d)
    other = warmup.warm_up(builders.tiny_vits_model(seed=4), _ids(), base_sha256="b" * 64,
                           cache_dir=tmp_path, settings=settings)
    assert not other["cached"]  # another voice: its own warm-up


def test_a_stopped_warm_up_keeps_its_work_and_the_next_attempt_goes_on(tmp_path):
    """Stop in the encoder stage, then again: the same result as one uninterrupted warm-up."""
    from voicelab.core.errors import Cancelled
    from voicelab.core.progress import CancelToken

    settings = warmup_plan.WarmupSettings(sentences=6, encoder_steps=30, discriminator_steps=0,
                                          batch_size=4, segment_frames=24)
    straight = builders.tiny_vits_model(seed=3)
    warmup.warm_up(straight, _ids(), base_sha256="d" * 64, cache_dir=tmp_path / "a", settings=settings)

    model = builders.tiny_vits_model(seed=3)
    token = CancelToken()

    def stop_at(step):
        def progress(p):
            if p.stage == "encoder" and p.done >= step:
                token.cancel()
        return progress

    with pytest.raises(Cancelled):
        warmup.warm_up(model, _ids(), base_sha256="d" * 64, cache_dir=tmp_path / "b",
                       settings=settings, progress=stop_at(12), cancel=token)
    partial = list((tmp_path / "b").glob("*.partial.pt"))
    assert len(partial) == 1 and not list((tmp_path / "b").glob("*[0-9a-f].pt"))
    saved = torch.load(partial[0], weights_only=True)["state"]
    assert len(saved["corpus"]) == 6 and saved["encoder_step"] == 12

    resumed = builders.tiny_vits_model(seed=3)  # a new process: nothing but the files
    seen = []
    report = warmup.warm_up(resumed, _ids(), base_sha256="d" * 64, cache_dir=tmp_path / "b",
                            settings=settings, progress=seen.append)
    assert report["resumed"]["encoder_step"] == 12 and report["resumed"]["sentences"] == 6
    assert min(p.done for p in seen if p.stage == "encoder") == 13  # went on, did not start over
    assert not any(p.stage == "speaking" and p.done < 6 for p in seen)
    assert not list((tmp_path / "b").glob("*.partial.pt"))  # finished: only the cache stays
    expected, got = _copy(straight.model_g.enc_q), _copy(resumed.model_g.enc_q)
    assert all(torch.allclose(expected[k], got[k], atol=1e-5) for k in expected)


def test_a_damaged_partial_warm_up_starts_over(tmp_path):
    model = builders.tiny_vits_model(seed=3)
    settings = warmup_plan.WarmupSettings(sentences=4, encoder_steps=5, discriminator_steps=0, batch_size=2,
                                          segment_frames=24)
    key = warmup.cache_key("e" * 64, model, _ids(4), settings)
    (tmp_path / f"{key}.partial.pt").write_bytes(b"torn")
    report = warmup.warm_up(model, _ids(4), base_sha256="e" * 64, cache_dir=tmp_path, settings=settings)
    assert not report["cached"] and report["resumed"] is None and report["clips"] == 4
    assert not (tmp_path / f"{key}.partial.pt").exists()


def test_a_damaged_cache_file_is_replaced(tmp_path):
    model = builders.tiny_vits_model(seed=3)
    settings = warmup_plan.WarmupSettings(sentences=4, encoder_steps=5, discriminator_steps=5, batch_size=2,
                                          segment_frames=24)
    key = warmup.cache_key("c" * 64, model, _ids(4), settings)
    (tmp_path / f"{key}.pt").write_bytes(b"not a checkpoint")
    report = warmup.warm_up(model, _ids(4), base_sha256="c" * 64, cache_dir=tmp_path, settings=settings)
    assert not report["cached"]
    assert torch.load(tmp_path / f"{key}.pt", weights_only=True)["report"]["clips"] == 4


def test_cache_folder_is_the_workspace_cache(tmp_path):
    assert warmup.cache_folder(tmp_path / "ws" / "runs" / "r1") == (tmp_path / "ws" / "cache" / "warmup").resolve()
