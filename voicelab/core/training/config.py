"""Every setting of a training run, validated, and Piper's quality levels.

A run's `train.yaml` holds a `TrainConfig` (plus a `lineage` section written by `runs.py`).
`config_from_dict` checks every value and raises one `TrainingConfigError` that lists each
wrong value with what to write instead, so a hand-edited YAML or a bad CLI flag fails before
a process starts, never an hour into training.

`QUALITIES` maps Piper's published quality names to their sample rate and the
`VitsModel` architecture their voices use (the same table piper's training scripts
apply; `x_low` and `low` are 16 kHz, `medium` and `high` 22.05 kHz). The advanced `model`
mapping can override any architecture or loss hyper-parameter of piper's `VitsModel` on
top of the quality's (tests use it for a tiny, fast model). Pure data: no torch here.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicelab.core.errors import VoiceLabError


class TrainingConfigError(VoiceLabError):
    """A training setting is missing or has a value the trainer cannot use."""


@dataclass(frozen=True)
class Quality:
    """One of Piper's quality levels: the audio rate and the model shape it implies."""

    sample_rate: int
    hparams: Mapping[str, Any]
    description: str


_LOW_DECODER = {
    "resblock": "2",
    "resblock_kernel_sizes": (3, 5, 7),
    "resblock_dilation_sizes": ((1, 2), (2, 6), (3, 12)),
    "upsample_rates": (8, 8, 4),
    "upsample_initial_channel": 256,
    "upsample_kernel_sizes": (16, 16, 8),
}
_HIGH_DECODER = {
    "resblock": "1",
    "resblock_kernel_sizes": (3, 7, 11),
    "resblock_dilation_sizes": ((1, 3, 5), (1, 3, 5), (1, 3, 5)),
    "upsample_rates": (8, 8, 2, 2),
    "upsample_initial_channel": 512,
    "upsample_kernel_sizes": (16, 16, 4, 4),
}
_STANDARD_CHANNELS = {"hidden_channels": 192, "inter_channels": 192, "filter_channels": 768}

#: Piper's published qualities. Each `hparams` is complete for the keys that differ between
#: qualities, so a base checkpoint's quality can be told from its hyper-parameters.
QUALITIES: dict[str, Quality] = {
    "x_low": Quality(16000, {**_LOW_DECODER, "hidden_channels": 96, "inter_channels": 96,
                             "filter_channels": 384}, "16 kHz, smallest and fastest (~7 M)"),
    "low": Quality(16000, {**_LOW_DECODER, **_STANDARD_CHANNELS}, "16 kHz (~15 M parameters)"),
    "medium": Quality(22050, {**_LOW_DECODER, **_STANDARD_CHANNELS},
                      "22.05 kHz, the usual choice (~15 M parameters)"),
    "high": Quality(22050, {**_HIGH_DECODER, **_STANDARD_CHANNELS},
                    "22.05 kHz, bigger decoder (~28 M parameters), slowest"),
}

PRECISIONS = ("32", "bf16-mixed", "16-mixed")
OPTIMIZERS = ("adamw", "adamw8bit")
#: The monotonic-alignment search: auto (torch on CUDA, numba on the CPU), numba, torch.
ALIGNMENTS = ("auto", "numba", "torch")
#: torch.compile of the fixed-size parts (decoder and discriminators): off, or decoder (CUDA only).
COMPILES = ("off", "decoder")
DEVICES = ("auto", "cpu", "cuda")
#: Lightning's strategy names VoiceLab's subprocess trainer can use. "ddp" (and "auto" with
#: several devices) runs as Lightning's ddp with unused-parameter detection, which piper's
#: two-optimizer step needs (see runner._strategy). Spawn-based strategies are left out:
#: they pickle the trainer's callbacks, which hold the event stream and the stop token.
STRATEGIES = ("auto", "ddp", "ddp_find_unused_parameters_true", "fsdp", "single_device")

#: Used when resources/preview_sentences.txt (the list previews.py also reads) is missing.
DEFAULT_PREVIEW_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back when you get this message.",
    "A rainbow appeared after the long summer storm.",
)


def default_preview_sentences() -> list[str]:
    """The bundled preview sentences, one a line ('#' starts a comment)."""
    from voicelab.resources import resource_path

    try:
        lines = resource_path("preview_sentences.txt").read_text(encoding="utf-8").splitlines()
    except OSError:
        return list(DEFAULT_PREVIEW_SENTENCES)
    sentences = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return sentences or list(DEFAULT_PREVIEW_SENTENCES)

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
_MODEL_DEFAULTS = {"hop_length": 256, "segment_size": 8192, "filter_length": 1024,
                   "win_length": 1024, "hidden_channels": 192, "n_heads": 2}


#: The generator's parts a fine-tune can keep as the base has them (setting -> VitsModel module).
FREEZABLE = {"posterior_encoder": "enc_q", "text_encoder": "enc_p", "duration_predictor": "dp",
             "flow": "flow", "decoder": "dec"}
DEFAULT_FREEZE = ("posterior_encoder",)


@dataclass
class TrainConfig:
    """Every setting of one training run (one dataset + one base + this)."""

    dataset: str
    quality: str = "medium"
    base: str | None = None
    base_sha256: str | None = None
    base_speaker: int | None = None
    #: Warm an .onnx voice base's untrained parts (posterior encoder, discriminator) from its
    #: own speech before the first step (training/warmup.py); 0 turns it off.
    base_warmup_steps: int = 400
    max_epochs: int | None = 1000
    max_steps: int | None = None
    batch_size: int = 16
    learning_rate: float = 2e-4
    accumulate_grad_batches: int = 1
    precision: str = "32"
    optimizer: str = "adamw"
    checkpoint_every_epochs: int | None = 1
    checkpoint_every_steps: int | None = None
    keep_best: int = 3
    validation_share: float | None = None
    validate_every_epochs: int = 1
    preview_every_epochs: int | None = 10
    preview_sentences: list[str] = field(default_factory=default_preview_sentences)
    preview_asr_model: str | None = None
    device: str = "auto"
    devices: int | str = 1
    strategy: str = "auto"
    num_nodes: int = 1
    num_workers: int = 1
    seed: int = 1234
    espeak_voice: str | None = None
    max_phonemes: int = 400
    max_seconds: float = 15.0
    trim_silence: bool = True
    #: Processes that prepare the clips (0: one per CPU core).
    prepare_workers: int = 0
    #: Where VITS' alignment search runs (see ALIGNMENTS and training/alignment_torch.py).
    alignment: str = "auto"
    #: Batches of clips of similar length (training/bucketing.py); off: piper's random batches.
    bucket_batches: bool = False
    #: See COMPILES and training/speedups.py.
    compile: str = "off"
    #: Parts of the generator kept as the base has them while fine-tuning (FREEZABLE; ignored
    #: without a base). The default keeps a voice's intonation: see model.freeze_for_finetune.
    freeze: list[str] = field(default_factory=lambda: list(DEFAULT_FREEZE))
    model: dict[str, Any] = field(default_factory=dict)

    @property
    def sample_rate(self) -> int:
        return QUALITIES[self.quality].sample_rate

    def model_hparams(self) -> dict[str, Any]:
        """The quality's architecture with the `model` overrides on top (lists, not tuples)."""
        merged: dict[str, Any] = {**QUALITIES[self.quality].hparams, **self.model}
        return {key: _plain(value) for key, value in merged.items()}

    def to_dict(self) -> dict[str, Any]:
        """Plain data for YAML and for the `started` event."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(TrainConfig))


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


# -- validation ----------------------------------------------------------------------------------
class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{key}: {message}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(float(value)))


def _positive_int(problems: _Problems, key: str, value: Any, *, optional: bool = False,
                  minimum: int = 1) -> Any:
    if value is None and optional:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not _is_int(value) or value < minimum:
        allowed = f"a whole number of at least {minimum}"
        if optional:
            allowed += " (or leave it empty)"
        problems.add(key, f"must be {allowed}, not {value!r}.")
        return None
    return value


def config_from_dict(data: Mapping[str, Any]) -> TrainConfig:
    """A checked `TrainConfig` from plain data (a parsed train.yaml, CLI flags).

    Unknown keys are refused (a typo must not silently fall back to a default); a
    `lineage` section is ignored here (runs.py reads it).
    """
    if not isinstance(data, Mapping):
        raise TrainingConfigError("A training configuration must be a mapping of settings "
                                  f"(key: value lines), not {type(data).__name__}.")
    problems = _Problems()
    values = {k: v for k, v in data.items() if k != "lineage"}
    unknown = [str(k) for k in values if k not in FIELD_NAMES]
    for key in unknown:
        close = _closest(key, FIELD_NAMES)
        problems.add(key, "is not a training setting" + (f"; did you mean '{close}'?" if close else
                                                         f". Settings: {', '.join(FIELD_NAMES)}."))
    values = {k: v for k, v in values.items() if k in FIELD_NAMES}
    if not values.get("dataset"):
        problems.add("dataset", "is required: the dataset folder to train on "
                                "(e.g. ~/VoiceLab/datasets/my-voice).")
    config = TrainConfig(dataset=str(values.get("dataset") or ""))
    checked: dict[str, Any] = {}

    def take(key: str, value: Any) -> None:
        if value is not None or key in values:
            checked[key] = value

    quality = values.get("quality", config.quality)
    if quality not in QUALITIES:
        problems.add("quality", f"must be one of {', '.join(QUALITIES)}, not {quality!r}.")
    else:
        take("quality", quality)

    for key in ("base", "base_sha256", "espeak_voice", "preview_asr_model"):
        if key in values:
            value = values[key]
            if value is not None and (not isinstance(value, (str, Path)) or not str(value).strip()):
                problems.add(key, f"must be text (or empty), not {value!r}.")
            else:
                take(key, None if value is None else str(value).strip())
    sha = checked.get("base_sha256")
    if sha is not None and not re.fullmatch(r"[0-9a-f]{64}", sha):
        problems.add("base_sha256", "must be 64 lower-case hex digits (a SHA-256), or empty.")

    for key in ("max_epochs", "max_steps", "checkpoint_every_epochs", "checkpoint_every_steps",
                "preview_every_epochs"):
        if key in values:
            value = values[key]
            if _is_int(value) and value in (0, -1) and key not in ("max_epochs", "max_steps"):
                value = None  # 0 or -1: "never"
            if key in ("max_epochs", "max_steps") and _is_int(value) and value == -1:
                value = None  # piper's "no limit"
            take(key, _positive_int(problems, key, value, optional=True))
    for key in ("batch_size", "accumulate_grad_batches", "validate_every_epochs", "num_nodes",
                "keep_best"):
        if key in values:
            take(key, _positive_int(problems, key, values[key]))
    if values.get("base_speaker") is not None:
        take("base_speaker", _positive_int(problems, "base_speaker", values["base_speaker"], minimum=0))
    for key, minimum in (("num_workers", 0), ("seed", 0), ("prepare_workers", 0)):
        if key in values:
            take(key, _positive_int(problems, key, values[key], minimum=minimum))
    if "max_phonemes" in values:
        take("max_phonemes", _positive_int(problems, "max_phonemes", values["max_phonemes"],
                                           minimum=8))

    if "learning_rate" in values:
        lr = values["learning_rate"]
        if not _is_number(lr) or not 0 < float(lr) < 1:
            problems.add("learning_rate", f"must be a number between 0 and 1 (Piper uses 2e-4 "
                                          f"from scratch, 1e-4 or less to fine-tune), not {lr!r}.")
        else:
            take("learning_rate", float(lr))
    if "max_seconds" in values:
        seconds = values["max_seconds"]
        if not _is_number(seconds) or not 1 <= float(seconds) <= 120:
            problems.add("max_seconds", f"must be a number of seconds from 1 to 120, not {seconds!r}.")
        else:
            take("max_seconds", float(seconds))
    if "validation_share" in values:
        share = values["validation_share"]
        if share is not None and (not _is_number(share) or not 0 <= float(share) < 0.5):
            problems.add("validation_share", "must be a fraction from 0 to 0.5 (e.g. 0.05), or "
                                             f"empty to keep the dataset's own split; not {share!r}.")
        else:
            take("validation_share", None if share is None else float(share))
    if "base_warmup_steps" in values:
        take("base_warmup_steps", _positive_int(problems, "base_warmup_steps",
                                                values["base_warmup_steps"], minimum=0))
    for key in ("trim_silence", "bucket_batches"):
        if key in values:
            if not isinstance(values[key], bool):
                problems.add(key, f"must be true or false, not {values[key]!r}.")
            else:
                take(key, values[key])

    if "precision" in values:
        precision = str(values["precision"])
        precision = {"32-true": "32", "fp32": "32", "bf16": "bf16-mixed", "16": "16-mixed",
                     "fp16": "16-mixed"}.get(precision, precision)
        if precision not in PRECISIONS:
            problems.add("precision", f"must be one of {', '.join(PRECISIONS)}, not "
                                      f"{values['precision']!r}.")
        else:
            take("precision", precision)
    for key, choices in (("optimizer", OPTIMIZERS), ("device", DEVICES), ("strategy", STRATEGIES),
                         ("alignment", ALIGNMENTS), ("compile", COMPILES)):
        if key in values:
            value = values[key]
            if value not in choices:
                problems.add(key, f"must be one of {', '.join(choices)}, not {value!r}.")
            else:
                take(key, value)
    if "devices" in values:
        devices = values["devices"]
        if isinstance(devices, str) and devices.strip().isdigit():
            devices = int(devices)
        if devices != "auto" and (not _is_int(devices) or devices < 1):
            problems.add("devices", f"must be a number of devices (1 or more) or 'auto', not {devices!r}.")
        else:
            take("devices", devices)

    if "preview_sentences" in values:
        sentences = values["preview_sentences"]
        if isinstance(sentences, str):
            sentences = [sentences]
        if not isinstance(sentences, (list, tuple)) or not all(
                isinstance(s, str) and s.strip() for s in sentences):
            problems.add("preview_sentences", "must be a list of non-empty sentences.")
        else:
            take("preview_sentences", [s.strip() for s in sentences])

    if "freeze" in values:
        freeze = values["freeze"]
        if freeze is None:
            freeze = []
        if isinstance(freeze, str):
            freeze = [part.strip() for part in freeze.split(",") if part.strip()]
        wrong = [part for part in freeze if part not in FREEZABLE] if isinstance(freeze, (list, tuple)) else [freeze]
        if wrong:
            problems.add("freeze", f"must list parts of {', '.join(FREEZABLE)} (or be empty), "
                                   f"not {wrong[0]!r}.")
        else:
            take("freeze", list(dict.fromkeys(freeze)))

    if "model" in values:
        take("model", _check_model(problems, values["model"]))

    _check_combinations(problems, {**dataclasses.asdict(config), **checked})
    if problems.items:
        raise TrainingConfigError("The training settings have problems:\n  - " +
                                  "\n  - ".join(problems.items))
    return dataclasses.replace(config, **checked)


def _check_model(problems: _Problems, model: Any) -> dict[str, Any]:
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
            close = _closest(str(key), MODEL_KEYS)
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
        return _is_int(value) and value >= (1 if kind == "int" else 0), value
    if kind == "float":
        return _is_number(value) and float(value) > 0, value
    if kind == "float_or_none":
        return value is None or (_is_number(value) and float(value) > 0), value
    if kind == "fraction":
        return _is_number(value) and 0 <= float(value) <= 1, value
    if kind == "bool":
        return isinstance(value, bool), value
    if kind == "resblock":
        return str(value) in ("1", "2"), str(value)
    if kind == "int_list":
        ok = isinstance(value, (list, tuple)) and bool(value) and all(
            _is_int(v) and v >= 1 for v in value)
        return ok, list(value) if ok else value
    if kind == "int_list_list":
        ok = isinstance(value, (list, tuple)) and bool(value) and all(
            isinstance(row, (list, tuple)) and row and all(_is_int(v) and v >= 1 for v in row)
            for row in value)
        return ok, [list(row) for row in value] if ok else value
    if kind == "float_pair":
        ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(
            _is_number(v) and 0 <= float(v) < 1 for v in value)
        return ok, [float(v) for v in value] if ok else value
    raise AssertionError(kind)


def _check_combinations(problems: _Problems, values: Mapping[str, Any]) -> None:
    """Settings that are each fine but do not work together."""
    quality = values.get("quality")
    if quality in QUALITIES:
        arch = {**_MODEL_DEFAULTS, **QUALITIES[quality].hparams, **(values.get("model") or {})}
        rates = arch.get("upsample_rates") or ()
        hop = arch.get("hop_length")
        if rates and _is_int(hop) and all(_is_int(r) for r in rates) and math.prod(rates) != hop:
            problems.add("model.upsample_rates", f"multiply to {math.prod(rates)}, but hop_length "
                                                 f"is {hop}: they must be equal.")
        kernels = arch.get("upsample_kernel_sizes") or ()
        if rates and kernels and len(kernels) != len(rates):
            problems.add("model.upsample_kernel_sizes", f"needs one kernel per upsample rate "
                                                        f"({len(rates)}), not {len(kernels)}.")
        segment = arch.get("segment_size")
        if _is_int(segment) and _is_int(hop) and segment % hop:
            problems.add("model.segment_size", f"must be a multiple of hop_length ({hop}), "
                                               f"not {segment}.")
        hidden, heads = arch.get("hidden_channels"), arch.get("n_heads")
        if _is_int(hidden) and _is_int(heads) and hidden % heads:
            problems.add("model.hidden_channels", f"must be divisible by n_heads ({heads}), "
                                                  f"not {hidden}.")
        win, fft = arch.get("win_length"), arch.get("filter_length")
        if _is_int(win) and _is_int(fft) and win > fft:
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
    if _is_int(devices) and devices > 1 and values.get("strategy") == "single_device":
        problems.add("strategy", f"single_device cannot use {devices} devices; use ddp or auto.")
    if values.get("max_epochs") is None and values.get("max_steps") is None:
        problems.add("max_epochs", "and max_steps are both empty (or -1): the run would never end. "
                                   "Set at least one, e.g. max_epochs 1000 or max_steps 20000.")
    if (values.get("checkpoint_every_epochs") is None and values.get("checkpoint_every_steps") is None):
        problems.add("checkpoint_every_epochs", "and checkpoint_every_steps are both empty: set at "
                                                "least one, or a stop could lose all training.")
    if values.get("preview_every_epochs") and not values.get("preview_sentences"):
        problems.add("preview_sentences", "must hold at least one sentence when previews are on.")


def _closest(word: str, choices) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.7)
    return matches[0] if matches else None


def load_config(path: Path) -> TrainConfig:
    """The config in a YAML file (a run's train.yaml or a user's settings file)."""
    from voicelab.core.fileio import read_yaml

    try:
        data = read_yaml(path)
    except FileNotFoundError:
        raise TrainingConfigError(f"Training settings file not found: {path}.") from None
    except Exception as error:  # yaml.YAMLError, UnicodeDecodeError, OSError
        detail = " ".join(str(error).split())[:300]
        raise TrainingConfigError(f"Cannot read training settings {path}: {detail}. Fix the file "
                                  "(it is YAML: one `key: value` a line).") from error
    if data is None:
        data = {}
    try:
        return config_from_dict(data)
    except TrainingConfigError as error:
        raise TrainingConfigError(f"{path}: {error}") from None
