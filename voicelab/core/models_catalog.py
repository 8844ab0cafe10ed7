"""What models exist: the bundled catalog, the refreshed Piper list and the user's own files.

Three lists merge into the one the Models dialog shows:

- the bundled catalog, `resources/models.yaml`, which works with no network at all;
- the Piper checkpoint list last fetched from the repository itself and cached in
  `<models>/piper-checkpoints.yaml`, because hard-coded checkpoint paths go stale when a
  voice is retrained (sources already disagree on some);
- the user's registered local files, `<models>/local-models.yaml`, which only record paths
  (checkpoints are GBs: they are never copied).

This module only reads, writes and builds those lists; `models.py` is the manager and
`models_hub.py` does the network transfers.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from voicelab.core.errors import CheckpointError, VoiceLabError
from voicelab.core.fileio import atomic_write_yaml, read_yaml

KIND_PIPER = "piper-checkpoint"
KIND_WHISPER = "whisper"
KIND_LOCAL = "local"
UNKNOWN_LICENSE = "see MODEL_CARD in the repository"
SCHEMA_VERSION = 1
REFRESHED_FILE = "piper-checkpoints.yaml"
LOCAL_REGISTRY_FILE = "local-models.yaml"

# <lang>/<locale>/<voice>/<quality>/<name>.ckpt, the layout of rhasspy/piper-checkpoints.
_CKPT_PATH = re.compile(r"^(?P<lang>[^/]+)/(?P<locale>[^/]+)/(?P<voice>[^/]+)/(?P<quality>[^/]+)/"
                        r"(?P<name>[^/]+\.ckpt)$")
_STEP = re.compile(r"step=(\d+)")


@dataclass
class ModelFile:
    """One file of a model: its path in the repository (or on disk for local models)."""

    path: str
    size: int | None = None  # exact bytes when known (refreshed listing), else None
    sha256: str | None = None  # when known; otherwise the server's ETag is used


@dataclass
class ModelEntry:
    """One downloadable (or registered) model as the UI and the CLI see it."""

    id: str  # "piper:en_US-lessac-medium", "whisper:tiny.en", "local:my-voice"
    kind: str  # "piper-checkpoint" | "whisper" | "local"
    name: str
    language: str = ""
    quality: str = ""
    size_bytes: int | None = None  # approximate unless every file's size is known
    license: str = UNKNOWN_LICENSE
    repo_id: str = ""
    repo_type: str = "model"
    files: list[ModelFile] = field(default_factory=list)
    description: str = ""
    sample_rate: int | None = None
    revision: str = "main"
    source: str = "bundled"  # "bundled" | "refreshed" | "local"
    problem: str | None = None  # set when a registered file went missing or is unreadable
    # "<python package>/<folder>" when the files ship inside VoiceLab (a dependency holds
    # them), so the model is there with no download: the first import must work offline.
    included: str | None = None

    @property
    def short_name(self) -> str:
        """The id without its kind prefix ("tiny.en" for "whisper:tiny.en")."""
        return self.id.split(":", 1)[-1]


@dataclass
class BundledCatalog:
    """The parsed `resources/models.yaml`."""

    entries: list[ModelEntry]
    piper_defaults: dict[str, Any]
    piper_qualities: dict[str, dict[str, int]]
    whisper_aliases: dict[str, str]


def bundled_catalog_path() -> Path:
    """`resources/models.yaml` in a checkout, an installed package or the frozen app."""
    from voicelab.resources import resource_path

    return resource_path("models.yaml")


def load_bundled(path: Path | None = None) -> BundledCatalog:
    """A fresh copy of the bundled catalog (callers may change entries freely)."""
    resolved = Path(path) if path is not None else bundled_catalog_path()
    return copy.deepcopy(_load_bundled_cached(str(resolved)))


@functools.lru_cache(maxsize=4)
def _load_bundled_cached(path: str) -> BundledCatalog:
    try:
        raw = read_yaml(path)
    except FileNotFoundError:
        raise VoiceLabError(f"The model list {path} is missing from this installation. "
                            "Reinstall VoiceLab to restore it.") from None
    except Exception as exc:  # yaml errors carry line numbers worth showing
        raise VoiceLabError(f"The model list {path} cannot be read ({exc}). "
                            "Reinstall VoiceLab to restore it.") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("models"), list):
        raise VoiceLabError(f"The model list {path} has no 'models' list. Reinstall VoiceLab.")
    defaults = raw.get("defaults") or {}
    qualities = raw.get("piper_qualities") or {}
    entries = [_entry_from_bundled(item, defaults, qualities, path) for item in raw["models"]]
    return BundledCatalog(entries=entries, piper_defaults=dict(defaults.get(KIND_PIPER) or {}),
                          piper_qualities=qualities,
                          whisper_aliases=dict(raw.get("whisper_aliases") or {}))


def _entry_from_bundled(item: dict[str, Any], defaults: dict[str, Any],
                        qualities: dict[str, dict[str, int]], path: str) -> ModelEntry:
    if not isinstance(item, dict) or "id" not in item or "kind" not in item:
        raise VoiceLabError(f"The model list {path} has an entry without id or kind: {item!r}")
    merged = {**(defaults.get(item["kind"]) or {}), **item}
    merged["files"] = [_model_file(f) for f in merged.get("files") or []]
    if merged["kind"] == KIND_PIPER and not merged.get("sample_rate"):
        merged["sample_rate"] = (qualities.get(merged.get("quality", "")) or {}).get("sample_rate")
    return entry_from_dict(merged)


def _model_file(raw: Any) -> ModelFile:
    if isinstance(raw, str):
        return ModelFile(path=raw)
    return ModelFile(path=str(raw["path"]), size=raw.get("size"), sha256=raw.get("sha256"))


def entry_from_dict(data: dict[str, Any]) -> ModelEntry:
    """Build an entry from YAML data, ignoring keys a newer VoiceLab may have added."""
    known = {name for name in ModelEntry.__dataclass_fields__}
    kwargs = {key: value for key, value in data.items() if key in known}
    kwargs["files"] = [f if isinstance(f, ModelFile) else _model_file(f)
                       for f in data.get("files") or []]
    return ModelEntry(**kwargs)


def entry_to_dict(entry: ModelEntry) -> dict[str, Any]:
    data = asdict(entry)
    data["files"] = [{k: v for k, v in f.items() if v is not None} for f in data["files"]]
    return {k: v for k, v in data.items() if v not in (None, "")}


# ---------------------------------------------------------------------------------------
# The refreshed Piper checkpoint list
# ---------------------------------------------------------------------------------------

@dataclass
class ListedFile:
    """One file of a repository listing: what `list_repo_tree` reports."""

    path: str
    size: int
    sha256: str | None = None  # LFS files only


def piper_entries_from_listing(files: Iterable[ListedFile],
                               bundled: BundledCatalog) -> list[ModelEntry]:
    """Every `<lang>/<locale>/<voice>/<quality>/*.ckpt` that has a config.json beside it.

    A folder holding several checkpoints gives the highest step the plain id and the
    others `<id>@<file stem>`, so ids stay stable when an older checkpoint lingers.
    """
    by_path = {f.path: f for f in files}
    groups: dict[tuple[str, str, str, str], list[ListedFile]] = {}
    for listed in by_path.values():
        match = _CKPT_PATH.match(listed.path)
        if match:
            key = (match["lang"], match["locale"], match["voice"], match["quality"])
            groups.setdefault(key, []).append(listed)
    entries: list[ModelEntry] = []
    for (lang, locale, voice, quality), ckpts in sorted(groups.items()):
        config = by_path.get(f"{lang}/{locale}/{voice}/{quality}/config.json")
        if config is None:
            continue  # without its voice config a checkpoint cannot be fine-tuned
        ckpts.sort(key=lambda f: _step_of(f.path), reverse=True)
        for index, ckpt in enumerate(ckpts):
            entry = _piper_entry(locale, voice, quality, [ckpt, config], bundled)
            if index:
                entry.id += "@" + Path(ckpt.path).stem
                entry.name += f" [{Path(ckpt.path).stem}]"
            entries.append(entry)
    return entries


def _step_of(path: str) -> int:
    match = _STEP.search(path)
    return int(match.group(1)) if match else -1


def _piper_entry(locale: str, voice: str, quality: str, files: list[ListedFile],
                 bundled: BundledCatalog) -> ModelEntry:
    """A refreshed entry, keeping the bundled name, license and description of the voice.

    Downloads follow the branch (`main`), not the listed commit: the sha256 recorded here
    still catches a file that changed since, and the user is told to refresh.
    """
    entry_id = f"piper:{locale}-{voice}-{quality}"
    same_id = next((e for e in bundled.entries if e.id == entry_id), None)
    same_voice = next((e for e in bundled.entries if e.kind == KIND_PIPER
                       and e.id.startswith(f"piper:{locale}-{voice}-")), None)
    defaults = bundled.piper_defaults
    known = same_id or same_voice
    return ModelEntry(
        id=entry_id, kind=KIND_PIPER,
        name=same_id.name if same_id else f"{voice} ({locale}, {quality})",
        language=locale, quality=quality,
        size_bytes=sum(f.size for f in files),
        license=known.license if known else defaults.get("license", UNKNOWN_LICENSE),
        repo_id=defaults.get("repo_id", ""), repo_type=defaults.get("repo_type", "dataset"),
        files=[ModelFile(path=f.path, size=f.size, sha256=f.sha256) for f in files],
        description=same_id.description if same_id else "",
        sample_rate=(bundled.piper_qualities.get(quality) or {}).get("sample_rate"),
        revision=defaults.get("revision", "main"), source="refreshed",
    )


def write_refreshed(path: Path, entries: list[ModelEntry], revision: str, endpoint: str) -> None:
    """Cache a successful listing atomically: a crash mid-write keeps the previous list.

    The commit and endpoint are recorded for the user's information only.
    """
    files = {f.path: f for entry in entries for f in entry.files}  # configs can be shared
    atomic_write_yaml(path, {
        "schema_version": SCHEMA_VERSION,
        "revision": revision,
        "refreshed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "endpoint": endpoint,
        "files": [{"path": f.path, "size": f.size, **({"sha256": f.sha256} if f.sha256 else {})}
                  for f in files.values()],
    })


def read_refreshed(path: Path, bundled: BundledCatalog) -> list[ModelEntry] | None:
    """The cached listing as entries, or None when there is none or it cannot be used.

    Only the listed files are cached; entries are rebuilt from them so that a corrected
    license or description in a newer bundled catalog applies to an older cache too.
    """
    if not path.is_file():
        return None
    try:
        raw = read_yaml(path)
        files = [ListedFile(path=str(f["path"]), size=int(f["size"]), sha256=f.get("sha256"))
                 for f in raw["files"]]
    except Exception:  # a damaged cache is ignored, never fatal: the bundled list still works
        return None
    return piper_entries_from_listing(files, bundled) or None


# ---------------------------------------------------------------------------------------
# Local models the user picked
# ---------------------------------------------------------------------------------------

def inspect_local_file(path: Path) -> ModelEntry:
    """Check that a user-picked file is what its name claims and describe it.

    A `.ckpt` must be a PyTorch checkpoint (a zip holding `data.pkl`, or a legacy pickle);
    an `.onnx` must start like an ONNX protobuf and have its Piper `<name>.onnx.json`.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist or is not a file. Pick the .ckpt "
                              "checkpoint or the .onnx voice itself.")
    suffix = path.suffix.lower()
    if suffix == ".ckpt":
        _check_ckpt(path)
        config = path.parent / "config.json"
        files = [path] + ([config] if config.is_file() else [])
        info = _read_voice_config(config) if config.is_file() else {}
    elif suffix == ".onnx":
        _check_onnx(path)
        config = path.with_name(path.name + ".json")
        if not config.is_file():
            raise CheckpointError(f"{path.name} has no voice config beside it: expected "
                                  f"{config}. Copy the .onnx.json that came with the voice "
                                  "into the same folder.")
        info = _read_voice_config(config, required=True)
        files = [path, config]
    else:
        raise CheckpointError(f"{path.name} is neither a Piper checkpoint (.ckpt) nor a Piper "
                              "voice (.onnx). Pick one of those.")
    return ModelEntry(
        id=f"local:{path.stem}", kind=KIND_LOCAL, name=path.stem,
        language=str(info.get("language", "")), quality=str(info.get("quality", "")),
        size_bytes=sum(f.stat().st_size for f in files), license="your own file",
        files=[ModelFile(path=str(f.resolve()), size=f.stat().st_size) for f in files],
        description=f"{'Checkpoint' if suffix == '.ckpt' else 'Voice'} at {path.resolve()}",
        sample_rate=info.get("sample_rate"), source="local", repo_type="",
    )


def _check_ckpt(path: Path) -> None:
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            names = []
        if any(name.endswith("data.pkl") for name in names):
            return
        raise CheckpointError(f"{path} is a zip file but not a PyTorch checkpoint (no data.pkl "
                              "inside), or it is truncated. Pick the .ckpt saved by training.")
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return  # legacy (pre-zip) torch.save format: a pickle stream
    raise CheckpointError(f"{path} is not a PyTorch checkpoint (it is neither a zip nor a "
                          "pickle file). Pick the .ckpt saved by training.")


def _check_onnx(path: Path) -> None:
    """ONNX files are a ModelProto whose first field is ir_version: tag 0x08, then a varint."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    version, index, shift = 0, 1, 0
    while index < len(head) and head[index] & 0x80:
        version |= (head[index] & 0x7F) << shift
        index, shift = index + 1, shift + 7
    if index < len(head):
        version |= head[index] << shift
    if len(head) < 4 or head[0] != 0x08 or not 1 <= version <= 100:
        raise CheckpointError(f"{path} is not an ONNX model (it does not start like one), or "
                              "it is empty. Pick the .onnx file exported by Piper.")


def _read_voice_config(path: Path, required: bool = False) -> dict[str, Any]:
    """Language, quality and sample rate from a Piper voice config; validates its shape."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        audio = data["audio"]
        sample_rate = int(audio["sample_rate"])
    except Exception:
        if not required:
            return {}
        raise CheckpointError(f"{path} is not a Piper voice config (no audio.sample_rate). "
                              "Use the .onnx.json that came with the voice.") from None
    language = data.get("language")
    code = language.get("code") if isinstance(language, dict) else language
    if not code and isinstance(data.get("espeak"), dict):
        code = data["espeak"].get("voice")
    return {"sample_rate": sample_rate, "quality": audio.get("quality") or "",
            "language": code or ""}


def read_local_registry(path: Path) -> tuple[list[ModelEntry], str | None]:
    """Registered entries, each with `problem` set when its file is gone; and a file problem."""
    if not path.is_file():
        return [], None
    try:
        raw = read_yaml(path)
        entries = [entry_from_dict(item) for item in raw["models"]]
    except Exception as exc:
        return [], (f"The list of your own models, {path}, cannot be read ({exc}). It will be "
                    "set aside as a .bad file the next time you add a model.")
    for entry in entries:
        entry.source = KIND_LOCAL
        missing = [f.path for f in entry.files if not Path(f.path).is_file()]
        if missing:
            entry.problem = (f"{missing[0]} is missing. Move it back, or remove this entry and "
                             "add the file from its new place.")
    return entries, None


def write_local_registry(path: Path, entries: list[ModelEntry]) -> None:
    """Save the registry atomically; the per-session `problem` is not saved."""
    items = []
    for entry in entries:
        data = entry_to_dict(entry)
        data.pop("problem", None)
        items.append(data)
    atomic_write_yaml(path, {"schema_version": SCHEMA_VERSION, "models": items})
