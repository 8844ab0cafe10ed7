"""The base checkpoint a fine-tune starts from: what it is, whether it fits, its weights.

Fine-tuning starts from a Piper checkpoint (rhasspy/piper-checkpoints, or a run of one's
own). Before any training starts the trainer must know that the file is safe, what voice
shape it holds and that this shape is the quality the user chose: a 16 kHz `x_low` base
cannot seed a 22 kHz `high` voice, and finding that out after an hour of data preparation,
or as a wall of missing-key errors, is useless. So:

* `inspect_base` reads the file through the foundation's safe loader (never a blind
  unpickle; piper's own `_warmstart_from_ckpt` uses `weights_only=False`) and describes
  it from its weights and hyper-parameters;
* `check_base_quality` refuses a base whose sample rate or architecture is not the chosen
  quality's, naming the quality to pick instead;
* `load_base_weights` copies the generator (and, where shapes match, the discriminator)
  into the trainer's `VitsModel`, folding one speaker of a multi-speaker base into a
  single-speaker generator (`speakers.py` says how and why).

A published voice (`.onnx` + `.onnx.json`) is a base too: `onnx_voice.convert_voice`
rebuilds its generator and proves it against onnxruntime; the parts an ONNX file never holds
(posterior encoder, duration posterior, discriminator) start untrained, and the report says
which (`warmup.py` warms them before the first step).

Both generations of Piper checkpoints load: the old `piper_train` ones (PyTorch Lightning
1.7; hyper-parameters with `pathlib.PosixPath` values, `quality` spelled "x-low", keys such
as `sample_bytes`, a nested `AttributeDict`, optimizer and AMP scaler state) and piper-tts
1.8's (Lightning 2.x). Only weights are taken: optimizer state, schedulers and loop
counters belong to the base's own training, not to the fine-tune.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from voicelab.core.fileio import sha256_file
from voicelab.core.progress import CancelToken, ProgressCallback, no_progress
from voicelab.core.training.bases.errors import BaseCheckpointError
from voicelab.core.training.vits.architecture import (
    architecture,
    checkpoint_weights,
    hyper_parameters,
    split_state,
)
from voicelab.core.training.vits.qualities import QUALITIES, architecture_differences, matching_quality

PathLike = Union[str, "os.PathLike[str]"]

@dataclass(frozen=True)
class BaseInfo:
    """A base checkpoint as the training tab shows it and the trainer checks it."""

    path: Path
    sha256: str
    sample_rate: int | None
    quality: str | None  # a key of qualities.QUALITIES, or None when it matches none
    num_speakers: int
    num_symbols: int
    hparams: dict[str, Any]  # the generator's shape (ARCHITECTURE_DEFAULTS keys), plain data
    origin: str  # who wrote it, e.g. "piper_train (PyTorch Lightning 1.7.7)"
    lightning_version: str | None = None
    epoch: int | None = None
    global_step: int | None = None
    saved_quality: str | None = field(default=None, compare=False)  # what the file claims


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _origin(ckpt: Mapping[str, Any]) -> str:
    version = ckpt.get("pytorch-lightning_version")
    if not isinstance(version, str):
        return "state dict (weights only)"
    major = version.split(".", 1)[0]
    if major.isdigit() and int(major) < 2:
        return f"piper_train (PyTorch Lightning {version})"
    return f"piper (Lightning {version})"


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if hasattr(value, "item") and getattr(value, "numel", lambda: 0)() == 1:
        return int(value.item())
    return None


def inspect_base(path: PathLike, *, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> BaseInfo:
    """Describe a base checkpoint, loading it safely; `BaseCheckpointError` if it is no voice.

    Unsafe, damaged and foreign files raise the safe loader's `UnsafeCheckpointError` /
    `CheckpointError` unchanged.
    """
    from voicelab.core.checkpoints import load_checkpoint

    file = Path(path)
    report = progress or no_progress
    if is_voice_base(file):
        return _inspect_voice(file, report, cancel)
    ckpt = load_checkpoint(file)
    generator_state, _ = split_state(checkpoint_weights(ckpt))
    if "enc_p.emb.weight" not in generator_state:
        raise BaseCheckpointError(
            f"“{file.name}” is a PyTorch checkpoint but holds no Piper voice (no generator "
            "weights). Choose a Piper checkpoint, such as one from rhasspy/piper-checkpoints "
            "or a checkpoint of an earlier VoiceLab run."
        )
    hparams = hyper_parameters(ckpt)
    arch = architecture(hparams, generator_state)
    sample_rate = _int_or_none(hparams.get("sample_rate"))
    saved_quality = hparams.get("quality")
    digest = sha256_file(file, report, cancel)
    return BaseInfo(
        path=file,
        sha256=digest,
        sample_rate=sample_rate,
        quality=matching_quality(arch, sample_rate),
        num_speakers=int(arch["num_speakers"]),
        num_symbols=int(arch["num_symbols"]),
        hparams={key: _plain(value) for key, value in arch.items()},
        origin=_origin(ckpt),
        lightning_version=ckpt.get("pytorch-lightning_version")
        if isinstance(ckpt.get("pytorch-lightning_version"), str) else None,
        epoch=_int_or_none(ckpt.get("epoch")),
        global_step=_int_or_none(ckpt.get("global_step")),
        saved_quality=str(saved_quality).replace("-", "_") if saved_quality else None,
    )


def is_voice_base(path: PathLike) -> bool:
    """True for a published voice (.onnx) as base, False for a checkpoint."""
    return Path(path).suffix.lower() == ".onnx"


def _inspect_voice(file: Path, report: ProgressCallback, cancel: CancelToken | None) -> BaseInfo:
    from voicelab.core.training.bases.onnx_voice import convert_voice

    report(0, 0, f"Rebuilding {file.name} and checking it against the voice")
    converted = convert_voice(file, cancel=cancel)
    untrained = ", ".join(sorted(converted.untrained)) or "nothing"
    proof = converted.proof
    origin = (f"Piper voice (ONNX, {converted.facts.producer or 'unknown exporter'}): "
              f"{converted.counts['loaded']} weights rebuilt, speaks as the voice (correlation "
              f"{proof.correlation:.6f}); starts untrained: {untrained}, discriminator")
    stated = (converted.config.get("audio") or {}).get("quality")
    return BaseInfo(
        path=file, sha256=sha256_file(file, report, cancel),
        sample_rate=int(converted.arch["sample_rate"]), quality=converted.quality,
        num_speakers=int(converted.arch["num_speakers"]),
        num_symbols=int(converted.arch["num_symbols"]),
        hparams={key: _plain(value) for key, value in converted.arch.items()},
        origin=origin, saved_quality=str(stated).replace("-", "_") if stated else None,
    )


def _describe_quality(name: str, quality: Any) -> str:
    return f"'{name}' ({int(quality.sample_rate)} Hz)"


def check_base_quality(info: BaseInfo, quality: str, *,
                       overrides: Mapping[str, Any] | None = None) -> None:
    """Raise `BaseCheckpointError` unless the base has the chosen quality's rate and shape.

    `overrides` are the run's architecture overrides on top of the quality (TrainConfig's
    `model`), so a run with a custom shape is checked against that shape. The message
    names the quality to pick ("this base is 'medium' (22050 Hz); choose quality medium or
    a different base") or, for a base of none of the qualities, says how it differs.
    """
    qualities = QUALITIES
    if quality not in qualities:
        raise BaseCheckpointError(
            f"Unknown quality '{quality}'. Choose one of: {', '.join(qualities)}."
        )
    chosen = qualities[quality]
    wanted = {**chosen.hparams, **(overrides or {})}
    differences = architecture_differences(info.hparams, wanted)
    rate_ok = info.sample_rate is None or int(info.sample_rate) == int(chosen.sample_rate)
    if not differences and rate_ok:
        return
    rate = f"{info.sample_rate} Hz" if info.sample_rate else "unknown sample rate"
    if info.quality is not None and info.quality != quality:
        raise BaseCheckpointError(
            f"This base is {_describe_quality(info.quality, qualities[info.quality])}; choose "
            f"quality {info.quality} or a different base. You chose "
            f"{_describe_quality(quality, chosen)}, and a base must have the sample rate and "
            "model size of the voice you train."
        )
    reasons = []
    if not rate_ok:
        reasons.append(f"{rate} instead of {int(chosen.sample_rate)} Hz")
    reasons.extend(f"{key} {base} instead of {wanted_value}" for key, (base, wanted_value)
                   in list(differences.items())[:4])
    what = ("matches none of VoiceLab's qualities (" + ", ".join(qualities) + ")"
            if info.quality is None else f"is '{info.quality}' but not the model shape this run sets")
    raise BaseCheckpointError(
        f"This base ({rate}) {what}; for {_describe_quality(quality, chosen)} it has "
        f"{'; '.join(reasons)}. Choose a base of quality {quality} (a rhasspy/piper-"
        f"checkpoints voice folder ends in its quality) or train without a base."
    )


# ---------------------------------------------------------------------------------------
# Copying the weights into the trainer's model


def _copy_into(target: Mapping[str, Any], source: Mapping[str, Any], report: dict[str, Any],
               prefix: str, resizable: tuple[str, ...] = ()) -> dict[str, Any]:
    """Target's state with every same-shape source tensor copied in; notes go to `report`."""
    import torch

    merged = {}
    for key, current in target.items():
        name = f"{prefix}{key}"
        value = source.get(key)
        if value is None:
            merged[key] = current
            report["missing"].append(name)
        elif tuple(value.shape) == tuple(current.shape):
            merged[key] = value.to(dtype=current.dtype, device=current.device)
            report["loaded"].append(name)
        elif key in resizable and value.dim() == current.dim() and value.shape[1:] == current.shape[1:]:
            rows = min(int(value.shape[0]), int(current.shape[0]))
            resized = current.detach().clone()
            with torch.no_grad():
                resized[:rows] = value[:rows].to(dtype=current.dtype, device=current.device)
            merged[key] = resized
            report["loaded"].append(name)
            report["resized"][name] = [list(value.shape), list(current.shape)]
        else:
            merged[key] = current
            report["skipped"][name] = f"shape {list(value.shape)} in the base, {list(current.shape)} here"
    for key in source:
        if key not in target:
            report["unused"].append(f"{prefix}{key}")
    return merged


def _is_speaker_key(key: str) -> bool:
    """Generator weights that exist only with more than one speaker."""
    return key.startswith("emb_g.") or ".cond." in f".{key}" or ".cond_layer." in f".{key}"


def load_base_weights(model: Any, path: PathLike, *, speaker: int | None = None,
                      min_loaded_fraction: float = 0.9) -> dict[str, Any]:
    """Copy a base checkpoint's weights into a piper `VitsModel`; return what happened.

    The generator takes every tensor whose name and shape match; the phoneme embedding is
    copied row by row when the symbol counts differ. The discriminator is loaded where it
    exists and its shapes match, else left as initialized. A multi-speaker base going into
    a single-speaker model speaks as `speaker` (default 0, piper's default speaker).
    Raises `BaseCheckpointError` when less than `min_loaded_fraction` of the generator
    could be loaded (a base of another architecture: call `check_base_quality` first) or
    the speaker does not exist. The report (plain data, for the run's log) has `loaded`,
    `missing`, `unused` (lists of names), `skipped`, `resized` (name → reason/shapes),
    `speaker`, `speaker_folded` and counts.
    """
    import torch

    from voicelab.core.checkpoints import load_checkpoint
    from voicelab.core.training.vits.speakers import SPEAKER_EMBEDDING, SpeakerFoldError, fold_speaker

    file = Path(path)
    converted = None
    if is_voice_base(file):
        from voicelab.core.training.bases.onnx_voice import convert_voice
        from voicelab.core.training.bases.onnx_weights import phoneme_map_conflicts

        converted = convert_voice(file)  # proves itself against onnxruntime, or raises
        conflicts = phoneme_map_conflicts(converted.config)
        if conflicts:
            raise BaseCheckpointError(
                f"The voice “{file.name}” numbers {len(conflicts)} phonemes differently from "
                f"Piper's standard map ({' '.join(conflicts[:6])}), which training uses, so it "
                "would mix up sounds. Choose a voice with Piper's standard phoneme map.")
        generator_state, discriminator_state = dict(converted.state), {}
    else:
        ckpt = load_checkpoint(file)
        generator_state, discriminator_state = split_state(checkpoint_weights(ckpt))
        del ckpt  # optimizer states of a real base are gigabytes
    if "enc_p.emb.weight" not in generator_state:
        raise BaseCheckpointError(f"“{file.name}” holds no Piper voice generator to start from.")
    target_g = model.model_g.state_dict()
    base_speakers = int(generator_state[SPEAKER_EMBEDDING].shape[0]) if SPEAKER_EMBEDDING in generator_state else 1
    target_speakers = int(getattr(model.model_g, "n_speakers", 1))
    report: dict[str, Any] = {
        "loaded": [], "missing": [], "unused": [], "skipped": {}, "resized": {},
        "speaker": None, "speaker_folded": False, "base_speakers": base_speakers,
    }
    if base_speakers > 1 and target_speakers == 1:
        chosen = 0 if speaker is None else int(speaker)
        try:
            generator_state, _ = fold_speaker(generator_state, chosen)
        except IndexError:
            raise BaseCheckpointError(
                f"The base “{file.name}” has speakers 0 to {base_speakers - 1}; speaker "
                f"{chosen} does not exist. Choose a speaker in that range."
            ) from None
        except SpeakerFoldError as error:
            raise BaseCheckpointError(
                f"Cannot take one speaker out of the base “{file.name}”: {error}. Choose a "
                "single-speaker base."
            ) from None
        report["speaker"], report["speaker_folded"] = chosen, True
    elif speaker not in (None, 0) and base_speakers == 1:
        raise BaseCheckpointError(
            f"The base “{file.name}” has a single speaker, so speaker {speaker} cannot be "
            "chosen. Leave the speaker empty."
        )
    elif base_speakers > 1:
        report["speaker"] = speaker

    merged_g = _copy_into(target_g, generator_state, report, "model_g.",
                          resizable=("enc_p.emb.weight", SPEAKER_EMBEDDING))
    relevant = [key for key in target_g if not _is_speaker_key(key)]
    if converted is not None:  # what an ONNX voice cannot hold is listed, not counted
        from voicelab.core.training.bases.onnx_weights import untrained_part

        relevant = [key for key in relevant if untrained_part(key) is None]
        report["untrained"] = {part: len(keys) for part, keys in converted.untrained.items()}
        report["proof"] = converted.proof.to_dict() if converted.proof else None
    loaded = sum(1 for key in relevant if f"model_g.{key}" in report["loaded"])
    fraction = loaded / len(relevant) if relevant else 0.0
    if fraction < min_loaded_fraction:
        raise BaseCheckpointError(
            f"The base “{file.name}” does not fit this voice's model: only {loaded} of "
            f"{len(relevant)} generator weights match. It is a different quality or "
            "architecture; choose a base of the quality you train."
        )
    with torch.no_grad():
        model.model_g.load_state_dict(merged_g, strict=True)
    discriminator = getattr(model, "model_d", None)
    report["discriminator"] = "absent"
    if discriminator is not None and discriminator_state:
        # All or nothing: half a discriminator from the base judges by two standards.
        target_d = discriminator.state_dict()
        fits = all(key in discriminator_state
                   and tuple(discriminator_state[key].shape) == tuple(value.shape)
                   for key, value in target_d.items())
        if fits:
            merged_d = {key: discriminator_state[key].to(dtype=value.dtype, device=value.device)
                        for key, value in target_d.items()}
            with torch.no_grad():
                discriminator.load_state_dict(merged_d, strict=True)
            report["discriminator"] = "loaded"
        else:
            report["discriminator"] = "skipped (its shape differs; it starts fresh)"
    if converted is not None:
        report["discriminator"] = "untrained (a voice file holds none)"
    report["generator_loaded"] = loaded
    report["generator_total"] = len(relevant)
    return report
