"""piper's `VitsModel`, as VoiceLab trains it.

Only the trainer process imports this module (from inside `runner.run`), so piper.train and
Lightning load there and never in the GUI. The subclass changes three things and keeps
piper's losses, networks and training step:

* gradient accumulation: piper optimizes manually (two optimizers), and Lightning refuses
  `accumulate_grad_batches` for manual optimization, so the step accumulates itself when
  asked (`accumulate > 1`); with 1 it is piper's own `training_step`, untouched;
* the `adamw8bit` optimizer (bitsandbytes, CUDA only) in place of torch's AdamW;
* the learning-rate decay: Lightning does not step schedulers under manual optimization, so
  piper 1.8's ExponentialLR never decays; stepping it once per epoch restores the decay
  VITS (and the original piper) train with.

`build_model` applies the quality, the `model` overrides and VoiceLab's fixed choices
(MOS predictor off: it downloads a model through torch.hub).
"""

from __future__ import annotations

import math
from typing import Any

from piper.train.vits.lightning import VitsModel

from voicelab.core.errors import VoiceLabError
from voicelab.core.training.run.config import FREEZABLE, TrainConfig


class OptimizerUnavailable(VoiceLabError):
    """The chosen optimizer cannot run here (adamw8bit without CUDA or bitsandbytes)."""


class VoiceLabVits(VitsModel):
    """piper's VitsModel with accumulation, adamw8bit and per-epoch learning-rate decay."""

    voicelab_accumulate: int = 1
    voicelab_optimizer: str = "adamw"
    #: (loss_g, loss_d) of the latest training batch, detached: the NaN guard reads them.
    voicelab_losses: tuple | None = None

    def _compute_loss(self, batch):
        loss_g, loss_d, metrics = super()._compute_loss(batch)
        if self.training:
            self.voicelab_losses = (loss_g.detach(), loss_d.detach())
        return loss_g, loss_d, metrics

    def training_step(self, batch, batch_idx):
        if self.voicelab_accumulate <= 1:
            return super().training_step(batch, batch_idx)
        return self._accumulating_step(batch, batch_idx)

    def _accumulating_step(self, batch, batch_idx):
        """piper's step over `accumulate` batches: gradients add up, optimizers step once."""
        opt_g, opt_d = self.optimizers()
        loss_g, loss_d, metrics = self._compute_loss(batch)
        self.log("loss_g", loss_g, batch_size=self.batch_size)
        self.log_dict({f"train_{name}": value for name, value in metrics.items()},
                      batch_size=self.batch_size)
        self.log("loss_d", loss_d, batch_size=self.batch_size)
        share = 1.0 / self.voicelab_accumulate
        # The generator loss also reaches the discriminator's weights; piper clears those
        # gradients before the discriminator's backward, which accumulating cannot do, so the
        # generator's backward is limited to the generator's weights.
        self.manual_backward(loss_g * share, inputs=list(self.model_g.parameters()))
        self.manual_backward(loss_d * share)
        last = (batch_idx + 1) % self.voicelab_accumulate == 0 or self.trainer.is_last_batch
        if last:
            opt_g.step()
            opt_d.step()
            opt_g.zero_grad()
            opt_d.zero_grad()

    #: The decoder's learning rate when it differs from the rest of the generator's.
    voicelab_decoder_lr: float | None = None

    def configure_optimizers(self):
        import torch

        optimizers, schedulers = super().configure_optimizers()
        if self.voicelab_decoder_lr is None and self.voicelab_optimizer != "adamw8bit":
            return optimizers, schedulers
        adamw = _bitsandbytes().optim.AdamW8bit if self.voicelab_optimizer == "adamw8bit" \
            else torch.optim.AdamW
        opt_g, opt_d = optimizers
        groups = (generator_groups(self.model_g, opt_g.param_groups[0]["lr"], self.voicelab_decoder_lr),
                  [{"params": [p for g in opt_d.param_groups for p in g["params"]]}])
        replaced = [adamw(params, lr=like["lr"], betas=like["betas"], eps=like["eps"])
                    for params, like in zip(groups, (opt_g.param_groups[0], opt_d.param_groups[0]))]
        decays = (self.hparams.lr_decay, self.hparams.lr_decay_d)
        return replaced, [torch.optim.lr_scheduler.ExponentialLR(o, gamma=d)
                          for o, d in zip(replaced, decays)]

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            scheduler.step()


def generator_groups(generator: Any, lr: float, decoder_lr: float | None) -> list[dict]:
    """The generator's weights as optimizer groups: the decoder at its own rate when it has one.

    The rest comes first, so `current_lr` (group 0) reports the run's learning rate.
    """
    if decoder_lr is None:
        return [{"params": list(generator.parameters()), "lr": lr}]
    decoder = list(generator.dec.parameters())
    ids = {id(p) for p in decoder}
    rest = [p for p in generator.parameters() if id(p) not in ids]
    return [{"params": rest, "lr": lr}, {"params": decoder, "lr": decoder_lr}]


def _bitsandbytes() -> Any:
    import torch

    if not torch.cuda.is_available():
        raise OptimizerUnavailable("The adamw8bit optimizer runs only on a CUDA GPU, and none is "
                                   "available. Choose optimizer adamw.")
    try:
        import bitsandbytes
    except ImportError as error:
        raise OptimizerUnavailable(
            "The adamw8bit optimizer needs the bitsandbytes package, which is not installed "
            "(pip install 'voicelab[cuda]' or pip install bitsandbytes). Or choose optimizer adamw."
        ) from error
    return bitsandbytes


def check_optimizer(config: TrainConfig) -> None:
    """Fail before training starts when the optimizer cannot run here."""
    if config.optimizer == "adamw8bit":
        _bitsandbytes()


def build_model(config: TrainConfig, *, num_symbols: int) -> VoiceLabVits:
    # piper caches its mel filter bank by fmax, dtype and device only: a model with another
    # FFT size built later in the same process (batch probe, tests, a notebook) would
    # multiply its spectrograms by the first model's filters and fail. Start clean.
    from piper.train.vits import mel_processing

    mel_processing.mel_basis.clear()
    hparams: dict[str, Any] = config.model_hparams()
    model = VoiceLabVits(batch_size=config.batch_size, sample_rate=config.sample_rate,
                         num_symbols=num_symbols, num_speakers=1,
                         learning_rate=config.learning_rate, mos_metric=None,
                         quality=config.quality, **hparams)
    model.voicelab_accumulate = config.accumulate_grad_batches
    model.voicelab_optimizer = config.optimizer
    model.voicelab_decoder_lr = config.decoder_learning_rate
    return model


def freeze_for_finetune(model: Any, config: TrainConfig) -> list[str]:
    """Keep the generator parts `config.freeze` names as the base has them; returns them.

    Why the default freezes the posterior encoder (CPU probes, joe medium, batch 4–16, lr
    2e-4; pitch spread in semitones over preview sentences, joe's ~2.3–2.8):

    * with the posterior trained, its latents drift toward what the fresh decoder finds easy
      and the decoder follows them into a buzz at its own frame rate (a +5 semitone target:
      86 Hz, spread 0.44 at step 150). A posterior warmed sharp
      (warmup_plan.WarmupSettings.posterior_sharpness) and then frozen moved the pitch most of
      the way (106–111 Hz of the target's 115) with a spread of ~2.0–2.3;
    * the prior path flattens a voice even on its own speech (joe on joe: ~1.5 by step 150
      with every part trained), the text encoder's share most, so freezing it too was tried:
      the likeness still rose (0.43 at step 180) but the pitch stayed where joe's is (86→90
      Hz) and the spread fell to 1.3–1.9: the text encoder is where a new speaker's pitch
      is learnt. It stays a setting (`freeze: [posterior_encoder, text_encoder]`).

    * and by default the prior's spread (`keep_prior_spread`): with it trained, the KL term
      shrank it toward the sharp posterior's (joe's mean σ_p 0.80 → 0.16 by step 600) and
      the voice went monotone on its own speech and on a new one alike;
    * and by default the flow and the duration predictor, which flattened what was left:
      with every other part trained at 2e-5 (the default recipe before this one), joe on
      joe's own speech went from a spread of 2.82 to 2.09 semitones in 600 steps. Each
      trained part put alone into the base (8 sentences, same noise): the decoder kept the
      spread (2.78); the text encoder, flow and duration predictor together took it all
      (2.08), each a share (2.58, 2.62, 2.44). On a new speaker (+5 semitones) the same swap
      showed what each part is for: the text encoder moves the pitch (87.6 -> 103.9 Hz
      alone), the decoder the likeness (0.27 of the run's 0.34 alone); the duration
      predictor moved neither, the flow only with the decoder. With both kept, joe on joe
      stayed at 2.89 at step 240 (2.35 before) and the new speaker moved as far. The base's
      duration predictor is a rebuilt one too: its posterior flows are not in the .onnx.

    Training from scratch (no base) freezes nothing: frozen random parts would learn nothing.
    """
    if not config.base:
        return []
    frozen = []
    for name in config.freeze:
        if name == "prior_spread":
            keep_prior_spread(model.model_g.enc_p)
            frozen.append(name)
            continue
        module = getattr(model.model_g, FREEZABLE[name], None)
        if module is None:
            continue
        for parameter in module.parameters():
            parameter.requires_grad_(False)
        frozen.append(name)
    return frozen


def parameter_count(model: Any) -> int:
    """All the model's weights, the frozen ones included (the started event names those)."""
    return int(sum(p.numel() for p in model.parameters()))


def current_lr(trainer: Any) -> float | None:
    try:
        lr = float(trainer.optimizers[0].param_groups[0]["lr"])
    except (IndexError, KeyError, AttributeError, TypeError):
        return None
    return lr if math.isfinite(lr) else None


def keep_prior_spread(text_encoder: Any) -> None:
    """Train the prior's means, never its spread: the KL term's gradient is cut from the
    text encoder's log-std output (`enc_p.proj`'s second half), so `logs_p` stays the base's.

    Why: the prior's spread is how much the voice varies when it speaks (inference draws
    z = m_p + e^logs_p · noise_scale · ε), and the KL term pulls it toward the spread of
    the posterior's latents around the prior. A base rebuilt from an .onnx has a posterior
    warmed from its own speech (sharp, frozen), and that spread is small, so the prior
    shrank with it: joe's mean σ_p fell from 0.80 to 0.16 in 600 CPU-bench steps, on joe's
    own speech and on a new speaker alike, and the voice went monotone (pitch spread 2.4 →
    1.5 st) while every loss fell.
    """
    import torch

    proj = text_encoder.proj
    half = proj.out_channels // 2

    def detach_spread(_module: Any, _inputs: Any, stats: Any) -> Any:
        return torch.cat([stats[:, :half], stats[:, half:].detach()], dim=1)

    proj.register_forward_hook(detach_spread)
