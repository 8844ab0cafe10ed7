"""Prepared clips kept across runs, so a new run prepares only what is new or changed.

A run snapshots its split, so its own cache is built once; the waste is the *next* run on
the same dataset (a few clips added, a learning rate changed), which used to phonemize, trim
and transform every clip again. The store keeps each prepared clip under a key made of
everything its tensors depend on:

* the settings (`store_key`: sample rate, STFT sizes, silence trimming, the clips' level,
  espeak voice, the store's format version and piper's version), one folder per settings;
* the clip (`entry_key`): its phoneme ids (which capture the text, the voice and espeak-ng's
  own version) and a SHA-1 of the wav file's bytes (a re-cut or re-recorded clip differs;
  copying or touching it does not).

An entry is three tensor files and a small JSON written last: the JSON says the entry is
complete and records each file's size, checked before reuse. Files are written to a
temporary name and renamed, without fsync: a crash leaves either no entry or one whose sizes
do not match, which is simply made again. Two processes preparing the same clip write the
same bytes under the same names, so neither can corrupt the other.

A run's `cache/` gets hard links to the entries (a copy where the file system has none), so
runs stay self-contained: deleting a run, or the store, never breaks the other.
The store lives in the workspace (`<workspace>/cache/training-data`) and can be deleted at
any time; nothing else points into it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

STORE_VERSION = 1
KINDS = ("phonemes", "audio", "spec")


def default_root() -> Path | None:
    """`<workspace>/cache/training-data`, or None when no workspace can be opened."""
    try:
        from voicelab.core.workspace import Workspace

        return Workspace.open().cache / "training-data"
    except Exception:  # an unreadable settings file must not stop training: no sharing then
        return None


def store_key(*, sample_rate: int, filter_length: int, hop_length: int, win_length: int,
              trim_silence: bool, espeak_voice: str, level_db: float | None = None) -> str:
    try:
        from importlib.metadata import version

        piper_version = version("piper-tts")
    except Exception:
        piper_version = "unknown"
    facts = [STORE_VERSION, piper_version, sample_rate, filter_length, hop_length, win_length,
             trim_silence, espeak_voice]
    if level_db is not None:  # clips stored before levels were set keep their key
        facts.append(level_db)
    return hashlib.sha1(json.dumps(facts).encode()).hexdigest()[:16]


def store_for(config: Any, voice: str, shared: Any, *, fallback: Path) -> ClipStore:
    """The store for a TrainConfig's settings: the workspace's (`shared` True), a given folder,
    or `fallback` (inside the run) for `shared` False or when the folder cannot be made."""
    hp = config.model_hparams()
    settings = store_key(sample_rate=config.sample_rate,
                         filter_length=int(hp.get("filter_length", 1024)),
                         hop_length=int(hp.get("hop_length", 256)),
                         win_length=int(hp.get("win_length", 1024)),
                         trim_silence=config.trim_silence, espeak_voice=voice,
                         level_db=config.clip_level_db)
    root = default_root() if shared is True else (Path(shared) if shared else None)
    if root is not None:
        try:
            (root / settings).mkdir(parents=True, exist_ok=True)
            return ClipStore(root / settings)
        except OSError:
            pass  # read-only or full workspace: prepare without sharing
    return ClipStore(fallback)


def entry_key(phoneme_ids: Sequence[int], audio_sha1: str) -> str:
    text = ",".join(str(i) for i in phoneme_ids) + "|" + audio_sha1
    return hashlib.sha1(text.encode()).hexdigest()[:24]


def file_sha1(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha1").hexdigest()


class ClipStore:
    """One settings' folder of prepared clips (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _path(self, key: str, kind: str) -> Path:
        return self.folder / key[:2] / f"{key}.{kind}.pt"

    def _meta_path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def lookup(self, key: str) -> dict[str, Any] | None:
        """The entry's facts (frames, samples) when all its files are there and whole."""
        try:
            meta = json.loads(self._meta_path(key).read_text(encoding="utf-8"))
            sizes = meta["sizes"]
            if all(self._path(key, kind).stat().st_size == sizes[kind] for kind in KINDS):
                return meta
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    def put(self, key: str, tensors: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
        """Store the three tensors, then the JSON that marks the entry complete."""
        import torch

        sizes = {}
        for kind in KINDS:
            buffer = io.BytesIO()
            torch.save(tensors[kind], buffer)
            data = buffer.getvalue()
            _replace(self._path(key, kind), data)
            sizes[kind] = len(data)
        meta = {**facts, "sizes": sizes}
        _replace(self._meta_path(key), json.dumps(meta).encode())
        return meta

    def link(self, key: str, target_folder: Path, stem: str) -> None:
        """Hard-link (or copy) the entry's tensors into a run's cache as `<stem>.<kind>.pt`."""
        for kind in KINDS:
            source, target = self._path(key, kind), Path(target_folder) / f"{stem}.{kind}.pt"
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            try:
                os.link(source, target)
            except OSError:  # no hard links here (FAT, some network shares): copy
                _replace(target, source.read_bytes())


def _replace(path: Path, data: bytes) -> None:
    """Write to a temporary sibling and rename: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise


def remove_store(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
