"""The warm-up's three stages: the voice speaks, its posterior encoder learns to read that
speech back, its discriminator learns to tell the voice from the decoder (warmup.py says why).

Each stage goes on from the `state` a stopped attempt saved, reports through a `Tracker`
and calls `checkpoint` now and then, so a stop keeps the work done.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from voicelab.core.progress import CancelToken
from voicelab.core.training.bases.warmup_plan import Tracker, WarmupSettings


def _spectrogram(model: Any, audio: Any) -> Any:
    from piper.train.vits.mel_processing import spectrogram_torch

    hp = model.hparams
    return spectrogram_torch(audio, hp.filter_length, hp.sample_rate, hp.hop_length, hp.win_length,
                             center=False)


def synthesize_corpus(model: Any, ids: Sequence[Sequence[int]], settings: WarmupSettings,
                      corpus: list[dict[str, Any]], track: Tracker, cancel: CancelToken | None,
                      checkpoint: Callable[[], None]) -> list[dict[str, Any]]:
    """The voice speaking each id list (appended to `corpus`, which may hold earlier ones):
    audio, spectrogram, latent z and the prior's log-std. Each sentence has its own seed, so
    a resumed corpus is the one an uninterrupted warm-up makes."""
    import torch

    generator = model.model_g
    device = next(generator.parameters()).device
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.no_grad(), torch.random.fork_rng(devices=devices):
        for index in range(len(corpus), len(ids)):
            if cancel is not None:
                cancel.raise_if_cancelled()
            track.step("speaking", index, f"The base voice speaks sentence {index + 1} of {len(ids)}")
            torch.manual_seed(settings.seed * 1000 + index)
            sentence = ids[index]
            x = torch.tensor([list(sentence)], dtype=torch.long, device=device)
            lengths = torch.tensor([len(sentence)], dtype=torch.long, device=device)
            audio, _attn, _mask, (z, _z_p, _m_p, logs_p) = generator.infer(
                x, lengths, noise_scale=0.667, length_scale=1.0, noise_scale_w=0.8)
            audio = audio[0, 0].float().clamp(-1.0, 1.0)
            if settings.level == "peak":
                audio = audio * (0.95 / audio.abs().max().clamp_min(1e-3))
            spec = _spectrogram(model, audio[None])[0]
            frames = min(int(spec.shape[-1]), int(z.shape[-1]))
            corpus.append({"audio": audio[: frames * model.hparams.hop_length].cpu(),
                           "spec": spec[:, :frames].cpu(), "z": z[0, :, :frames].float().cpu(),
                           "logs_p": logs_p[0, :, :frames].float().cpu()})
            checkpoint()
    track.step("speaking", len(ids), "The base voice has spoken")
    return corpus


def _windows(corpus: list[dict[str, Any]], count: int, frames: int, generator: Any,
             device: Any) -> dict[str, Any]:
    """`count` random windows of `frames` frames (shorter clips whole, zero-padded, masked)."""
    import torch

    picks = torch.randint(len(corpus), (count,), generator=generator).tolist()
    spec = torch.zeros((count, corpus[0]["spec"].shape[0], frames))
    z = torch.zeros((count, corpus[0]["z"].shape[0], frames))
    logs_p = torch.zeros_like(z)
    lengths = torch.zeros(count, dtype=torch.long)
    for row, index in enumerate(picks):
        item = corpus[index]
        length = int(item["spec"].shape[-1])
        start = int(torch.randint(max(1, length - frames + 1), (1,), generator=generator))
        end = min(length, start + frames)
        spec[row, :, : end - start] = item["spec"][:, start:end]
        z[row, :, : end - start] = item["z"][:, start:end]
        logs_p[row, :, : end - start] = item["logs_p"][:, start:end]
        lengths[row] = end - start
    return {"spec": spec.to(device), "z": z.to(device), "logs_p": logs_p.to(device),
            "lengths": lengths.to(device)}


def distil_posterior(model: Any, corpus: list[dict[str, Any]], settings: WarmupSettings,
                     state: dict[str, Any], track: Tracker, cancel: CancelToken | None,
                     checkpoint: Callable[[], None]) -> dict[str, float]:
    """Train `enc_q` alone to read the voice's audio back into its latents (module doc, 2).

    Continues from `state` ("encoder_step", "encoder_optimizer", "encoder_loss_first") and
    keeps it current, so a saved state resumes where it stopped.
    """
    import torch

    enc_q = model.model_g.enc_q
    device = next(enc_q.parameters()).device
    enc_q.train()
    optimizer = torch.optim.AdamW(enc_q.parameters(), lr=settings.encoder_lr)
    if state.get("encoder_optimizer"):
        optimizer.load_state_dict(state["encoder_optimizer"])
    steps = settings.encoder_steps
    value = state.get("encoder_loss_last", 0.0)
    for step in range(int(state.get("encoder_step", 0)), steps):
        if cancel is not None:
            cancel.raise_if_cancelled()
        for group in optimizer.param_groups:  # a cosine decay: move fast, then settle
            group["lr"] = settings.encoder_lr * (0.05 + 0.475 * (1 + math.cos(math.pi * step / max(1, steps))))
        rng = torch.Generator().manual_seed(settings.seed * 100_003 + step)
        batch = _windows(corpus, settings.batch_size, settings.segment_frames, rng, device)
        _z, m_q, logs_q, mask = enc_q(batch["spec"], batch["lengths"])
        count = mask.sum() * m_q.shape[1]
        logs_target = batch["logs_p"] + math.log(settings.posterior_sharpness)
        loss = (((m_q - batch["z"]) ** 2 + (logs_q - logs_target) ** 2) * mask).sum() / count
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        value = float(loss.detach())
        state.setdefault("encoder_loss_first", value)
        state.update(encoder_step=step + 1, encoder_loss_last=value,
                     encoder_optimizer=optimizer.state_dict())
        track.step("encoder", step + 1, f"Teaching the posterior encoder: step {step + 1} of {steps}, "
                                        f"loss {value:.3f}")
        checkpoint()
    return {"encoder_loss_first": float(state.get("encoder_loss_first", value)),
            "encoder_loss_last": float(value), "encoder_steps": steps}


def warm_discriminator(model: Any, corpus: list[dict[str, Any]], settings: WarmupSettings,
                       state: dict[str, Any], track: Tracker, cancel: CancelToken | None,
                       checkpoint: Callable[[], None]) -> dict[str, float]:
    """Train the discriminator with the generator frozen (module doc, 3); resumable as above."""
    import torch
    from piper.train.vits import commons
    from piper.train.vits.losses import discriminator_loss

    generator, discriminator = model.model_g, model.model_d
    hop = int(model.hparams.hop_length)
    frames = max(1, int(model.hparams.segment_size) // hop)
    usable = [item for item in corpus if item["spec"].shape[-1] > frames]
    if not usable or settings.discriminator_steps <= 0:
        return {"discriminator_steps": 0}
    device = next(discriminator.parameters()).device
    optimizer = torch.optim.AdamW(discriminator.parameters(), lr=settings.discriminator_lr,
                                  betas=tuple(getattr(model.hparams, "betas_d", (0.8, 0.99))))
    if state.get("discriminator_optimizer"):
        optimizer.load_state_dict(state["discriminator_optimizer"])
    discriminator.train()
    generator.eval()
    accuracy = float(state.get("discriminator_accuracy", 0.0))
    steps = settings.discriminator_steps
    for step in range(int(state.get("discriminator_step", 0)), steps):
        if accuracy >= settings.target_accuracy and step >= 10:
            break
        if cancel is not None:
            cancel.raise_if_cancelled()
        rng = torch.Generator().manual_seed(settings.seed * 100_019 + step)
        picks = torch.randint(len(usable), (min(settings.batch_size, len(usable)),), generator=rng).tolist()
        width = max(item["spec"].shape[-1] for item in (usable[i] for i in picks))
        spec = torch.zeros((len(picks), usable[0]["spec"].shape[0], width), device=device)
        audio = torch.zeros((len(picks), 1, width * hop), device=device)
        lengths = torch.zeros(len(picks), dtype=torch.long, device=device)
        for row, index in enumerate(picks):
            item = usable[index]
            spec[row, :, : item["spec"].shape[-1]] = item["spec"]
            audio[row, 0, : item["audio"].shape[-1]] = item["audio"]
            lengths[row] = item["spec"].shape[-1]
        with torch.no_grad():
            z, _m, _logs, _mask = generator.enc_q(spec, lengths)
            z_slice, starts = commons.rand_slice_segments(z, lengths, frames)
            fake = generator.dec(z_slice)
            real = commons.slice_segments(audio, starts * hop, frames * hop)
        real_scores, fake_scores, _, _ = discriminator(real, fake)
        loss, _r, _g = discriminator_loss(real_scores, fake_scores)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():  # LSGAN targets: 1 real, 0 generated; right = nearer its target
            right = [((r.mean(dim=-1) > 0.5).float().mean() + (f.mean(dim=-1) < 0.5).float().mean()) / 2
                     for r, f in zip(real_scores, fake_scores)]
            accuracy = float(torch.stack(right).mean())
        state.update(discriminator_step=step + 1, discriminator_accuracy=accuracy,
                     discriminator_loss=float(loss.detach()),
                     discriminator_optimizer=optimizer.state_dict())
        track.step("discriminator", step + 1, f"Teaching the discriminator: step {step + 1} of "
                                              f"{steps}, tells {accuracy:.0%} apart")
        checkpoint()
    return {"discriminator_steps": int(state.get("discriminator_step", 0)),
            "discriminator_accuracy": accuracy,
            "discriminator_loss": float(state.get("discriminator_loss", 0.0))}
