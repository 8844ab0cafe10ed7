"""The checks behind `config_from_dict`: one value at a time, the `model` mapping, and the
settings that are each fine but do not work together.

Each check adds what is wrong to a `Problems` list instead of raising, so one error lists
every wrong value of a train.yaml at once, each with what to write instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from voicelab.core.training.vits.qualities import QUALITIES

#: `VitsModel` hyper-parameters the `model` mapping may override, with their kinds. The
#: others are set by VoiceLab (batch size, sample rate, symbols, speakers, learning rate,
#: the MOS predictor, warm starts: a base goes through `base`).
MODEL_KEYS: dict[str, str] = {
    "resblock": "resblock",
    "resblock_kernel_sizes": "int_list",
    "resblock_dilation_sizes": "int_list_list",
    "upsample_rates": "int_list",
    "upsample_initial_channel": "int",
    "upsample_kernel_sizes": "int_list",
    "filter_length": "int",
    "hop_length": "int",
    "win_length": "int",
    "mel_channels": "int",
    "mel_fmin": "float",
    "mel_fmax": "float_or_none",
    "inter_channels": "int",
    "hidden_channels": "int",
    "filter_channels": "int",
    "n_heads": "int",
    "n_layers": "int",
    "kernel_size": "int",
    "p_dropout": "fraction",
    "n_layers_q": "int",
    "use_spectral_norm": "bool",
    "gin_channels": "int0",
    "use_sdp": "bool",
    "segment_size": "int",
    "use_mrd": "bool",
    "learning_rate_d": "float",
    "betas": "float_pair",
    "betas_d": "float_pair",
    "eps": "float",
    "lr_decay": "fraction",
    "lr_decay_d": "fraction",
    "c_mel": "float",
    "c_kl": "float",
}
#: VitsModel's own defaults for the keys the checks below need.
MODEL_DEFAULTS = {"hop_length": 256, "segment_size": 8192, "filter_length": 1024,
                   "win_length": 1024, "hidden_channels": 192, "n_heads": 2}

class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{key}: {message}")


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(float(value)))


def positive_int(problems: Problems, key: str, value: Any, *, optional: bool = False,
                 minimum: int = 1) -> Any:
    if value is None and optional:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not is_int(value) or value < minimum:
        allowed = f"a whole number of at least {minimum}"
        if optional:
            allowed += " (or leave it empty)"
        problems.add(key, f"must be {allowed}, not {value!r}.")
        return None
    return value


def check_model(problems: Problems, model: Any) -> dict[str, Any]:
    if model is None:
        return {}
    if not isinstance(model, Mapping):
        problems.add("model", "must be a mapping of VitsModel settings, e.g. {hidden_channels: 96}.")
        return {}
    checked: dict[str, Any] = {}
    for key, value in model.items():
        name = f"model.{key}"
        kind = MODEL_KEYS.get(key)
        if kind is None:
            close = closest(str(key), MODEL_KEYS)
            reason = ("is set by VoiceLab itself (use the top-level setting)"
                      if key in ("batch_size", "sample_rate", "learning_rate", "num_symbols",
                                 "num_speakers", "mos_metric", "warmstart_ckpt",
                                 "vocoder_warmstart_ckpt", "dataset")
                      else "is not a VitsModel setting")
            problems.add(name, reason + (f"; did you mean '{close}'?" if close else "."))
            continue
        ok, value = _check_kind(kind, value)
        if not ok:
            problems.add(name, f"must be {_KIND_TEXT[kind]}, not {model[key]!r}.")
            continue
        checked[str(key)] = value
    return checked


_KIND_TEXT = {
    "int": "a whole number of at least 1",
    "int0": "a whole number of at least 0",
    "float": "a positive number",
    "float_or_none": "a positive number or empty",
    "fraction": "a number from 0 to 1",
    "bool": "true or false",
    "resblock": "'1' or '2'",
    "int_list": "a list of whole numbers, e.g. [8, 8, 4]",
    "int_list_list": "a list of lists of whole numbers, e.g. [[1, 2], [2, 6], [3, 12]]",
    "float_pair": "two numbers, e.g. [0.8, 0.99]",
}


def _check_kind(kind: str, value: Any) -> tuple[bool, Any]:
    if kind in ("int", "int0"):
        return is_int(value) and value >= (1 if kind == "int" else 0), value
    if kind == "float":
        return is_number(value) and float(value) > 0, value
    if kind == "float_or_none":
        return value is None or (is_number(value) and float(value) > 0), value
    if kind == "fraction":
        return is_number(value) and 0 <= float(value) <= 1, value
    if kind == "bool":
        return isinstance(value, bool), value
    if kind == "resblock":
        return str(value) in ("1", "2"), str(value)
    if kind == "int_list":
        ok = isinstance(value, (list, tuple)) and bool(value) and all(
            is_int(v) and v >= 1 for v in value)
        return ok, list(value) if ok else value
    if kind == "int_list_list":
        ok = isinstance(value, (list, tuple)) and bool(value) and all(
            isinstance(row, (list, tuple)) and row and all(is_int(v) and v >= 1 for v in row)
            for row in value)
        return ok, [list(row) for row in value] if ok else value
    if kind == "float_pair":
        ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(
            is_number(v) and 0 <= float(v) < 1 for v in value)
        return ok, [float(v) for v in value] if ok else value
    raise AssertionError(kind)


def check_combinations(problems: Problems, values: Mapping[str, Any]) -> None:
    """Settings that are each fine but do not work together."""
    quality = values.get("quality")
    if quality in QUALITIES:
        arch = {**MODEL_DEFAULTS, **QUALITIES[quality].hparams, **(values.get("model") or {})}
        rates = arch.get("upsample_rates") or ()
        hop = arch.get("hop_length")
        if rates and is_int(hop) and all(is_int(r) for r in rates) and math.prod(rates) != hop:
            problems.add("model.upsample_rates", f"multiply to {math.prod(rates)}, but hop_length "
                                                 f"is {hop}: they must be equal.")
        kernels = arch.get("upsample_kernel_sizes") or ()
        if rates and kernels and len(kernels) != len(rates):
            problems.add("model.upsample_kernel_sizes", f"needs one kernel per upsample rate "
                                                        f"({len(rates)}), not {len(kernels)}.")
        segment = arch.get("segment_size")
        if is_int(segment) and is_int(hop) and segment % hop:
            problems.add("model.segment_size", f"must be a multiple of hop_length ({hop}), "
                                               f"not {segment}.")
        hidden, heads = arch.get("hidden_channels"), arch.get("n_heads")
        if is_int(hidden) and is_int(heads) and hidden % heads:
            problems.add("model.hidden_channels", f"must be divisible by n_heads ({heads}), "
                                                  f"not {hidden}.")
        win, fft = arch.get("win_length"), arch.get("filter_length")
        if is_int(win) and is_int(fft) and win > fft:
            problems.add("model.win_length", f"must not exceed filter_length ({fft}).")
    device, precision = values.get("device"), values.get("precision")
    if device == "cpu" and precision == "16-mixed":
        problems.add("precision", "16-mixed needs a CUDA GPU; on the CPU use bf16-mixed or 32.")
    if values.get("optimizer") == "adamw8bit" and device == "cpu":
        problems.add("optimizer", "adamw8bit (bitsandbytes) runs only on a CUDA GPU; use adamw "
                                  "on the CPU.")
    devices = values.get("devices")
    if device == "cpu" and values.get("strategy") == "fsdp":
        problems.add("strategy", "fsdp needs CUDA GPUs; use ddp on the CPU.")
    if is_int(devices) and devices > 1 and values.get("strategy") == "single_device":
        problems.add("strategy", f"single_device cannot use {devices} devices; use ddp or auto.")
    if values.get("max_epochs") is None and values.get("max_steps") is None:
        problems.add("max_epochs", "and max_steps are both empty (or -1): the run would never end. "
                                   "Set at least one, e.g. max_epochs 1000 or max_steps 20000.")
    if (values.get("checkpoint_every_epochs") is None and values.get("checkpoint_every_steps") is None):
        problems.add("checkpoint_every_epochs", "and checkpoint_every_steps are both empty: set at "
                                                "least one, or a stop could lose all training.")
    if values.get("preview_every_epochs") and not values.get("preview_sentences"):
        problems.add("preview_sentences", "must hold at least one sentence when previews are on.")


def closest(word: str, choices) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.7)
    return matches[0] if matches else None
