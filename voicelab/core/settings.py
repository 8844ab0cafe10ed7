"""User settings: a small YAML file, validated on load, upgraded by migrations.

Why not QSettings: the core and the CLI read the same settings without Qt, and a person can
read and fix the file by hand. A file that cannot be parsed, or holds wrong values, never
stops the app: bad values fall back to defaults with a message (every time it is read, until
it is fixed), and the original file is copied aside (`settings.yaml.bak`) before anything
could overwrite it: once per distinct bad file, not once per launch.
"""

from __future__ import annotations

import dataclasses
import filecmp
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from voicelab.core.fileio import atomic_write_yaml, read_yaml

SCHEMA_VERSION = 1

ASR_MODELS = (
    "tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en",
    "large-v1", "large-v2", "large-v3", "turbo",
)
#: The languages the Dataset tab and the Settings dialog offer, as (code, name); the setting
#: itself takes any ISO code, and a code not listed here is shown as it is.
ASR_LANGUAGES = (
    ("auto", "Detect"), ("en", "English"), ("de", "German"), ("fr", "French"), ("es", "Spanish"),
    ("it", "Italian"), ("nl", "Dutch"), ("pt", "Portuguese"), ("pl", "Polish"), ("ru", "Russian"),
    ("uk", "Ukrainian"), ("cs", "Czech"), ("sv", "Swedish"), ("fi", "Finnish"), ("tr", "Turkish"),
    ("ar", "Arabic"), ("zh", "Chinese"), ("ja", "Japanese"), ("ko", "Korean"), ("hi", "Hindi"),
)
DEVICES = ("auto", "cpu", "cuda")
THEMES = ("system", "light", "dark")

# Each migration takes the raw mapping of version N and returns the mapping of version N+1.
# A newer VoiceLab that changes the file's shape bumps SCHEMA_VERSION and adds an entry here,
# so older files are upgraded instead of dropped.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


@dataclass
class Settings:
    """Everything the user can set; defaults are what a first launch uses."""

    schema_version: int = SCHEMA_VERSION
    workspace: str | None = None  # data folder; None = the platform's user data folder
    # tiny.en ships with VoiceLab (models.yaml, `included`), so a first import works offline;
    # the Dataset tab offers base.en, which makes fewer errors, in one click.
    asr_model: str = "tiny.en"
    asr_language: str = "auto"  # "auto" or an ISO 639-1 code such as "en"
    device: str = "auto"
    theme: str = "system"
    last_dataset: str | None = None
    last_run: str | None = None
    last_preset: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, kept so nothing is lost

    def to_dict(self) -> dict[str, Any]:
        # Field by field, not dataclasses.asdict: that deep-copies `extra`, whose values are
        # whatever the file held (YAML aliases can make a small file a huge tree to copy).
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        data.update(self.extra)
        return data


def language_name(code: str) -> str:
    """"German" for "de"; a code VoiceLab does not list is returned as it is."""
    return dict(ASR_LANGUAGES).get(code, code)


def _is_optional_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


#: Every language code Whisper transcribes (faster-whisper's list; a test keeps them equal).
#: A dataset's language is also its voice's espeak language, so a code outside this list is
#: refused when it is set, not an hour later when training cannot phonemize it.
WHISPER_LANGUAGES = frozenset(
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw "
    "he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt "
    "my ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl "
    "tr tt uk ur uz vi yi yo zh yue".split())


def _language_ok(value: Any) -> bool:
    return isinstance(value, str) and (value == "auto" or value in WHISPER_LANGUAGES)


_VALIDATORS: dict[str, tuple] = {
    "workspace": (_is_optional_str, "a folder path"),
    "asr_model": (lambda v: v in ASR_MODELS, "one of " + ", ".join(ASR_MODELS)),
    "asr_language": (_language_ok, "'auto' or a language code Whisper knows, such as 'en' or 'de'"),
    "device": (lambda v: v in DEVICES, "one of " + ", ".join(DEVICES)),
    "theme": (lambda v: v in THEMES, "one of " + ", ".join(THEMES)),
    "last_dataset": (_is_optional_str, "a name"),
    "last_run": (_is_optional_str, "a name"),
    "last_preset": (_is_optional_str, "a name"),
}


SETTING_NAMES = tuple(_VALIDATORS)


def check_setting(key: str, value: Any) -> str | None:
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
    problems: list[str] = field(default_factory=list)
    backup: Path | None = None


def backup_path(path: Path) -> Path:
    """The first free name among settings.yaml.bak, settings.yaml.bak1, …; never overwrites."""
    candidate = path.with_name(path.name + ".bak")
    number = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak{number}")
        number += 1
    return candidate


def migrate(data: dict[str, Any], to_version: int | None = None) -> dict[str, Any]:
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
        raw = read_yaml(path)
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
    """A copy of the bad file beside it; the copy made earlier when the file is the same."""
    for earlier in sorted(path.parent.glob(path.name + ".bak*")):
        try:
            if filecmp.cmp(path, earlier, shallow=False):
                return earlier
        except OSError:
            continue
    target = backup_path(path)
    shutil.copy2(path, target)
    return target


def _first_line(exc: Exception) -> str:
    """What is wrong, in one line: for YAML, the problem and where (PyYAML's own first line
    is often only the context, "while parsing a flow sequence")."""
    mark = getattr(exc, "problem_mark", None)
    if getattr(exc, "problem", None) and mark is not None:
        return f"{exc.problem} at line {mark.line + 1}, column {mark.column + 1}"
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
