"""The generator's hyper-parameters of an ONNX voice, read from its tensors.

An `.onnx` voice carries no hyper-parameters, and its `.onnx.json` says only the sample rate
and (sometimes) a quality name, which a renamed or home-made voice can get wrong. The
weights cannot: channel widths, layer counts and kernel sizes are tensor shapes
(`architecture.shape_facts` reads them as it does for checkpoints), the upsampling rates
and resblock dilations are the Conv nodes' `strides` / `dilations`, and the attention heads
follow from the relative-position embedding's width (hidden / heads). What the config
states is then checked against what the tensors say; a disagreement is refused, because a
voice whose config lies about its rate or symbols would train into garbage.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from voicelab.core.training.bases.errors import OnnxVoiceError
from voicelab.core.training.vits.architecture import architecture
from voicelab.core.training.vits.qualities import matching_quality


def _conv_dilation(facts: Any, path: str) -> int | None:
    attributes = facts.conv_attributes.get(path) or {}
    dilations = attributes.get("dilations")
    return int(dilations[0]) if dilations else None


def _config_int(config: Mapping[str, Any], *keys: str) -> int | None:
    value: Any = config
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def infer_arch(facts: Any, config: Mapping[str, Any], path: Path) -> tuple[dict[str, Any], str | None]:
    """(architecture dict with `ARCHITECTURE_DEFAULTS` keys, matching quality or None)."""
    weights = facts.weights
    if "enc_p.emb.weight" not in weights or "dec.conv_pre.weight" not in weights:
        raise OnnxVoiceError(f"“{path.name}” lacks the text embedding or the decoder, so it is "
                             "not a whole Piper voice (a truncated or partial export).")
    arch = architecture({}, weights)
    ups = sum(1 for key in weights if key.startswith("dec.ups.") and key.endswith(".weight"))
    strides = []
    for index in range(ups):
        attributes = facts.conv_attributes.get(f"dec.ups.{index}") or {}
        stride = attributes.get("strides")
        if not stride:
            break
        strides.append(int(stride[0]))
    if len(strides) == ups and ups:
        arch["upsample_rates"] = tuple(strides)
        arch["hop_length"] = 1
        for rate in strides:
            arch["hop_length"] *= rate
    per_stage = len(arch["resblock_kernel_sizes"])
    first = "convs1" if arch["resblock"] == "1" else "convs"
    dilations = []
    for j in range(per_stage):
        row = []
        k = 0
        while f"dec.resblocks.{j}.{first}.{k}.weight" in weights:
            row.append(_conv_dilation(facts, f"dec.resblocks.{j}.{first}.{k}") or 1)
            k += 1
        dilations.append(tuple(row))
    if dilations and all(dilations):
        arch["resblock_dilation_sizes"] = tuple(dilations)
    rel = weights.get("enc_p.encoder.attn_layers.0.emb_rel_k")
    if rel is not None and rel.shape[-1] and int(arch["hidden_channels"]) % int(rel.shape[-1]) == 0:
        arch["n_heads"] = int(arch["hidden_channels"]) // int(rel.shape[-1])
    rate = _config_int(config, "audio", "sample_rate")
    if rate is None:
        raise OnnxVoiceError(f"{path.name}.json does not give the sample rate (audio.sample_rate). "
                             "Download the voice's .onnx.json again.")
    arch["sample_rate"] = rate
    _check_config(arch, config, facts, path)
    quality = matching_quality(arch, rate)
    stated = str((config.get("audio") or {}).get("quality") or "").replace("-", "_") or None
    if stated and quality and stated != quality:
        raise OnnxVoiceError(f"{path.name}.json calls the voice '{stated}', but its weights are "
                             f"'{quality}'. The config belongs to another voice; download the "
                             "matching .onnx.json.")
    return arch, quality


def _check_config(arch: Mapping[str, Any], config: Mapping[str, Any], facts: Any, path: Path) -> None:

    problems = []
    speakers = _config_int(config, "num_speakers")
    if speakers is not None and speakers != int(arch["num_speakers"]):
        problems.append(f"{speakers} speakers in the config, {arch['num_speakers']} in the weights")
    if int(arch["num_speakers"]) > 1 and not facts.speakers_input:
        problems.append("several speakers in the weights but no sid input")
    symbols = _config_int(config, "num_symbols")
    if symbols is not None and symbols > int(arch["num_symbols"]):
        problems.append(f"{symbols} symbols in the config, {arch['num_symbols']} in the weights")
    ids = [int(i) for value in (config.get("phoneme_id_map") or {}).values()
           for i in (value if isinstance(value, (list, tuple)) else [value])
           if isinstance(i, int) or str(i).isdigit()]
    if ids and max(ids) >= int(arch["num_symbols"]):
        problems.append(f"phoneme id {max(ids)} but only {arch['num_symbols']} symbols")
    if problems:
        raise OnnxVoiceError(f"{path.name}.json does not describe this voice: {'; '.join(problems)}. "
                             "Download the voice's matching .onnx.json.")
