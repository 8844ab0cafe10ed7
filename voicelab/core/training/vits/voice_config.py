"""The voice config (`.onnx.json`) that goes with a checkpoint's generator.

A checkpoint holds weights and hyper-parameters but not everything a voice needs to speak:
the espeak voice and the phoneme → id map live in the training data's config, which
piper's data module writes next to the run (`config.json`, `PiperConfig.to_dict()`). This
module finds that file for a checkpoint, and fills in from the checkpoint what the file
may lack or get wrong: the sample rate, symbol and speaker counts come from the model
itself, because a config that disagrees with its model makes a voice that crashes or
speaks garbage. The result is what piper 1.8's `PiperVoice.load` reads
(`PiperConfig.from_dict`), plus the `audio.quality`, `dataset` and `language` fields of
Piper's published voices, which piper ignores and voice lists show.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from voicelab.core.errors import VoiceLabError

DEFAULT_ESPEAK_VOICE = "en-us"
CONFIG_NAMES = ("config.json", "voice.json", "dataset.json")


class VoiceConfigError(VoiceLabError):
    """No usable voice config could be made for a checkpoint."""


def find_run_config(checkpoint: Path) -> Path | None:
    """The training data's voice config for a checkpoint in a run folder, if there is one.

    Looks beside the checkpoint and up to two folders up (run/checkpoints/x.ckpt →
    run/config.json, run/data/config.json is also accepted).
    """
    folder = Path(checkpoint).resolve().parent
    for candidate_dir in (folder, folder.parent, folder.parent.parent):
        for sub in ("", "data", "cache"):
            for name in CONFIG_NAMES:
                candidate = candidate_dir / sub / name if sub else candidate_dir / name
                if candidate.is_file() and _looks_like_voice_config(candidate):
                    return candidate
    return None


def _looks_like_voice_config(path: Path) -> bool:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(raw, dict) and isinstance(raw.get("phoneme_id_map"), dict)


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise VoiceConfigError(f"The voice config {path} cannot be read: {error}.") from None
    if not isinstance(raw, dict):
        raise VoiceConfigError(f"{path} is not a Piper voice config.")
    return raw


def _ids(value: Any) -> list[int]:
    if isinstance(value, int):
        return [value]
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [int(item) for item in value]
    raise VoiceConfigError(f"a phoneme id map entry is {value!r}, not a list of ids")


def _piper_version() -> str:
    try:
        from importlib.metadata import version

        return version("piper-tts")
    except Exception:  # not installed as a distribution (frozen app): any 1.x reader works
        return "1.8.0"


def build_voice_config(arch: Mapping[str, Any], hparams: Mapping[str, Any], *,
                       base: Mapping[str, Any] | None = None, name: str | None = None,
                       quality: str | None = None) -> dict[str, Any]:
    """A complete voice config for a generator of shape `arch`.

    `base` is the training data's config (or any voice config) to start from; without it,
    the espeak voice comes from the checkpoint's hyper-parameters (`espeak_voice`) or is
    en-us, and the phoneme map is piper's default, which is what piper's trainer uses for
    espeak phonemes. Raises `VoiceConfigError` when the map has ids the model lacks.
    """
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

    config: dict[str, Any] = json.loads(json.dumps(dict(base))) if base else {}
    espeak = config.get("espeak") if isinstance(config.get("espeak"), dict) else {}
    voice = espeak.get("voice") or hparams.get("espeak_voice") or DEFAULT_ESPEAK_VOICE
    id_map = config.get("phoneme_id_map") or hparams.get("phoneme_id_map") or DEFAULT_PHONEME_ID_MAP
    id_map = {str(phoneme): _ids(ids) for phoneme, ids in dict(id_map).items()}
    num_symbols = int(arch["num_symbols"])
    too_big = sorted({i for ids in id_map.values() for i in ids if not 0 <= i < num_symbols})
    if too_big:
        raise VoiceConfigError(
            f"The phoneme map uses ids up to {too_big[-1]}, but the model knows only "
            f"{num_symbols} symbols. Use the config of the data this model was trained on."
        )
    num_speakers = int(arch["num_speakers"])
    audio = dict(config.get("audio") or {})
    audio["sample_rate"] = int(hparams.get("sample_rate") or audio.get("sample_rate") or arch["sample_rate"])
    if quality:
        audio["quality"] = quality
    inference = dict(config.get("inference") or {})
    inference.setdefault("noise_scale", 0.667)
    inference.setdefault("length_scale", 1.0)
    inference.setdefault("noise_w", 0.8)
    speaker_map = config.get("speaker_id_map") or {}
    config.update({
        "audio": audio,
        "espeak": {**espeak, "voice": str(voice)},
        "inference": inference,
        "phoneme_type": config.get("phoneme_type") or hparams.get("phoneme_type") or "espeak",
        "phoneme_map": config.get("phoneme_map") or {},
        "phoneme_id_map": id_map,
        "num_symbols": num_symbols,
        "num_speakers": num_speakers,
        "speaker_id_map": speaker_map if num_speakers > 1 else {},
        "hop_length": int(arch["hop_length"]),
        "piper_version": config.get("piper_version") or _piper_version(),
    })
    if num_speakers <= 1:
        config.pop("default_speaker_id", None)
    if name:
        config["dataset"] = name
    return config


def voice_config_for_checkpoint(checkpoint: Path, arch: Mapping[str, Any],
                                hparams: Mapping[str, Any], *,
                                config: Mapping[str, Any] | Path | None = None,
                                name: str | None = None,
                                quality: str | None = None) -> dict[str, Any]:
    """The voice config for a checkpoint: `config` if given, else the run's, else defaults."""
    base: Mapping[str, Any] | None
    if isinstance(config, (str, Path)):
        base = _read(Path(config))
    elif config is not None:
        base = config
    else:
        found = find_run_config(checkpoint)
        base = _read(found) if found else None
    if quality is None and base:
        quality = (base.get("audio") or {}).get("quality")
    return build_voice_config(arch, hparams, base=base, name=name, quality=quality)


def piper_config(config: Mapping[str, Any]) -> Any:
    """piper's `PiperConfig` for a config dict (the object `SpeechModel.config` returns)."""
    from piper.config import PiperConfig

    return PiperConfig.from_dict(dict(config))


def sample_phoneme_ids(config: Mapping[str, Any], num_symbols: int) -> list[int]:
    """Phoneme ids of a real sentence in this voice's map (random ids if it cannot phonemize)."""
    try:
        from piper import PiperVoice

        voice = PiperVoice(session=None, config=piper_config(config))  # type: ignore[arg-type]
        ids = [i for sentence in voice.phonemize("The quick brown fox jumps over the lazy dog.")
               for i in voice.phonemes_to_ids(sentence)]
        if len(ids) >= 8 and max(ids) < num_symbols:
            return ids
    except Exception:  # an exotic phoneme type: the trace does not depend on the values
        pass
    import torch

    generator = torch.Generator().manual_seed(1234)
    return torch.randint(1, num_symbols, (50,), generator=generator).tolist()
