"""Warming the parts of a voice base that its .onnx file never held, before fine-tuning.

A base rebuilt from an ONNX voice has a trained text encoder, flow and decoder, but a random
posterior encoder (`enc_q`) and discriminator. Trained from there, the decoder first sees
latents it cannot use (mel L1 2.2 at step 1 against 1.0 after this warm-up, in the GPU
probe) and is judged by a discriminator that knows nothing, so the first hundreds of steps
damage the voice instead of adapting it. The untrained parts are warmed from the voice's own
speech, in up to three stages:

1. **speaking**: the voice speaks `sentences` (its own generator, piper's inference noise),
   keeping the latent `z` each clip was decoded from and the prior's log-std at every frame;
2. **encoder**: `enc_q` learns to read that audio's linear spectrogram back: its mean is
   regressed on `z` and its log-std on the prior's times `posterior_sharpness` (a sharp
   posterior, then frozen: see model.freeze_for_finetune). Not the Gaussian likelihood of
   `z`: a few latent channels of a real voice carry large values the spectrogram cannot
   predict, and the likelihood fit answered with huge variances that blew the first KL up
   to 1e10. Each step sees random windows of `segment_frames` frames (wider than the
   encoder's receptive field), not whole clips: as good per step, a fraction of the cost,
   more variety;
3. **discriminator** (when `discriminator_steps` > 0): trains with the generator frozen
   (real: the voice's clips; generated: the decoder's output from `enc_q`'s latents) until it
   tells them apart on most segments.

It must fit in minutes on a laptop CPU, and a stopped or crashed warm-up must not start over:
the work done is saved to `<key>.partial.pt` beside the cache every `save_every_s` seconds
and when the run is stopped, and the next attempt on the same voice continues from it. The
finished result depends only on the voice, the model's shape and these settings, so it is
cached per voice (`cache_dir/<key>.pt`): the second run from the same voice starts at once.
Both files are read with `weights_only=True`; a damaged one is remade, never trusted.

Progress is reported per stage (`Progress`: stage, step N of M) with the whole warm-up's
share done and the time left, estimated from each stage's measured pace.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from voicelab.core.errors import Cancelled
from voicelab.core.progress import CancelToken

CACHE_VERSION = 2
STAGES = ("speaking", "encoder", "discriminator")
#: The phrases the voice speaks to teach its own encoder: varied, plain, no rare words.
_SUBJECTS = ("The old man", "My sister", "A small child", "The teacher", "Our neighbour",
             "The doctor", "Every student", "That young woman")
_VERBS = ("carried", "painted", "found", "described", "remembered", "opened", "wanted", "noticed")
_OBJECTS = ("a heavy wooden box", "the blue door near the station", "three letters from home",
            "a quiet room above the bakery", "the bright morning light", "an umbrella in the rain",
            "the map of the northern islands", "a cup of hot tea")
_ENDINGS = (".", " yesterday.", " again?", " before dinner.", " with great care.", "!")
#: Relative cost of one unit of each stage on a CPU (a sentence spoken, an encoder step, a
#: discriminator step), for the time left before a stage has been measured.
_UNIT_COST = {"speaking": 0.4, "encoder": 0.3, "discriminator": 8.0}


def warmup_sentences(count: int) -> list[str]:
    """`count` different sentences, always the same ones for the same count."""
    sentences = []
    for index in range(count):
        sentences.append(f"{_SUBJECTS[index % 8]} {_VERBS[(index * 3 + index // 8) % 8]} "
                         f"{_OBJECTS[(index * 5 + index // 64) % 8]}{_ENDINGS[index % 6]}")
    return sentences


@dataclass(frozen=True)
class WarmupSettings:
    sentences: int = 48
    encoder_steps: int = 300
    discriminator_steps: int = 0
    batch_size: int = 16
    #: Frames of latent per encoder training window (the encoder sees 65 frames at most).
    segment_frames: int = 96
    encoder_lr: float = 1e-3
    #: The posterior's std is taught as this share of the prior's: a sharp posterior, frozen
    #: while fine-tuning (model.freeze_for_finetune), kept the pitch moving toward a new
    #: speaker where one as broad as the prior (1.0) let the voice collapse into a buzz.
    posterior_sharpness: float = 0.1
    discriminator_lr: float = 2e-4
    #: "raw": the voice's own output level; "peak": each clip scaled to peak 0.95 first.
    level: str = "raw"
    #: The discriminator is warm when it classifies this share of segments right.
    target_accuracy: float = 0.9
    seed: int = 1234


@dataclass(frozen=True)
class Progress:
    """Where a warm-up is: its stage, step `done` of `total` in it, the whole warm-up's
    share done (`overall`, 0–1) and the seconds left (None until there is a pace)."""

    stage: str
    done: int
    total: int
    overall: float
    eta_s: float | None
    message: str


def cache_folder(run_dir: Path) -> Path:
    """`<workspace>/cache/warmup` for a run in `<workspace>/runs/`, else the run's own cache."""
    run_dir = Path(run_dir).resolve()
    if run_dir.parent.name == "runs":
        return run_dir.parent.parent / "cache" / "warmup"
    return run_dir / "cache" / "warmup"


def _fingerprint(module: Any) -> list[Any]:
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


class _Tracker:
    """Turns stage steps into `Progress`: the share of the whole warm-up and the time left."""

    def __init__(self, plan: dict[str, int], tell: Callable[[Progress], None]) -> None:
        self.plan = plan  # stage -> units (sentences or steps)
        self.tell = tell
        self.pace: dict[str, float] = {}  # measured seconds per unit
        self._stage_start: dict[str, tuple] = {}
        self._shown = 0.0  # the share never goes back when a stage's pace is measured anew

    def _cost(self, stage: str) -> float:
        return self.pace.get(stage, _UNIT_COST[stage] * self._scale())

    def _scale(self) -> float:
        """Measured pace over the assumed one, so unmeasured stages are scaled to this machine."""
        ratios = [self.pace[s] / _UNIT_COST[s] for s in self.pace]
        return sum(ratios) / len(ratios) if ratios else 1.0

    def step(self, stage: str, done: int, message: str) -> None:
        now = time.monotonic()
        begun = self._stage_start.setdefault(stage, (now, done))
        if done > begun[1]:
            self.pace[stage] = (now - begun[0]) / (done - begun[1])
        order = [s for s in STAGES if self.plan.get(s)]
        index = order.index(stage) if stage in order else len(order)
        costs = {s: self._cost(s) * self.plan[s] for s in order}
        finished = sum(costs[s] for s in order[:index]) + self._cost(stage) * done
        total = sum(costs.values()) or 1.0
        measured = bool(self.pace)
        left = max(0.0, total - finished) if measured else None
        self._shown = max(self._shown, min(1.0, finished / total))
        self.tell(Progress(stage, int(done), int(self.plan.get(stage, 0)), self._shown, left, message))


def synthesize_corpus(model: Any, ids: Sequence[Sequence[int]], settings: WarmupSettings,
                      corpus: list[dict[str, Any]], track: _Tracker, cancel: CancelToken | None,
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
                     state: dict[str, Any], track: _Tracker, cancel: CancelToken | None,
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
                       state: dict[str, Any], track: _Tracker, cancel: CancelToken | None,
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


def warm_up(model: Any, ids: Sequence[Sequence[int]], *, base_sha256: str, cache_dir: Path | None,
            settings: WarmupSettings = WarmupSettings(),
            progress: Callable[[Progress], None] | None = None,
            cancel: CancelToken | None = None, save_every_s: float = 30.0) -> dict[str, Any]:
    """Warm `model`'s posterior encoder (and discriminator) from its own speech; cached per voice.

    `ids` are the warm-up sentences as phoneme ids. `progress` gets a `Progress` (stage
    "speaking", "encoder", "discriminator", or "cached" when the cache had it). Raises
    `Cancelled` when `cancel` is set, after saving the work done for the next attempt.
    Returns a plain report (`resumed`: the steps a saved attempt had done, `cached`).
    """

    started = time.monotonic()
    tell = progress or (lambda _progress: None)
    key = cache_key(base_sha256, model, ids, settings)
    cache_file = Path(cache_dir) / f"{key}.pt" if cache_dir is not None else None
    partial_file = Path(cache_dir) / f"{key}.partial.pt" if cache_dir is not None else None
    saved = _read(cache_file)
    if saved is not None:
        try:
            model.model_g.enc_q.load_state_dict(saved["enc_q"])
            model.model_d.load_state_dict(saved["model_d"])
            tell(Progress("cached", 1, 1, 1.0, 0.0, "Warm-up taken from the cache"))
            return {**saved["report"], "cached": True, "seconds": round(time.monotonic() - started, 2)}
        except Exception:  # of another shape: remade
            cache_file.unlink(missing_ok=True)
    state: dict[str, Any] = {"corpus": []}
    resumed = _read(partial_file)
    if resumed is not None:
        try:
            model.model_g.enc_q.load_state_dict(resumed["enc_q"])
            model.model_d.load_state_dict(resumed["model_d"])
            state = resumed["state"]
        except Exception:  # of another shape or incomplete: start over
            state = {"corpus": []}
    done_before = {"sentences": len(state["corpus"]), "encoder_step": int(state.get("encoder_step", 0)),
                   "discriminator_step": int(state.get("discriminator_step", 0))}
    plan = {"speaking": len(ids), "encoder": settings.encoder_steps, "discriminator": settings.discriminator_steps}
    track = _Tracker(plan, tell)
    last_save = [time.monotonic()]

    def save_partial(force: bool = False) -> None:
        if partial_file is None or (not force and time.monotonic() - last_save[0] < save_every_s):
            return
        last_save[0] = time.monotonic()
        _write(partial_file, {"enc_q": _cpu(model.model_g.enc_q), "model_d": _cpu(model.model_d),
                              "state": state})

    modes = [(module, module.training) for module in model.modules()]
    try:
        corpus = synthesize_corpus(model, ids, settings, state["corpus"], track, cancel, save_partial)
        if not corpus:
            return {"skipped": "the warm-up sentences gave no audio", "cached": False}
        report: dict[str, Any] = {"clips": len(corpus),
                                  "frames": int(sum(item["spec"].shape[-1] for item in corpus))}
        report.update(distil_posterior(model, corpus, settings, state, track, cancel, save_partial))
        report.update(warm_discriminator(model, corpus, settings, state, track, cancel, save_partial))
    except Cancelled:
        save_partial(force=True)  # the next attempt goes on from here
        raise
    finally:
        for module, training in modes:
            module.training = training
    report["seconds"] = round(time.monotonic() - started, 2)
    report["resumed"] = done_before if any(done_before.values()) else None
    if cache_file is not None:
        _write(cache_file, {"enc_q": _cpu(model.model_g.enc_q), "model_d": _cpu(model.model_d),
                            "report": {k: v for k, v in report.items() if k != "resumed"}})
        if partial_file is not None:
            partial_file.unlink(missing_ok=True)
    return {**report, "cached": False}


def _cpu(module: Any) -> dict[str, Any]:
    return {key: value.detach().cpu() for key, value in module.state_dict().items()}


def _read(path: Path | None) -> dict[str, Any] | None:
    """A saved warm-up (finished or partial), read safely; a damaged file is removed."""
    import torch

    if path is None or not path.is_file():
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(data, dict):
            raise ValueError("not a warm-up file")
        return data
    except Exception:  # unreadable, unsafe or truncated: never trusted
        path.unlink(missing_ok=True)
        return None


def _write(path: Path, data: dict[str, Any]) -> None:
    import torch

    from voicelab.core.fileio import atomic_open

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as handle:
        torch.save(data, handle)
