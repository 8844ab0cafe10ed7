"""Warming the parts of a voice base that its .onnx file never held, before fine-tuning.

A base rebuilt from an ONNX voice has a trained text encoder, flow and decoder, but a random
posterior encoder (`enc_q`) and discriminator. Trained from there, the decoder first sees
latents it cannot use (mel L1 2.2 at step 1 against 1.0 after this warm-up, in the GPU
probe) and is judged by a discriminator that knows nothing, so the first hundreds of steps
damage the voice instead of adapting it. Both parts are warmed from the voice's own speech:

1. the voice speaks `sentences` (its own generator, piper's inference noise), keeping the
   latent `z` each clip was decoded from and the prior's log-std at every frame;
2. `enc_q` learns to read that audio's linear spectrogram back: its mean is regressed on
   `z` and its log-std on the prior's. Not the Gaussian likelihood of `z`: a few latent
   channels of a real voice carry large values the spectrogram cannot predict, and the
   likelihood fit answered with huge variances that blew the first KL up to 1e10;
3. the discriminator trains with the generator frozen (real: the voice's clips; generated:
   the decoder's output from `enc_q`'s latents) until it tells them apart on most
   segments, or for at most `discriminator_steps`.

The result depends only on the voice, the model's shape and these settings, so it is cached
per voice (`cache_dir/<key>.pt`, loaded with `weights_only=True`): the second run from the
same voice starts at once.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from voicelab.core.progress import CancelToken, ProgressCallback, no_progress

CACHE_VERSION = 1
#: The phrases the voice speaks to teach its own encoder: varied, plain, no rare words.
_SUBJECTS = ("The old man", "My sister", "A small child", "The teacher", "Our neighbour",
             "The doctor", "Every student", "That young woman")
_VERBS = ("carried", "painted", "found", "described", "remembered", "opened", "wanted", "noticed")
_OBJECTS = ("a heavy wooden box", "the blue door near the station", "three letters from home",
            "a quiet room above the bakery", "the bright morning light", "an umbrella in the rain",
            "the map of the northern islands", "a cup of hot tea")
_ENDINGS = (".", " yesterday.", " again?", " before dinner.", " with great care.", "!")


def warmup_sentences(count: int) -> List[str]:
    """`count` different sentences, always the same ones for the same count."""
    sentences = []
    for index in range(count):
        sentences.append(f"{_SUBJECTS[index % 8]} {_VERBS[(index * 3 + index // 8) % 8]} "
                         f"{_OBJECTS[(index * 5 + index // 64) % 8]}{_ENDINGS[index % 6]}")
    return sentences


@dataclass(frozen=True)
class WarmupSettings:
    sentences: int = 64
    encoder_steps: int = 400
    discriminator_steps: int = 300
    batch_size: int = 8
    encoder_lr: float = 1e-3
    discriminator_lr: float = 2e-4
    #: "raw": the voice's own output level; "peak": each clip scaled to peak 0.95 first.
    level: str = "raw"
    #: The discriminator is warm when it classifies this share of segments right.
    target_accuracy: float = 0.9
    seed: int = 1234


def cache_folder(run_dir: Path) -> Path:
    """`<workspace>/cache/warmup` for a run in `<workspace>/runs/`, else the run's own cache."""
    run_dir = Path(run_dir).resolve()
    if run_dir.parent.name == "runs":
        return run_dir.parent.parent / "cache" / "warmup"
    return run_dir / "cache" / "warmup"


def _fingerprint(module: Any) -> List[Any]:
    return [[key, list(value.shape)] for key, value in module.state_dict().items()]


def cache_key(base_sha256: str, model: Any, ids: Sequence[Sequence[int]], settings: WarmupSettings) -> str:
    payload = json.dumps({"v": CACHE_VERSION, "base": base_sha256, "settings": asdict(settings),
                          "g": _fingerprint(model.model_g.enc_q), "d": _fingerprint(model.model_d),
                          "ids": [list(map(int, item)) for item in ids]}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _spectrogram(model: Any, audio: Any) -> Any:
    from piper.train.vits.mel_processing import spectrogram_torch

    hp = model.hparams
    return spectrogram_torch(audio, hp.filter_length, hp.sample_rate, hp.hop_length, hp.win_length,
                             center=False)


def synthesize_corpus(model: Any, ids: Sequence[Sequence[int]], settings: WarmupSettings,
                      report: ProgressCallback, cancel: Optional[CancelToken]) -> List[Dict[str, Any]]:
    """The voice speaking each id list: audio, spectrogram, latent z and the prior's log-std."""
    import torch

    generator = model.model_g
    device = next(generator.parameters()).device
    corpus = []
    with torch.no_grad(), torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(settings.seed)
        for index, sentence in enumerate(ids):
            if cancel is not None:
                cancel.raise_if_cancelled()
            report(index, len(ids), f"The base voice speaks warm-up sentence {index + 1} of {len(ids)}")
            x = torch.tensor([list(sentence)], dtype=torch.long, device=device)
            lengths = torch.tensor([len(sentence)], dtype=torch.long, device=device)
            audio, _attn, _mask, (z, _z_p, _m_p, logs_p) = generator.infer(
                x, lengths, noise_scale=0.667, length_scale=1.0, noise_scale_w=0.8)
            audio = audio[0, 0].float().clamp(-1.0, 1.0)
            if settings.level == "peak":
                audio = audio * (0.95 / audio.abs().max().clamp_min(1e-3))
            spec = _spectrogram(model, audio[None])[0]
            frames = min(int(spec.shape[-1]), int(z.shape[-1]))
            if frames < 4:
                continue
            corpus.append({"audio": audio[: frames * model.hparams.hop_length], "spec": spec[:, :frames],
                           "z": z[0, :, :frames].float(), "logs_p": logs_p[0, :, :frames].float()})
    return corpus


def _batch(corpus: List[Dict[str, Any]], indices: Sequence[int]) -> Dict[str, Any]:
    import torch

    items = [corpus[i] for i in indices]
    frames = max(item["spec"].shape[-1] for item in items)
    device = items[0]["spec"].device

    def stack(name: str) -> Any:
        first = items[0][name]
        out = torch.zeros((len(items), first.shape[0], frames), device=device)
        for row, item in enumerate(items):
            out[row, :, : item[name].shape[-1]] = item[name]
        return out

    lengths = torch.tensor([item["spec"].shape[-1] for item in items], dtype=torch.long, device=device)
    return {"spec": stack("spec"), "z": stack("z"), "logs_p": stack("logs_p"), "lengths": lengths}


def distil_posterior(model: Any, corpus: List[Dict[str, Any]], settings: WarmupSettings,
                     report: ProgressCallback, cancel: Optional[CancelToken]) -> Dict[str, float]:
    """Train `enc_q` alone to read the voice's audio back into its latents (module doc, 2)."""
    import torch

    enc_q = model.model_g.enc_q
    enc_q.train()
    optimizer = torch.optim.AdamW(enc_q.parameters(), lr=settings.encoder_lr)
    rng = torch.Generator().manual_seed(settings.seed)
    first = last = None
    for step in range(settings.encoder_steps):
        if cancel is not None:
            cancel.raise_if_cancelled()
        indices = torch.randint(len(corpus), (min(settings.batch_size, len(corpus)),), generator=rng).tolist()
        batch = _batch(corpus, indices)
        _z, m_q, logs_q, mask = enc_q(batch["spec"], batch["lengths"])
        count = mask.sum() * m_q.shape[1]
        loss = (((m_q - batch["z"]) ** 2 + (logs_q - batch["logs_p"]) ** 2) * mask).sum() / count
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        value = float(loss.detach())
        first = value if first is None else first
        last = value
        if step % 10 == 0 or step == settings.encoder_steps - 1:
            report(step + 1, settings.encoder_steps, f"Posterior encoder warm-up: loss {value:.3f}")
    return {"encoder_loss_first": first or 0.0, "encoder_loss_last": last or 0.0}


def warm_discriminator(model: Any, corpus: List[Dict[str, Any]], settings: WarmupSettings,
                       report: ProgressCallback, cancel: Optional[CancelToken]) -> Dict[str, float]:
    """Train the discriminator with the generator frozen (module doc, 3)."""
    import torch
    from piper.train.vits import commons
    from piper.train.vits.losses import discriminator_loss

    generator, discriminator = model.model_g, model.model_d
    hop = int(model.hparams.hop_length)
    frames = max(1, int(model.hparams.segment_size) // hop)
    usable = [item for item in corpus if item["spec"].shape[-1] > frames]
    if not usable:
        return {"discriminator_steps": 0, "discriminator_accuracy": 0.0}
    optimizer = torch.optim.AdamW(discriminator.parameters(), lr=settings.discriminator_lr,
                                  betas=tuple(model.hparams.betas_d) if hasattr(model.hparams, "betas_d") else (0.8, 0.99))
    discriminator.train()
    generator.eval()
    rng = torch.Generator().manual_seed(settings.seed + 1)
    accuracy, steps, loss_value = 0.0, 0, 0.0
    for step in range(settings.discriminator_steps):
        if cancel is not None:
            cancel.raise_if_cancelled()
        indices = torch.randint(len(usable), (min(settings.batch_size, len(usable)),), generator=rng).tolist()
        batch = _batch(usable, indices)
        audio = torch.zeros((len(indices), 1, batch["spec"].shape[-1] * hop), device=batch["spec"].device)
        for row, index in enumerate(indices):
            clip = usable[index]["audio"]
            audio[row, 0, : clip.shape[-1]] = clip
        with torch.no_grad():
            z, _m, _logs, _mask = generator.enc_q(batch["spec"], batch["lengths"])
            z_slice, starts = commons.rand_slice_segments(z, batch["lengths"], frames)
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
        steps, loss_value = step + 1, float(loss.detach())
        if step % 10 == 0:
            report(step + 1, settings.discriminator_steps,
                   f"Discriminator warm-up: tells {accuracy:.0%} apart")
        if accuracy >= settings.target_accuracy and step >= 10:
            break
    return {"discriminator_steps": steps, "discriminator_accuracy": accuracy,
            "discriminator_loss": loss_value}


def warm_up(model: Any, ids: Sequence[Sequence[int]], *, base_sha256: str, cache_dir: Optional[Path],
            settings: WarmupSettings = WarmupSettings(),
            progress: Optional[Callable[[str, float, float, str], None]] = None,
            cancel: Optional[CancelToken] = None) -> Dict[str, Any]:
    """Warm `model`'s posterior encoder and discriminator from its own speech; cached per voice.

    `ids` are the warm-up sentences as phoneme ids; `progress(stage, done, total, message)`
    with stage "speaking", "encoder", "discriminator" or "cached". Returns a plain report.
    """
    import torch

    started = time.monotonic()
    tell = progress or (lambda stage, done, total, message: None)
    key = cache_key(base_sha256, model, ids, settings)
    cache_file = Path(cache_dir) / f"{key}.pt" if cache_dir is not None else None
    if cache_file is not None and cache_file.is_file():
        try:
            saved = torch.load(cache_file, map_location="cpu", weights_only=True)
            model.model_g.enc_q.load_state_dict(saved["enc_q"])
            model.model_d.load_state_dict(saved["model_d"])
            tell("cached", 1, 1, "Warm-up taken from the cache")
            return {**saved["report"], "cached": True, "seconds": round(time.monotonic() - started, 2)}
        except Exception:  # unreadable, unsafe or of another shape; never trusted blindly
            cache_file.unlink(missing_ok=True)  # damaged or stale: warm up again
    modes = [(module, module.training) for module in model.modules()]
    try:
        corpus = synthesize_corpus(model, ids, settings, _stage(tell, "speaking"), cancel)
        if not corpus:
            return {"skipped": "the warm-up sentences gave no audio", "cached": False}
        report: Dict[str, Any] = {"clips": len(corpus),
                                  "frames": int(sum(item["spec"].shape[-1] for item in corpus))}
        report.update(distil_posterior(model, corpus, settings, _stage(tell, "encoder"), cancel))
        report.update(warm_discriminator(model, corpus, settings, _stage(tell, "discriminator"), cancel))
    finally:
        for module, training in modes:
            module.training = training
    report["seconds"] = round(time.monotonic() - started, 2)
    if cache_file is not None:
        from voicelab.core.fileio import atomic_open

        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(cache_file, "wb") as handle:
            torch.save({"enc_q": {k: v.detach().cpu() for k, v in model.model_g.enc_q.state_dict().items()},
                        "model_d": {k: v.detach().cpu() for k, v in model.model_d.state_dict().items()},
                        "report": report}, handle)
    return {**report, "cached": False}


def _stage(tell: Callable[[str, float, float, str], None], stage: str) -> ProgressCallback:
    def report(done: float, total: float, message: str = "") -> None:
        tell(stage, done, total, message)

    return report if tell is not None else no_progress
