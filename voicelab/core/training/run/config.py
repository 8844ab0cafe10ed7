"""Every setting of a training run, validated.

A run's `train.yaml` holds a `TrainConfig` (plus a `lineage` section written by `runs.py`).
`config_from_dict` checks every value and raises one `TrainingConfigError` that lists each
wrong value with what to write instead, so a hand-edited YAML or a bad CLI flag fails before
a process starts, never an hour into training.

A run's quality is one of Piper's (vits/qualities.py). The advanced `model` mapping can
override any architecture or loss hyper-parameter of piper's `VitsModel` on top of the
quality's (tests use it for a tiny, fast model). Pure data: no torch here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicelab.core.audio import SPEECH_LEVEL_DB
from voicelab.core.errors import VoiceLabError
from voicelab.core.training.run.config_checks import (
    Problems,
    check_combinations,
    check_model,
    closest,
    is_int,
    is_number,
    positive_int,
)
from voicelab.core.training.vits.qualities import QUALITIES


class TrainingConfigError(VoiceLabError):
    """A training setting is missing or has a value the trainer cannot use."""


PRECISIONS = ("32", "bf16-mixed", "16-mixed")
OPTIMIZERS = ("adamw", "adamw8bit")
#: The monotonic-alignment search: auto (torch on CUDA, numba on the CPU), numba, torch.
ALIGNMENTS = ("auto", "numba", "torch")
#: torch.compile of the fixed-size parts (decoder and discriminators): off, or decoder (CUDA only).
COMPILES = ("off", "decoder")
DEVICES = ("auto", "cpu", "cuda")
#: Lightning's strategy names VoiceLab's subprocess trainer can use. "ddp" (and "auto" with
#: several devices) runs as Lightning's ddp with unused-parameter detection, which piper's
#: two-optimizer step needs (see trainer/devices.strategy). Spawn-based strategies are left out:
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



#: The generator's parts a fine-tune can keep as the base has them (setting -> VitsModel module).
FREEZABLE = {"posterior_encoder": "enc_q", "text_encoder": "enc_p", "duration_predictor": "dp",
             "flow": "flow", "decoder": "dec",
             "prior_spread": "enc_p.proj"}  # its log-std half only: model.keep_prior_spread
#: What a fine-tune keeps as the base has it (model.freeze_for_finetune says why, with the
#: measurements): the posterior encoder, the prior's spread, the flow and the duration predictor.
#: The text encoder (the speaker's pitch) and the decoder (the timbre) learn.
DEFAULT_FREEZE = ("posterior_encoder", "prior_spread", "flow", "duration_predictor")

#: Piper's learning rate: a voice trained from scratch ("base": none) gets it.
SCRATCH_LEARNING_RATE = 2e-4
#: A fine-tune's (every run from a base voice, which is the default run). A converted voice
#: sits at its optimum, and Adam's first updates move every weight by about the learning rate
#: whatever the data say: at 2e-4 that alone flattened joe's intonation on joe's own speech
#: (CPU bench: 2.42 -> 1.13 semitones by step 180; 1e-4: 2.10); at 2e-5 it fell slowly (2.82
#: -> 2.09 by step 600, 8 sentences) until the flow and the duration predictor were kept too
#: (DEFAULT_FREEZE), while the pitch still moves toward a new speaker
#: (bench/finetune_from_voice.py; issue 14's closing notes have the tables).
FINETUNE_LEARNING_RATE = 2e-5
#: A fine-tune's decoder's (the rest of the generator keeps FINETUNE_LEARNING_RATE). The decoder
#: carries the new speaker's timbre, and in a swap it kept the intonation (model.freeze_for_finetune).
#: CPU bench, joe -> +5 semitones, likeness at steps 60/120/180/240: at 2e-5, 0.00/0.00/0.07/0.13;
#: at 1e-4, 0.18/0.26/0.32/0.41, but Whisper's word errors grew (3 -> 17 %) and joe on joe's
#: own speech went from a spread of 2.82 to 2.55 semitones by step 240 (2.89 at 2e-5).
#: At 5e-5, from Train on 2 CPU cores: likeness 0.30 at 23 min and 0.36 at 27 (step 360), WER
#: 8 %, the pitch 3.5 semitones nearer; joe on joe kept its spread for 600 steps (2.82 -> 2.78)
#: but Whisper missed 2-5 of 88 words (1 at step 0). That blur is the text encoder's, not the
#: decoder's: the step-600 decoder alone keeps every word (bench/module_swap.py), and the text
#: encoder alone, at 2e-5 or 1e-5, misses 5. A text encoder at 1e-5 also left the decoder ahead
#: of the prior it is fed (WER 20-25 % at steps 360-480 on the new speaker).
FINETUNE_DECODER_LEARNING_RATE = 5e-5


def rate_text(value: float) -> str:
    """A learning rate as people write it (2e-05 -> '2e-5'), for the form, the CLI and errors."""
    if value >= 1e-3:
        return f"{value:g}"
    mantissa, exponent = f"{value:e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


#: What a run trained with for a setting its train.yaml predates (a setting added later has no
#: key there): resuming it keeps its recipe, and its saved optimizer state still fits. A new
#: setting whose default would change an older run's training gets its old value here.
OLD_RUN_VALUES: dict[str, Any] = {
    "decoder_learning_rate": None,  # one optimizer group at the run's rate
    "clip_level_db": None,  # each clip at the level it was recorded at
}


def default_decoder_learning_rate(base: Any) -> float | None:
    """The decoder's rate when none is set: a fine-tune's own, or (None) the learning rate's."""
    return FINETUNE_DECODER_LEARNING_RATE if base else None


def default_learning_rate(base: Any) -> float:
    """The learning rate a run gets when none is set: a fine-tune's, or Piper's from scratch."""
    return FINETUNE_LEARNING_RATE if base else SCRATCH_LEARNING_RATE


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
    #: Follows the base when not set (default_learning_rate; config_from_dict applies it).
    learning_rate: float = SCRATCH_LEARNING_RATE
    #: The decoder's own rate (model.generator_groups); None: the learning rate's. Follows the
    #: base when not set (default_decoder_learning_rate).
    decoder_learning_rate: float | None = None
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
    #: The level (dBFS RMS) every prepared clip is scaled to, peaks under -1 dBFS; None keeps
    #: each clip's own. Why one level: the default recipe was measured on clips at -18.6 to
    #: -20.3 dBFS, and the same clips 7 dB quieter lost the new voice by step 120 (prepare_pool).
    clip_level_db: float | None = SPEECH_LEVEL_DB
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


def config_from_dict(data: Mapping[str, Any]) -> TrainConfig:
    """A checked `TrainConfig` from plain data (a parsed train.yaml, CLI flags).

    Unknown keys are refused (a typo must not silently fall back to a default); a
    `lineage` section is ignored here (runs.py reads it).
    """
    if not isinstance(data, Mapping):
        raise TrainingConfigError("A training configuration must be a mapping of settings "
                                  f"(key: value lines), not {type(data).__name__}.")
    problems = Problems()
    values = {k: v for k, v in data.items() if k != "lineage"}
    unknown = [str(k) for k in values if k not in FIELD_NAMES]
    for key in unknown:
        close = closest(key, FIELD_NAMES)
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

    _check_names(values, problems, take)
    _check_counts(values, problems, take)
    _check_numbers(values, problems, take)
    _check_choices(values, problems, take)
    _check_lists(values, problems, take)

    if "model" in values:
        take("model", check_model(problems, values["model"]))

    check_combinations(problems, {**dataclasses.asdict(config), **checked})
    if problems.items:
        raise TrainingConfigError("The training settings have problems:\n  - " +
                                  "\n  - ".join(problems.items))
    return dataclasses.replace(config, **checked)


def _check_names(values: Mapping[str, Any], problems: Problems, take: Callable[[str, Any], None]) -> None:
    """The quality and the settings that are text (paths, names, a checksum)."""
    quality = values.get("quality", TrainConfig.quality)
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
    sha = values.get("base_sha256")
    if isinstance(sha, (str, Path)) and str(sha).strip() and not re.fullmatch(r"[0-9a-f]{64}", str(sha).strip()):
        problems.add("base_sha256", "must be 64 lower-case hex digits (a SHA-256), or empty.")


def _check_counts(values: Mapping[str, Any], problems: Problems, take: Callable[[str, Any], None]) -> None:
    """Steps, epochs, sizes and counts: whole numbers, some optional."""
    for key in ("max_epochs", "max_steps", "checkpoint_every_epochs", "checkpoint_every_steps",
                "preview_every_epochs"):
        if key in values:
            value = values[key]
            if is_int(value) and value in (0, -1) and key not in ("max_epochs", "max_steps"):
                value = None  # 0 or -1: "never"
            if key in ("max_epochs", "max_steps") and is_int(value) and value == -1:
                value = None  # piper's "no limit"
            take(key, positive_int(problems, key, value, optional=True))
    for key in ("batch_size", "accumulate_grad_batches", "validate_every_epochs", "num_nodes",
                "keep_best"):
        if key in values:
            take(key, positive_int(problems, key, values[key]))
    if values.get("base_speaker") is not None:
        take("base_speaker", positive_int(problems, "base_speaker", values["base_speaker"], minimum=0))
    for key, minimum in (("num_workers", 0), ("seed", 0), ("prepare_workers", 0)):
        if key in values:
            take(key, positive_int(problems, key, values[key], minimum=minimum))
    if "max_phonemes" in values:
        take("max_phonemes", positive_int(problems, "max_phonemes", values["max_phonemes"],
                                          minimum=8))


def _check_rate(values: Mapping[str, Any], problems: Problems, take: Callable[[str, Any], None],
                key: str, *, by_base: float | None, examples: str, nullable: bool) -> None:
    """One learning rate: empty (or absent) follows the base; null, where `nullable`, is the
    run's own learning rate; anything else is a number in (0, 1)."""
    rate = values.get(key, "")
    if rate is None and nullable:
        take(key, None)
    elif rate is None or (isinstance(rate, str) and not rate.strip()):
        take(key, by_base)
    elif not is_number(rate) or not 0 < float(rate) < 1:
        tail = ", or null for the learning rate's;" if nullable else ","
        problems.add(key, f"must be a number between 0 and 1 ({examples}){tail} not {rate!r}.")
    else:
        take(key, float(rate))


def _check_numbers(values: Mapping[str, Any], problems: Problems, take: Callable[[str, Any], None]) -> None:
    """Rates, seconds, shares and switches."""
    base = str(values.get("base") or "").strip()
    _check_rate(values, problems, take, "learning_rate", by_base=default_learning_rate(base),
                examples=f"{rate_text(FINETUNE_LEARNING_RATE)} to fine-tune, "
                         f"{rate_text(SCRATCH_LEARNING_RATE)} from scratch", nullable=False)
    _check_rate(values, problems, take, "decoder_learning_rate",
                by_base=default_decoder_learning_rate(base),
                examples=f"{rate_text(FINETUNE_DECODER_LEARNING_RATE)} to fine-tune", nullable=True)
    if "max_seconds" in values:
        seconds = values["max_seconds"]
        if not is_number(seconds) or not 1 <= float(seconds) <= 120:
            problems.add("max_seconds", f"must be a number of seconds from 1 to 120, not {seconds!r}.")
        else:
            take("max_seconds", float(seconds))
    if "validation_share" in values:
        share = values["validation_share"]
        if share is not None and (not is_number(share) or not 0 <= float(share) < 0.5):
            problems.add("validation_share", "must be a fraction from 0 to 0.5 (e.g. 0.05), or "
                                             f"empty to keep the dataset's own split; not {share!r}.")
        else:
            take("validation_share", None if share is None else float(share))
    if "clip_level_db" in values:
        level = values["clip_level_db"]
        if level is not None and (not is_number(level) or not -40 <= float(level) <= -6):
            problems.add("clip_level_db", "must be a level in dBFS from -40 to -6 (e.g. "
                                          f"{SPEECH_LEVEL_DB:g}), or null to keep each clip's own; "
                                          f"not {level!r}.")
        else:
            take("clip_level_db", None if level is None else float(level))
    if "base_warmup_steps" in values:
        take("base_warmup_steps", positive_int(problems, "base_warmup_steps",
                                               values["base_warmup_steps"], minimum=0))
    for key in ("trim_silence", "bucket_batches"):
        if key in values:
            if not isinstance(values[key], bool):
                problems.add(key, f"must be true or false, not {values[key]!r}.")
            else:
                take(key, values[key])


def _check_choices(values: Mapping[str, Any], problems: Problems, take: Callable[[str, Any], None]) -> None:
    """Settings that are one of a list."""
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
        if devices != "auto" and (not is_int(devices) or devices < 1):
            problems.add("devices", f"must be a number of devices (1 or more) or 'auto', not {devices!r}.")
        else:
            take("devices", devices)


def _check_lists(values: Mapping[str, Any], problems: Problems, take: Callable[[str, Any], None]) -> None:
    """The preview sentences and the parts to freeze."""
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
