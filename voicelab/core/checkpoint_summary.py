"""What the UI shows about a checkpoint `checkpoints.load_checkpoint` returned.

Apart from checkpoints.py, which is about opening a file safely: this only reads the
plain dict a load gave, and recognises tensors by their `shape` and `numel`, so it never
imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_EMBEDDING_SUFFIX = "enc_p.emb.weight"  # phoneme embedding: rows = number of symbols
_SPEAKER_SUFFIX = "emb_g.weight"  # speaker embedding: rows = number of speakers
_HPARAM_KEYS = ("hidden_channels", "inter_channels", "filter_channels", "n_layers", "quality")


def checkpoint_summary(ckpt: Mapping[str, Any]) -> dict[str, Any]:
    """Plain facts about a loaded checkpoint for display: versions, progress, voice shape.

    Values missing from the file are None. The voice shape comes from the saved
    hyper-parameters and, for a bare state dict, from the embedding tensors' shapes.
    """
    hparams = _hyper_parameters(ckpt)
    weights = _weights(ckpt)
    summary: dict[str, Any] = {
        "format": _format(ckpt, weights),
        "lightning_version": _as_str(ckpt.get("pytorch-lightning_version")),
        "epoch": _as_int(ckpt.get("epoch")),
        "global_step": _as_int(ckpt.get("global_step")),
        "sample_rate": _as_int(hparams.get("sample_rate")),
        "num_symbols": _as_int(hparams.get("num_symbols")) or _rows(weights, _EMBEDDING_SUFFIX),
        "num_speakers": _as_int(hparams.get("num_speakers")) or _speakers_from(weights),
        "num_parameters": _parameter_count(weights),
        "has_optimizer_state": _has_optimizer_state(ckpt),
    }
    for key in _HPARAM_KEYS:
        summary[key] = _plain(hparams.get(key))
    return summary


def _hyper_parameters(ckpt: Mapping[str, Any]) -> Mapping[str, Any]:
    hparams = ckpt.get("hyper_parameters")
    return hparams if isinstance(hparams, Mapping) else {}


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "numel")


def _weights(ckpt: Mapping[str, Any]) -> Mapping[str, Any]:
    """The model weights: `state_dict` of a Lightning checkpoint, or the file itself."""
    state = ckpt.get("state_dict")
    if isinstance(state, Mapping):
        return state
    if ckpt and all(_is_tensor(value) for value in ckpt.values()):
        return ckpt
    return {}


def _format(ckpt: Mapping[str, Any], weights: Mapping[str, Any]) -> str:
    if "pytorch-lightning_version" in ckpt:
        return "lightning"
    if weights is ckpt:
        return "state_dict"
    return "other"


def _rows(weights: Mapping[str, Any], suffix: str) -> int | None:
    for key, value in weights.items():
        if str(key).endswith(suffix) and _is_tensor(value) and len(value.shape) >= 1:
            return int(value.shape[0])
    return None


def _speakers_from(weights: Mapping[str, Any]) -> int | None:
    """A VITS generator has a speaker embedding only when it has more than one speaker."""
    speakers = _rows(weights, _SPEAKER_SUFFIX)
    if speakers is not None:
        return speakers
    return 1 if _rows(weights, _EMBEDDING_SUFFIX) is not None else None


def _parameter_count(weights: Mapping[str, Any]) -> int | None:
    if not weights:
        return None
    return sum(int(value.numel()) for value in weights.values() if _is_tensor(value))


def _has_optimizer_state(ckpt: Mapping[str, Any]) -> bool:
    """True when training can resume exactly: some optimizer has per-parameter state."""
    states = ckpt.get("optimizer_states")
    if not isinstance(states, (list, tuple)):
        return False
    return any(isinstance(state, Mapping) and state.get("state") for state in states)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if _is_tensor(value) and value.numel() == 1:
        return int(value.item())
    return None


def _as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _plain(value: Any) -> Any:
    """Keep display values to plain data the UI can print."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return str(value)
