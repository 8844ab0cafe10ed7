"""The shape of a Piper VITS generator: read from a checkpoint, rebuilt for inference.

Checking a base checkpoint, exporting a voice and listening to a checkpoint all need piper's
generator (`SynthesizerTrn`) rebuilt from a checkpoint file. Going through Lightning's
`VitsModel.load_from_checkpoint` would unpickle the file blindly, import Lightning and build
47 M discriminator parameters only to throw them away, so this module builds the generator
alone from the saved hyper-parameters, and reads what it can from the weights themselves:
tensor shapes do not lie, while hyper-parameters can be missing (a bare state dict) or stale.

Two generations of files are read the same way, because their generator and discriminator
weights carry the same names (`model_g.` / `model_d.` prefixes on a Lightning module with
`model_g = SynthesizerTrn(...)` and `model_d = MultiPeriodDiscriminator(...)`): the old
`piper_train` (PyTorch Lightning 1.7, the rhasspy/piper-checkpoints files) and piper-tts 1.8
(Lightning 2.x). torch and piper.train are imported inside the functions.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from typing import Any

from voicelab.core.training.vits.qualities import LOW_DECODER, STANDARD_CHANNELS

#: The generator's hyper-parameters with `VitsModel`'s defaults, which piper_train and
#: piper-tts 1.8 share (tests compare them with the installed piper's signature): the
#: medium quality's shape.
ARCHITECTURE_DEFAULTS: dict[str, Any] = {
    "num_symbols": 256,
    "num_speakers": 1,
    "sample_rate": 22050,
    **LOW_DECODER,  # medium's shape (vits/qualities.py)
    "filter_length": 1024,
    "hop_length": 256,
    "win_length": 1024,
    **STANDARD_CHANNELS,
    "n_heads": 2,
    "n_layers": 6,
    "kernel_size": 3,
    "p_dropout": 0.1,
    "gin_channels": 0,
    "use_sdp": True,
    "segment_size": 8192,
}

_TUPLE_KEYS = ("resblock_kernel_sizes", "resblock_dilation_sizes", "upsample_rates",
               "upsample_kernel_sizes")
GENERATOR_PREFIX = "model_g."
DISCRIMINATOR_PREFIX = "model_d."


def _as_tuple(value: Any) -> Any:
    """Lists (and piper's string forms such as "(3, 5, 7)") as nested tuples."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)  # literals only: never runs code
        except (ValueError, SyntaxError):
            return value
    if isinstance(value, (list, tuple)):
        return tuple(_as_tuple(item) for item in value)
    return value


def architecture(hparams: Mapping[str, Any], generator_state: Mapping[str, Any] | None = None
                 ) -> dict[str, Any]:
    """The generator's hyper-parameters: saved values over defaults, corrected by the weights.

    Keys are those of `ARCHITECTURE_DEFAULTS`. Where the weights show a value (channel
    counts, layer counts, kernel sizes, speakers) it wins over the saved hyper-parameter.
    """
    arch = dict(ARCHITECTURE_DEFAULTS)
    for key in ARCHITECTURE_DEFAULTS:
        value = hparams.get(key)
        if value is not None:
            value = _as_tuple(value) if key in _TUPLE_KEYS else value
            if key not in _TUPLE_KEYS or isinstance(value, tuple):
                arch[key] = value
    arch["resblock"] = str(arch["resblock"])
    if generator_state:
        arch.update(shape_facts(generator_state, arch))
    if int(arch["num_speakers"]) > 1 and int(arch["gin_channels"]) <= 0:
        arch["gin_channels"] = 512  # what VitsModel picks for a multi-speaker model
    return arch


def _rows(state: Mapping[str, Any], key: str, dim: int = 0) -> int | None:
    value = state.get(key)
    if value is None or not hasattr(value, "shape") or len(value.shape) <= dim:
        return None
    return int(value.shape[dim])


def _count(state: Mapping[str, Any], prefix: str) -> int:
    """How many numbered children `prefix.N.` the weights have."""
    numbers = set()
    for key in state:
        if key.startswith(prefix):
            head = key[len(prefix):].split(".", 1)[0]
            if head.isdigit():
                numbers.add(int(head))
    return len(numbers)


def _kernel(state: Mapping[str, Any], prefix: str) -> int | None:
    for suffix in ("weight_v", "weight"):
        size = _rows(state, f"{prefix}.{suffix}", 2)
        if size is not None:
            return size
    return None


def shape_facts(state: Mapping[str, Any], arch: Mapping[str, Any]) -> dict[str, Any]:
    """Hyper-parameters read from generator weight shapes (keys without `model_g.`)."""
    facts: dict[str, Any] = {}
    symbols, hidden = _rows(state, "enc_p.emb.weight"), _rows(state, "enc_p.emb.weight", 1)
    if symbols is not None:
        facts["num_symbols"], facts["hidden_channels"] = symbols, hidden
    upsample = _rows(state, "dec.conv_pre.weight")
    if upsample is not None:
        facts["upsample_initial_channel"] = upsample
        facts["inter_channels"] = _rows(state, "dec.conv_pre.weight", 1)
    filters = _rows(state, "enc_p.encoder.ffn_layers.0.conv_1.weight")
    if filters is not None:
        facts["filter_channels"] = filters
        facts["kernel_size"] = _rows(state, "enc_p.encoder.ffn_layers.0.conv_1.weight", 2)
    layers = _count(state, "enc_p.encoder.attn_layers.")
    if layers:
        facts["n_layers"] = layers
    speakers = _rows(state, "emb_g.weight")
    facts["num_speakers"] = speakers or 1
    if speakers:
        facts["gin_channels"] = _rows(state, "emb_g.weight", 1)
    if any(key.startswith("dp.") for key in state):
        facts["use_sdp"] = any(key.startswith("dp.flows.") for key in state)
    ups = _count(state, "dec.ups.")
    if ups:
        kernels = tuple(_kernel(state, f"dec.ups.{i}") for i in range(ups))
        if None not in kernels:
            facts["upsample_kernel_sizes"] = kernels
            rates = tuple(arch.get("upsample_rates") or ())
            if len(rates) != ups:  # no saved rates that fit: piper's kernels are twice the rate
                facts["upsample_rates"] = tuple(max(1, k // 2) for k in kernels)
                facts["hop_length"] = math.prod(facts["upsample_rates"])
        if any(key.startswith("dec.resblocks.0.convs1.") for key in state):
            facts["resblock"] = "1"
        elif any(key.startswith("dec.resblocks.0.convs.") for key in state):
            facts["resblock"] = "2"
        per_stage = _count(state, "dec.resblocks.") // ups
        first = "convs1" if facts.get("resblock") == "1" else "convs"
        kernel_sizes = tuple(_kernel(state, f"dec.resblocks.{j}.{first}.0") for j in range(per_stage))
        if per_stage and None not in kernel_sizes:
            facts["resblock_kernel_sizes"] = kernel_sizes
    return {key: value for key, value in facts.items() if value is not None}


def split_state(weights: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(generator, discriminator) weights without their `model_g.` / `model_d.` prefixes.

    A bare generator state dict (keys such as `enc_p.emb.weight`) is the generator itself.
    """
    generator: dict[str, Any] = {}
    discriminator: dict[str, Any] = {}
    for key, value in weights.items():
        key = str(key)
        if key.startswith(GENERATOR_PREFIX):
            generator[key[len(GENERATOR_PREFIX):]] = value
        elif key.startswith(DISCRIMINATOR_PREFIX):
            discriminator[key[len(DISCRIMINATOR_PREFIX):]] = value
    if not generator and any(str(key).startswith(("enc_p.", "dec.")) for key in weights):
        generator = {str(key): value for key, value in weights.items()}
    return generator, discriminator


def checkpoint_weights(ckpt: Mapping[str, Any]) -> Mapping[str, Any]:
    """The state dict of a Lightning checkpoint, or the file itself when it is one."""
    state = ckpt.get("state_dict")
    if isinstance(state, Mapping):
        return state
    return ckpt


def hyper_parameters(ckpt: Mapping[str, Any]) -> dict[str, Any]:
    hparams = ckpt.get("hyper_parameters")
    return dict(hparams) if isinstance(hparams, Mapping) else {}


def build_generator(arch: Mapping[str, Any]) -> Any:
    """piper's `SynthesizerTrn` for these hyper-parameters, exactly as `VitsModel` builds it."""
    from piper.train.vits.models import SynthesizerTrn

    return SynthesizerTrn(
        n_vocab=int(arch["num_symbols"]),
        spec_channels=int(arch["filter_length"]) // 2 + 1,
        segment_size=int(arch["segment_size"]) // int(arch["hop_length"]),
        inter_channels=int(arch["inter_channels"]),
        hidden_channels=int(arch["hidden_channels"]),
        filter_channels=int(arch["filter_channels"]),
        n_heads=int(arch["n_heads"]),
        n_layers=int(arch["n_layers"]),
        kernel_size=int(arch["kernel_size"]),
        p_dropout=float(arch["p_dropout"]),
        resblock=str(arch["resblock"]),
        resblock_kernel_sizes=arch["resblock_kernel_sizes"],
        resblock_dilation_sizes=arch["resblock_dilation_sizes"],
        upsample_rates=arch["upsample_rates"],
        upsample_initial_channel=int(arch["upsample_initial_channel"]),
        upsample_kernel_sizes=arch["upsample_kernel_sizes"],
        n_speakers=int(arch["num_speakers"]),
        gin_channels=int(arch["gin_channels"]),
        use_sdp=bool(arch["use_sdp"]),
    )


def remove_weight_norms(module: Any) -> int:
    """Fold every weight-norm (g, v) pair of `module` into a plain weight; returns how many.

    Inference and export need no re-parametrization, and a plain weight is faster and
    traces to a smaller ONNX graph. piper's exporter removes it only from the decoder.
    """
    import torch
    from torch.nn.utils.weight_norm import WeightNorm

    removed = 0
    for child in module.modules():
        for hook in list(child._forward_pre_hooks.values()):
            if isinstance(hook, WeightNorm):
                torch.nn.utils.remove_weight_norm(child, hook.name)
                removed += 1
    return removed


def load_generator(ckpt: Mapping[str, Any], source: str) -> tuple[Any, dict[str, Any]]:
    """The generator of a loaded checkpoint in eval mode, weight norm removed, and its shape.

    Raises `CheckpointError` when the file holds no generator or its weights do not fit the
    shape its own hyper-parameters describe.
    """
    import torch

    from voicelab.core.errors import CheckpointError

    generator_state, _ = split_state(checkpoint_weights(ckpt))
    if "enc_p.emb.weight" not in generator_state:
        raise CheckpointError(
            f"“{source}” holds no Piper voice generator (no model_g weights). Choose a "
            "checkpoint written by VoiceLab's trainer or by Piper's training."
        )
    arch = architecture(hyper_parameters(ckpt), generator_state)
    generator = build_generator(arch)
    try:
        generator.load_state_dict({k: v for k, v in generator_state.items()}, strict=True)
    except RuntimeError as error:
        detail = " ".join(str(error).split())[:300]
        raise CheckpointError(
            f"The generator in “{source}” does not match the shape its settings describe, so "
            f"it cannot be rebuilt. The file may be damaged or from an unsupported Piper "
            f"variant. (Details: {detail})"
        ) from error
    generator.eval()
    with torch.no_grad():
        remove_weight_norms(generator)
    return generator, arch
