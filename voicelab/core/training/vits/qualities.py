"""Piper's published quality levels: the one table of their rates and model shapes.

`QUALITIES` maps each quality name to its sample rate and the `VitsModel` architecture its
voices use (the same table piper's training scripts apply; `x_low` and `low` are 16 kHz,
`medium` and `high` 22.05 kHz). A run's settings choose one (run/config.py); a base's
weights are matched against them (`matching_quality`); the generator's defaults are
medium's (vits/architecture.py). Pure data: no torch here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Quality:
    """One of Piper's quality levels: the audio rate and the model shape it implies."""

    sample_rate: int
    hparams: Mapping[str, Any]
    description: str


LOW_DECODER = {
    "resblock": "2",
    "resblock_kernel_sizes": (3, 5, 7),
    "resblock_dilation_sizes": ((1, 2), (2, 6), (3, 12)),
    "upsample_rates": (8, 8, 4),
    "upsample_initial_channel": 256,
    "upsample_kernel_sizes": (16, 16, 8),
}
HIGH_DECODER = {
    "resblock": "1",
    "resblock_kernel_sizes": (3, 7, 11),
    "resblock_dilation_sizes": ((1, 3, 5), (1, 3, 5), (1, 3, 5)),
    "upsample_rates": (8, 8, 2, 2),
    "upsample_initial_channel": 512,
    "upsample_kernel_sizes": (16, 16, 4, 4),
}
STANDARD_CHANNELS = {"hidden_channels": 192, "inter_channels": 192, "filter_channels": 768}

#: Piper's published qualities. Each `hparams` is complete for the keys that differ between
#: qualities, so a base checkpoint's quality can be told from its hyper-parameters.
QUALITIES: dict[str, Quality] = {
    "x_low": Quality(16000, {**LOW_DECODER, "hidden_channels": 96, "inter_channels": 96,
                             "filter_channels": 384}, "16 kHz, smallest and fastest (~7 M)"),
    "low": Quality(16000, {**LOW_DECODER, **STANDARD_CHANNELS}, "16 kHz (~15 M parameters)"),
    "medium": Quality(22050, {**LOW_DECODER, **STANDARD_CHANNELS},
                      "22.05 kHz, the usual choice (~15 M parameters)"),
    "high": Quality(22050, {**HIGH_DECODER, **STANDARD_CHANNELS},
                    "22.05 kHz, bigger decoder (~28 M parameters), slowest"),
}

#: Hyper-parameters that decide whether two generators have the same shape. Sample rate
#: is compared separately (it changes no weight shape, but a base trained at another rate
#: speaks at the wrong pitch and speed).
ARCHITECTURE_KEYS = (
    "hidden_channels", "inter_channels", "filter_channels", "n_heads", "n_layers",
    "kernel_size", "resblock", "resblock_kernel_sizes", "resblock_dilation_sizes",
    "upsample_rates", "upsample_initial_channel", "upsample_kernel_sizes", "filter_length",
    "hop_length", "use_sdp",
)


def _normalized(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_normalized(item) for item in value)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    return str(value) if value is not None else None


def architecture_differences(arch: Mapping[str, Any], quality_hparams: Mapping[str, Any]
                             ) -> dict[str, tuple[Any, Any]]:
    """{key: (base value, quality value)} for every architecture key that differs."""
    differences = {}
    for key in ARCHITECTURE_KEYS:
        if key not in quality_hparams:
            continue
        base_value, wanted = _normalized(arch.get(key)), _normalized(quality_hparams[key])
        if base_value != wanted:
            differences[key] = (base_value, wanted)
    return differences


def matching_quality(arch: Mapping[str, Any], sample_rate: int | None) -> str | None:
    """The quality whose sample rate and architecture this generator has, if exactly one."""
    names = [
        name for name, quality in QUALITIES.items()
        if not architecture_differences(arch, quality.hparams)
        and (sample_rate is None or int(quality.sample_rate) == int(sample_rate))
    ]
    return names[0] if len(names) == 1 else None
