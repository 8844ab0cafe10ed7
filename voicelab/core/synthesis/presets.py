"""Named speaking settings the user saves and picks from a list.

A preset is a voice plus how to speak with it (speed, variation, pauses, volume) and how
to export (format, sample rate). All presets live in one YAML file in the workspace,
written atomically after every change, so they survive a restart or a crash.

A presets file that cannot be read never costs the user their presets silently: it is
copied aside (`presets.yaml.bak`, then `.bak1`…) before anything overwrites it, and the
problem is listed in `PresetStore.problems` for the GUI to show. A preset whose voice has
been deleted still loads; `PresetStore.problem()` says what is wrong so the GUI can mark
it instead of failing when the user presses Speak.
"""

from __future__ import annotations

import builtins
import copy
import dataclasses
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from voicelab.core.audio import MP3_SAMPLE_RATES, WRITE_FORMATS
from voicelab.core.fileio import atomic_write_yaml
from voicelab.core.settings import backup_path
from voicelab.core.synthesis.errors import PresetError
from voicelab.core.synthesis.voices import DEFAULT_VOICE_ID, VoiceInfo, list_voices
from voicelab.core.workspace import Workspace

SCHEMA_VERSION = 1
PRESETS_FILE = "presets.yaml"
MAX_NAME_LENGTH = 80
#: Output rates offered for export; None in a preset means "the voice's own rate".
SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)


@dataclass
class Preset:
    """One named set of speaking and export settings."""

    name: str
    voice: str = DEFAULT_VOICE_ID  # a VoiceInfo.id
    speaker: str | None = None  # multi-speaker voices: a name from the voice's speakers
    speed: float = 1.0  # 1.0 = the voice's own pace; 1.25 = 25 % faster (length scale / speed)
    variation: float | None = None  # noise scale; None = the voice's default
    rhythm_variation: float | None = None  # noise w; None = the voice's default
    sentence_pause: float = 0.2  # seconds between sentences
    volume: float = 1.0
    format: str = "wav"  # export format: one of audio.WRITE_FORMATS
    sample_rate: int | None = None  # export rate; None = the voice's rate

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _number(low: float, high: float, optional: bool = False):
    def check(value: Any) -> bool:
        if value is None:
            return optional
        return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high
    return check


_FIELDS: dict[str, tuple] = {
    "voice": (lambda v: isinstance(v, str) and bool(v.strip()), "a voice name"),
    "speaker": (lambda v: v is None or isinstance(v, str), "a speaker name or empty"),
    "speed": (_number(0.1, 10), "a number from 0.1 to 10"),
    "variation": (_number(0, 5, optional=True), "a number from 0 to 5, or empty"),
    "rhythm_variation": (_number(0, 5, optional=True), "a number from 0 to 5, or empty"),
    "sentence_pause": (_number(0, 30), "seconds from 0 to 30"),
    "volume": (_number(0, 10), "a number from 0 to 10"),
    "format": (lambda v: v in WRITE_FORMATS, "one of " + ", ".join(WRITE_FORMATS)),
    "sample_rate": (lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)
                                            and 4000 <= v <= 192000),
                    "a sample rate in Hz, or empty"),
}


def validate_preset(preset: Preset) -> None:
    """Raise PresetError naming the first bad value; used before saving a preset."""
    check_name(preset.name)
    for key, (valid, expected) in _FIELDS.items():
        value = getattr(preset, key)
        if not valid(value):
            raise PresetError(f"In preset '{preset.name}', {key.replace('_', ' ')} is {value!r}; "
                              f"it must be {expected}.")
    if preset.format == "mp3" and preset.sample_rate is not None and preset.sample_rate not in MP3_SAMPLE_RATES:
        raise PresetError(f"Preset '{preset.name}': MP3 cannot be written at {preset.sample_rate} Hz.")


def check_name(name: Any) -> str:
    """The cleaned name, or PresetError saying what is wrong with it."""
    if not isinstance(name, str) or not name.strip():
        raise PresetError("A preset needs a name.")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise PresetError(f"A preset name can have at most {MAX_NAME_LENGTH} characters.")
    if any(ch in name for ch in "\r\n\t"):
        raise PresetError("A preset name must be on one line.")
    return name


def preset_problem(preset: Preset, voices: Sequence[VoiceInfo]) -> str | None:
    """Why this preset cannot be used with these voices, or None when it can."""
    voice = next((v for v in voices if v.id == preset.voice), None)
    if voice is None:
        return (f"The voice '{preset.voice}' of preset '{preset.name}' is no longer in the "
                f"workspace. Choose another voice for this preset.")
    if voice.problem:
        return f"Preset '{preset.name}' uses a voice that cannot be loaded: {voice.problem}"
    if preset.speaker is not None and voice.speakers and preset.speaker not in voice.speakers:
        return (f"Preset '{preset.name}' uses speaker '{preset.speaker}', which the voice "
                f"'{voice.name}' does not have.")
    if preset.format == "mp3" and (preset.sample_rate or voice.sample_rate) not in MP3_SAMPLE_RATES:
        return f"Preset '{preset.name}': MP3 cannot be written at {preset.sample_rate or voice.sample_rate} Hz."
    return None


@dataclass
class _Loaded:
    presets: list[Preset] = field(default_factory=list)
    default: str | None = None
    problems: list[str] = field(default_factory=list)
    needs_backup: bool = False


def _parse(path: Path) -> _Loaded:
    result = _Loaded()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        result.problems.append(f"The presets file {path} could not be read ({first}).")
        result.needs_backup = True
        return result
    if raw is None:
        return result
    items = raw.get("presets") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not isinstance(items, list):
        result.problems.append(f"The presets file {path} does not hold a list of presets.")
        result.needs_backup = True
        return result
    version = raw.get("schema_version", 1)
    if isinstance(version, int) and version > SCHEMA_VERSION:
        result.problems.append(f"The presets file {path} was written by a newer VoiceLab; "
                               f"known settings were read.")
        result.needs_backup = True
    seen = set()
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            result.problems.append(f"Entry {number} in {path} is not a preset and was left out.")
            result.needs_backup = True
            continue
        try:
            name = check_name(item.get("name"))
        except PresetError as exc:
            result.problems.append(f"Entry {number} in {path} was left out: {exc}")
            result.needs_backup = True
            continue
        if name.casefold() in seen:
            result.problems.append(f"Preset '{name}' appears twice in {path}; the second was left out.")
            result.needs_backup = True
            continue
        seen.add(name.casefold())
        preset = Preset(name=name)
        for key, (valid, expected) in _FIELDS.items():
            if key not in item:
                continue
            value = item[key]
            if isinstance(value, int) and not isinstance(value, bool) and key in (
                    "speed", "variation", "rhythm_variation", "sentence_pause", "volume"):
                value = float(value)
            if valid(value):
                setattr(preset, key, value)
            else:
                result.problems.append(
                    f"In preset '{name}', {key.replace('_', ' ')} is {value!r} but must be "
                    f"{expected}; the default {getattr(preset, key)!r} is used.")
                result.needs_backup = True
        result.presets.append(preset)
    default = raw.get("default")
    if default is not None and not any(p.name == default for p in result.presets):
        result.problems.append(f"The default preset '{default}' does not exist; no default is set.")
        default = None
    result.default = default
    return result


class PresetStore:
    """The presets of one workspace, kept in memory and saved on every change."""

    def __init__(self, folder: Path, workspace: Workspace | None = None) -> None:
        self.path = Path(folder) / PRESETS_FILE
        self.workspace = workspace
        self.problems: list[str] = []
        self.backup: Path | None = None
        self._presets: list[Preset] = []
        self._default: str | None = None
        self.reload()

    @classmethod
    def open(cls, workspace: Workspace) -> PresetStore:
        return cls(workspace.presets, workspace)

    def reload(self) -> None:
        """Read the file again; problems are listed, never raised, and a bad file is kept aside."""
        self.problems = []
        self.backup = None
        if not self.path.exists():
            self._presets, self._default = [], None
            return
        loaded = _parse(self.path)
        if loaded.needs_backup:
            self.backup = backup_path(self.path)
            shutil.copy2(self.path, self.backup)
            loaded.problems.append(f"Your presets file was kept as {self.backup.name}.")
        self.problems = loaded.problems
        self._presets, self._default = loaded.presets, loaded.default

    # ---- reading

    def list(self) -> builtins.list[Preset]:
        return [copy.copy(p) for p in self._presets]

    def names(self) -> builtins.list[str]:
        return [p.name for p in self._presets]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(name) is not None

    def __len__(self) -> int:
        return len(self._presets)

    def get(self, name: str) -> Preset:
        preset = self._find(name)
        if preset is None:
            raise PresetError(f"There is no preset named '{name}'.")
        return copy.copy(preset)

    @property
    def default_name(self) -> str | None:
        return self._default

    def default(self) -> Preset:
        """The preset marked default, else the first one, else the built-in voice's settings."""
        if self._default is not None:
            return self.get(self._default)
        if self._presets:
            return copy.copy(self._presets[0])
        return Preset(name="Default")

    def problem(self, name: str, voices: Sequence[VoiceInfo] | None = None) -> str | None:
        """Why the preset cannot be used now (its voice is gone, …), or None."""
        if voices is None:
            if self.workspace is None:
                raise ValueError("pass the voices, or open the store with a workspace")
            voices = list_voices(self.workspace)
        return preset_problem(self.get(name), voices)

    # ---- changing

    def create(self, preset: Preset) -> Preset:
        preset = copy.copy(preset)
        preset.name = check_name(preset.name)
        validate_preset(preset)
        if self._find(preset.name) is not None:
            raise PresetError(f"A preset named '{preset.name}' already exists.")
        self._presets.append(preset)
        self._save()
        return copy.copy(preset)

    def update(self, preset: Preset) -> Preset:
        """Replace the settings of the preset with the same name."""
        validate_preset(preset)
        current = self._find(preset.name)
        if current is None:
            raise PresetError(f"There is no preset named '{preset.name}'.")
        self._presets[self._presets.index(current)] = copy.copy(preset)
        self._save()
        return copy.copy(preset)

    def rename(self, old: str, new: str) -> Preset:
        preset = self._require(old)
        new = check_name(new)
        other = self._find(new)
        if other is not None and other is not preset:
            raise PresetError(f"A preset named '{new}' already exists.")
        if self._default == preset.name:
            self._default = new
        preset.name = new
        self._save()
        return copy.copy(preset)

    def duplicate(self, name: str, new_name: str | None = None) -> Preset:
        source = self._require(name)
        if new_name is None:
            new_name, number = f"{source.name} copy", 2
            while self._find(new_name) is not None:
                new_name = f"{source.name} copy {number}"
                number += 1
        clone = dataclasses.replace(source, name=new_name)
        return self.create(clone)

    def delete(self, name: str) -> None:
        preset = self._require(name)
        self._presets.remove(preset)
        if self._default == preset.name:
            self._default = None
        self._save()

    def for_voice(self, voice_id: str, name: str) -> Preset:
        """The preset made for a new voice (a training export): the first one that already
        uses it, else a new one called `name` (numbered if taken) with default settings."""
        existing = next((p for p in self._presets if p.voice == voice_id), None)
        if existing is not None:
            return copy.copy(existing)
        base = check_name(name[:MAX_NAME_LENGTH])
        candidate, number = base, 2
        while self._find(candidate) is not None:
            candidate = f"{base} {number}"
            number += 1
        return self.create(Preset(name=candidate, voice=voice_id))

    def set_default(self, name: str | None) -> None:
        """Mark a preset as the one the Generate tab starts with; None clears it."""
        self._default = None if name is None else self._require(name).name
        self._save()

    # ---- internals

    def _find(self, name: str) -> Preset | None:
        key = name.strip().casefold()
        return next((p for p in self._presets if p.name.casefold() == key), None)

    def _require(self, name: str) -> Preset:
        preset = self._find(name)
        if preset is None:
            raise PresetError(f"There is no preset named '{name}'.")
        return preset

    def _save(self) -> None:
        """Write everything; on failure the change is undone in memory too."""
        # Every caller has already changed self._presets/_default; rebuild them from disk
        # when the write fails, so memory never claims what the file does not hold.
        try:
            self._write()
        except PresetError:
            problems, backup = self.problems, self.backup
            self.reload()
            self.problems, self.backup = problems, backup
            raise

    def _write(self) -> None:
        data = {
            "schema_version": SCHEMA_VERSION,
            "default": self._default,
            "presets": [p.to_dict() for p in self._presets],
        }
        try:
            atomic_write_yaml(self.path, data)
        except OSError as exc:
            raise PresetError(f"The presets could not be saved to {self.path}: {exc.strerror or exc}.") from None
