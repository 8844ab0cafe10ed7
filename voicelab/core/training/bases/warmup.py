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
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from voicelab.core.errors import Cancelled
from voicelab.core.progress import CancelToken
from voicelab.core.training.bases.warmup_plan import Progress, Tracker, WarmupSettings
from voicelab.core.training.bases.warmup_stages import distil_posterior, synthesize_corpus, warm_discriminator

CACHE_VERSION = 2
def cache_folder(run_dir: Path) -> Path:
    """`<workspace>/cache/warmup` for a run in `<workspace>/runs/`, else the run's own cache."""
    from voicelab.core.workspace import run_cache

    return run_cache(run_dir, "warmup")


def _fingerprint(module: Any) -> list[Any]:
    return [[key, list(value.shape)] for key, value in module.state_dict().items()]


def cache_key(base_sha256: str, model: Any, ids: Sequence[Sequence[int]], settings: WarmupSettings) -> str:
    payload = json.dumps({"v": CACHE_VERSION, "base": base_sha256, "settings": asdict(settings),
                          "g": _fingerprint(model.model_g.enc_q), "d": _fingerprint(model.model_d),
                          "ids": [list(map(int, item)) for item in ids]}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


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
    track = Tracker(plan, tell)
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
