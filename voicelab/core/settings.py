"""User settings: a small YAML file, validated on load, upgraded by migrations.

Why not QSettings: the core and the CLI read the same settings without Qt, and a person can
read and fix the file by hand. A file that cannot be parsed, or holds wrong values, never
stops the app: bad values fall back to defaults with a message, and the original file is
copied aside (`settings.yaml.bak`) before anything could overwrite it.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import yaml

from voicelab.core.fileio import atomic_write_yaml

SCHEMA_VERSION = 1

ASR_MODELS = (
    "tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en",
    "large-v1", "large-v2", "large-v3", "turbo",
)
DEVICES = ("auto", "cpu", "cuda")
THEMES = ("system", "light", "dark")

# Each migration takes the raw mapping of version N and returns the mapping of version N+1.
# A newer VoiceLab that changes the file's shape bumps SCHEMA_VERSION and adds an entry here,
# so older files are upgraded instead of dropped.
MIGRATIONS: Dict[int, Callable[[Dict[str, Any]], Dict[str, Any]]] = {}


@dataclass
class Settings:
    """Everything the user can set; defaults are what a first launch uses."""

    schema_version: int = SCHEMA_VERSION
    workspace: Optional[str] = None  # data folder; None = the platform's user data folder
    asr_model: str = "base.en"
    asr_language: str = "auto"  # "auto" or an ISO 639-1 code such as "en"
    device: str = "auto"
    theme: str = "system"
    last_dataset: Optional[str] = None
    last_run: Optional[str] = None
    last_preset: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)  # unknown keys, kept so nothing is lost

    def to_dict(self) -> Dict[str, Any]:
        data = dataclasses.asdict(self)
        extra = data.pop("extra")
        data.update(extra)
        return data


def _is_optional_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _language_ok(value: Any) -> bool:
    return isinstance(value, str) and (value == "auto" or (2 <= len(value) <= 3 and value.isalpha()))


_VALIDATORS: Dict[str, tuple] = {
    "workspace": (_is_optional_str, "a folder path"),
    "asr_model": (lambda v: v in ASR_MODELS, "one of " + ", ".join(ASR_MODELS)),
    "asr_language": (_language_ok, "'auto' or a language code such as 'en'"),
    "device": (lambda v: v in DEVICES, "one of " + ", ".join(DEVICES)),
    "theme": (lambda v: v in THEMES, "one of " + ", ".join(THEMES)),
    "last_dataset": (_is_optional_str, "a name"),
    "last_run": (_is_optional_str, "a name"),
    "last_preset": (_is_optional_str, "a name"),
}


SETTING_NAMES = tuple(_VALIDATORS)


def check_setting(key: str, value: Any) -> Optional[str]:
    """None when `value` is valid for setting `key`, else what it must be (for a message).

    The one rule book for a value: loading a file, the CLI and the Settings dialog all ask here.
    Unknown keys are not checked (they are kept as they are).
    """
    rule = _VALIDATORS.get(key)
    if rule is None:
        return None
    valid, expected = rule
    return None if valid(value) else expected


@dataclass
class SettingsLoad:
    """What loading produced: the settings to use, and what the user should be told."""

    settings: Settings
    problems: List[str] = field(default_factory=list)
    backup: Optional[Path] = None


def backup_path(path: Path) -> Path:
    """The first free name among settings.yaml.bak, settings.yaml.bak1, …; never overwrites."""
    candidate = path.with_name(path.name + ".bak")
    number = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak{number}")
        number += 1
    return candidate


def migrate(data: Dict[str, Any], to_version: Optional[int] = None) -> Dict[str, Any]:
    """Upgrade a raw settings mapping step by step to `to_version` (default: current)."""
    to_version = SCHEMA_VERSION if to_version is None else to_version
    version = data.get("schema_version", 1)
    while version < to_version:
        step = MIGRATIONS.get(version)
        if step is None:
            raise KeyError(f"no migration from settings schema version {version}")
        data = step(dict(data))
        version += 1
        data["schema_version"] = version
    return data


def load_settings(path: Path) -> SettingsLoad:
    """Read settings from `path`, never raising for a bad file.

    Missing file: defaults, no problems. Unparsable file or wrong values: the original is
    copied aside, valid values are kept, and each problem is listed for the user.
    """
    if not path.exists():
        return SettingsLoad(Settings())
    result = SettingsLoad(Settings())
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        result.backup = _keep_aside(path)
        result.problems.append(
            f"The settings file {path} could not be read ({_first_line(exc)}). VoiceLab uses "
            f"default settings; your file was kept as {result.backup.name}."
        )
        return result
    if raw is None:
        return result
    if not isinstance(raw, dict):
        result.backup = _keep_aside(path)
        result.problems.append(
            f"The settings file {path} does not hold a mapping of settings. VoiceLab uses "
            f"default settings; your file was kept as {result.backup.name}."
        )
        return result

    version = raw.get("schema_version", 1)
    if not isinstance(version, int) or version < 1:
        result.problems.append(f"schema_version {version!r} is not a positive whole number; read as version 1.")
        version = 1
        raw["schema_version"] = 1
    if version > SCHEMA_VERSION:
        result.backup = _keep_aside(path)
        result.problems.append(
            f"The settings file {path} was written by a newer VoiceLab (schema {version}, this one "
            f"reads {SCHEMA_VERSION}). Known settings were read; the file was kept as {result.backup.name}."
        )
    elif version < SCHEMA_VERSION:
        result.backup = _keep_aside(path)
        try:
            raw = migrate(raw)
        except Exception as exc:  # a broken migration must not lose the file
            result.problems.append(f"Upgrading the settings file failed ({exc}); defaults are used.")
            return result

    settings = Settings()
    for key, value in raw.items():
        if key == "schema_version":
            continue
        if key not in _VALIDATORS:
            settings.extra[key] = value
            continue
        expected = check_setting(key, value)
        if expected is None:
            setattr(settings, key, value)
        else:
            if result.backup is None:
                result.backup = _keep_aside(path)
            result.problems.append(
                f"Setting '{key}' in {path} is {value!r}, but must be {expected}; "
                f"the default {getattr(settings, key)!r} is used."
            )
    result.settings = settings
    return result


def save_settings(path: Path, settings: Settings) -> None:
    data = settings.to_dict()
    data["schema_version"] = SCHEMA_VERSION
    atomic_write_yaml(path, data)


def _keep_aside(path: Path) -> Path:
    target = backup_path(path)
    shutil.copy2(path, target)
    return target


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
