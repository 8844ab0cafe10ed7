"""The fine-tuning recipe's frozen parts (trainer/model.py), on a tiny piper model."""

from __future__ import annotations

import pytest

from tests.support import checkpoint_builders as builders
from voicelab.core.training.run.config import DEFAULT_FREEZE, TrainConfig
from voicelab.core.training.trainer.model import freeze_for_finetune

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")


def prior(model):
    import torch

    ids = torch.tensor([[3, 14, 15, 9, 26, 5, 35, 8]])
    _x, m_p, logs_p, _mask = model.model_g.enc_p(ids, torch.tensor([ids.shape[1]]))
    return m_p, logs_p


def gradients(model):
    return {name: p.grad.abs().sum().item() for name, p in model.model_g.enc_p.named_parameters()
            if p.grad is not None}


def test_the_default_recipe_keeps_the_prior_spread_and_trains_its_means():
    model = builders.tiny_vits_model(seed=3).train()
    frozen = freeze_for_finetune(model, TrainConfig(dataset="/d", base="/base.onnx"))
    assert frozen == list(DEFAULT_FREEZE) == ["posterior_encoder", "prior_spread", "flow", "duration_predictor"]
    for kept in (model.model_g.enc_q, model.model_g.flow, model.model_g.dp):
        assert not any(p.requires_grad for p in kept.parameters())
    assert all(p.requires_grad for p in model.model_g.dec.parameters())

    m_p, logs_p = prior(model)
    logs_p.pow(2).sum().backward()  # what the KL term asks of the spread alone
    assert not any(gradients(model).values())  # … reaches no weight of the text encoder

    model.zero_grad()
    m_p, logs_p = prior(model)
    (m_p.pow(2).sum() + logs_p.pow(2).sum()).backward()
    grads = gradients(model)
    half = model.model_g.enc_p.proj.out_channels // 2
    proj = model.model_g.enc_p.proj.weight.grad
    assert proj[:half].abs().sum() > 0 and proj[half:].abs().sum() == 0  # means learn, spread not
    assert grads["encoder.attn_layers.0.conv_q.weight"] > 0  # the body learns through the means


def test_a_run_from_scratch_or_with_freeze_empty_trains_the_spread():
    for config in (TrainConfig(dataset="/d"), TrainConfig(dataset="/d", base="/b.onnx", freeze=[])):
        model = builders.tiny_vits_model(seed=3).train()
        assert freeze_for_finetune(model, config) == []
        _m_p, logs_p = prior(model)
        logs_p.sum().backward()
        assert model.model_g.enc_p.proj.weight.grad.abs().sum() > 0


def test_the_decoder_can_learn_at_its_own_rate():
    """decoder_learning_rate: the decoder's weights in their own optimizer group, decaying alike."""
    from voicelab.core.training.trainer.model import VoiceLabVits

    model = builders.tiny_vits_model(seed=3).train()
    model.__class__ = VoiceLabVits  # the subclass adds methods only
    model.voicelab_decoder_lr = 1e-3
    (opt_g, opt_d), (sched_g, _sched_d) = model.configure_optimizers()
    rest, decoder = opt_g.param_groups
    assert (rest["lr"], decoder["lr"]) == (model.hparams.learning_rate, 1e-3)
    assert {id(p) for p in decoder["params"]} == {id(p) for p in model.model_g.dec.parameters()}
    assert len(rest["params"]) + len(decoder["params"]) == len(list(model.model_g.parameters()))
    assert {id(p) for p in opt_d.param_groups[0]["params"]} == {id(p) for p in model.model_d.parameters()}
    opt_g.step()
    sched_g.step()
    assert decoder["lr"] / rest["lr"] == pytest.approx(1e-3 / model.hparams.learning_rate)

    model.voicelab_decoder_lr = None  # not set: piper's own single group
    (opt_g, _opt_d), _schedulers = model.configure_optimizers()
    assert len(opt_g.param_groups) == 1
