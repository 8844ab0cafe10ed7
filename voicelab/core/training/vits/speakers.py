"""One speaker of a multi-speaker base, made into a single-speaker generator.

VoiceLab fine-tunes single-speaker voices. A multi-speaker Piper base (libritts, vctk, …)
conditions its generator on a speaker vector `g = emb_g[speaker]` (gin_channels wide)
through small 1×1 convolutions: `dec.cond` is added after the decoder's first convolution,
`dp.cond` after the duration predictor's input convolution, and each WaveNet block's
`cond_layer` (posterior encoder, every coupling layer of the flow) adds one slice per layer
to that layer's input convolution. For a fixed speaker each of those terms is a constant
vector `W·g + b`, so it can be added to the bias of the convolution it follows: the
single-speaker generator built this way speaks *exactly* as the base does for that speaker
(tests compare the audio), and the trainer starts from that voice instead of learning a
speaker embedding for one speaker.

The alternatives were worse: keeping the multi-speaker shape exports a voice with a
speaker input and 512-wide conditioning paths that a one-speaker voice never needs, and
dropping the conditioning (what loading with `strict=False` does) starts from an average
of no speaker at all. The one inexact case is the non-stochastic duration predictor
(`use_sdp=False`, which no published Piper voice uses): its conditioning is added before a
masked 3-tap convolution, so the fold is exact except on the first and last frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SPEAKER_EMBEDDING = "emb_g.weight"


class SpeakerFoldError(ValueError):
    """The base's speaker conditioning has a shape this module does not know."""


def _effective_weight(state: Mapping[str, Any], prefix: str) -> Any:
    """A 1×1 convolution's weight, with weight norm (g, v) applied when it has one."""
    import torch

    if f"{prefix}.weight" in state:
        return state[f"{prefix}.weight"]
    g, v = state[f"{prefix}.weight_g"], state[f"{prefix}.weight_v"]
    return torch._weight_norm(v, g, 0)


def _condition(state: Mapping[str, Any], prefix: str, speaker_vector: Any) -> Any:
    """The constant `W·g + b` a conditioning convolution adds for one speaker."""
    weight = _effective_weight(state, prefix).float()
    if weight.dim() != 3 or weight.shape[2] != 1:
        raise SpeakerFoldError(f"{prefix} is not a 1x1 convolution (shape {tuple(weight.shape)})")
    term = weight[:, :, 0] @ speaker_vector.float()
    bias = state.get(f"{prefix}.bias")
    return term + bias.float() if bias is not None else term


def _add(state: dict[str, Any], key: str, delta: Any) -> None:
    if key not in state:
        raise SpeakerFoldError(f"the base has conditioning but no {key} to fold it into")
    original = state[key]
    if tuple(original.shape) != tuple(delta.shape):
        raise SpeakerFoldError(f"{key} has shape {tuple(original.shape)}, expected {tuple(delta.shape)}")
    state[key] = (original.float() + delta).to(original.dtype)


def _conditioning_prefixes(state: Mapping[str, Any]) -> list[str]:
    prefixes = []
    for key in state:
        for marker in (".cond_layer.", ".cond."):
            if marker in f".{key}":
                head = f".{key}".split(marker)[0].lstrip(".")
                prefix = f"{head}{marker[:-1]}" if head else marker.strip(".")
                if prefix not in prefixes:
                    prefixes.append(prefix)
    return prefixes


def fold_speaker(generator_state: Mapping[str, Any], speaker: int) -> tuple[dict[str, Any], list[str]]:
    """A single-speaker generator state speaking as `speaker` of a multi-speaker one.

    `generator_state` has keys without `model_g.`. Returns the new state (no `emb_g`, no
    conditioning layers) and the names of the biases that absorbed a speaker term.
    Raises `IndexError` for a speaker the base does not have and `SpeakerFoldError` for a
    conditioning layout it does not recognise.
    """
    import torch

    embedding = generator_state[SPEAKER_EMBEDDING]
    speakers = int(embedding.shape[0])
    if not 0 <= speaker < speakers:
        raise IndexError(f"speaker {speaker} is not in 0..{speakers - 1}")
    with torch.no_grad():
        vector = embedding[speaker].detach()
        state = {k: v.detach().clone() for k, v in generator_state.items()}
        folded: list[str] = []
        for prefix in _conditioning_prefixes(generator_state):
            constant = _condition(generator_state, prefix, vector)
            if prefix.endswith(".cond_layer"):  # WaveNet block: one 2·hidden slice per layer
                block = prefix[: -len(".cond_layer")]
                width = int(state[f"{block}.in_layers.0.bias"].shape[0])
                layers = constant.shape[0] // width
                if layers * width != constant.shape[0]:
                    raise SpeakerFoldError(f"{prefix} does not split into {width}-wide layers")
                for layer in range(layers):
                    key = f"{block}.in_layers.{layer}.bias"
                    _add(state, key, constant[layer * width:(layer + 1) * width])
                    folded.append(key)
            elif prefix == "dec.cond":
                _add(state, "dec.conv_pre.bias", constant)
                folded.append("dec.conv_pre.bias")
            elif prefix == "dp.cond" and "dp.pre.bias" in state:  # stochastic duration predictor
                _add(state, "dp.pre.bias", constant)
                folded.append("dp.pre.bias")
            elif prefix == "dp.cond":  # plain duration predictor: added before conv_1's taps
                conv = state["dp.conv_1.weight"].float()
                _add(state, "dp.conv_1.bias", torch.einsum("oik,i->o", conv, constant))
                folded.append("dp.conv_1.bias")
            else:
                raise SpeakerFoldError(f"unknown speaker conditioning {prefix}")
            for key in [k for k in state if k.startswith(f"{prefix}.")]:
                del state[key]
        del state[SPEAKER_EMBEDDING]
    return state, folded
