"""An ONNX voice's plain weights in the form training needs.

Inference folds weight norm away, so a voice holds each conv kernel as plain `W`; training
keeps it as `weight_g · weight_v / ‖weight_v‖` (`training_state`). Some parts inference
never uses are in no voice at all (`untrained_part`), and a voice numbering its phonemes
differently from piper's map would speak with the wrong embedding rows
(`phoneme_map_conflicts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

#: Generator parts that inference never uses, so no ONNX voice holds them; everything else
#: must be found in the file. `dp.flows.1` is the ConvFlow piper's inference skips.
UNTRAINED_PARTS = {
    "enc_q.": "posterior encoder",
    "dp.post_": "duration predictor posterior",
    "dp.flows.1.": "duration predictor posterior",
}


#: weight_v = W · this, weight_g = ‖W‖: the effective weight g·v/‖v‖ is W whatever it is.
#: It sets how far one optimizer step turns a weight-normed kernel: Adam moves each element
#: of v by about the learning rate, so the turn per step shrinks as ‖v‖ grows. A trained
#: checkpoint's ‖v‖ has grown during training (weight norm's gradient is orthogonal to v);
#: v = W restarts it small, and a fresh Adam then turns the kernels (decoder and flow) fast.
#: In the CPU-sized bench (bench/finetune_from_voice.py, batch 4) v = W collapsed to a buzz
#: at the frame rate by step 18 (95 % of voiced frames at 86 Hz, pitch spread 0.3 st);
#: v = 10·W slowed it (32–39 % / 1.4–1.5 st at step 18, 57 % / 0.7 st at step 36) without
#: preventing it. Effective weights are identical either way; GPU scale is unmeasured (the
#: bench's joe-warm-v1 arm runs the old split).
WEIGHT_V_SCALE = 10.0


def training_state(weights: Mapping[str, np.ndarray], target: Mapping[str, Any],
                   v_scale: float | None = None) -> tuple[dict[str, Any], list[str]]:
    """Plain weights as the training generator's keys; also the weights that fit no key."""
    import torch

    state: dict[str, Any] = {}
    unused: list[str] = []
    for key, value in weights.items():
        tensor = torch.from_numpy(np.array(value, dtype=np.float32, copy=True))
        stem = key[: -len(".weight")] if key.endswith(".weight") else None
        if key in target:
            state[key] = tensor.reshape(target[key].shape) if tensor.numel() == target[key].numel() else tensor
        elif stem is not None and f"{stem}.weight_v" in target:
            dims = tuple(range(1, tensor.dim()))
            state[f"{stem}.weight_v"] = tensor * float(WEIGHT_V_SCALE if v_scale is None else v_scale)
            state[f"{stem}.weight_g"] = tensor.norm(dim=dims, keepdim=True) if dims else tensor.abs()
        else:
            unused.append(key)
    return state, unused


def phoneme_map_conflicts(config: Mapping[str, Any]) -> list[str]:
    """Phonemes the voice numbers differently from piper's default map (which VoiceLab's
    training data uses): each would be spoken with another phoneme's embedding row."""
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

    conflicts = []
    for phoneme, ids in (config.get("phoneme_id_map") or {}).items():
        wanted = DEFAULT_PHONEME_ID_MAP.get(phoneme)
        if wanted is not None and list(wanted) != list(ids if isinstance(ids, (list, tuple)) else [ids]):
            conflicts.append(phoneme)
    return conflicts


def untrained_part(key: str) -> str | None:
    """The generator part a weight belongs to when no ONNX voice holds it (else None)."""
    for prefix, part in UNTRAINED_PARTS.items():
        if key.startswith(prefix):
            return part
    if ".cond_layer." in key and key.startswith("enc_q."):
        return "posterior encoder"
    return None


def load_into(generator: Any, converted: Any) -> None:
    """Copy a converted voice's weights (`onnx_voice.ConvertedVoice.state`) into a training
    generator of the same shape."""
    import torch

    target = generator.state_dict()
    with torch.no_grad():
        for key, value in converted.state.items():
            target[key].copy_(value.to(dtype=target[key].dtype, device=target[key].device))
