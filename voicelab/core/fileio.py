"""Atomic writes for every piece of user data.

A crash, a kill or a full disk during a write must leave the previous file intact. So each
write goes to a temporary file in the same folder (same file system, so the rename is
atomic), is flushed and fsynced, and only then replaces the target with `os.replace`.
The folder is fsynced too where the platform allows, so the rename itself survives a
power cut.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Union

import yaml

PathLike = Union[str, "os.PathLike[str]"]


def fsync_file(path: PathLike) -> None:
    """Flush a finished file to disk (before it is renamed into place)."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(folder: PathLike) -> None:
    """Flush a folder's entries to disk, so a rename into it survives a power cut."""
    if os.name == "nt":  # Windows cannot open a directory for fsync.
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "w", encoding: str = "utf-8") -> Iterator[IO]:
    """Open a temporary sibling of `path` for writing; on success it replaces `path`.

    If the block raises, the temporary file is removed and `path` is untouched.
    """
    if mode not in ("w", "wb"):
        raise ValueError("atomic_open writes whole files: mode must be 'w' or 'wb'")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        if mode == "wb":
            handle = os.fdopen(fd, "wb")
        else:
            handle = os.fdopen(fd, "w", encoding=encoding, newline="")
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():
            with contextlib.suppress(OSError):
                os.chmod(tmp, target.stat().st_mode & 0o7777)
        else:
            with contextlib.suppress(OSError):
                os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> None:
    with atomic_open(path, "w", encoding=encoding) as handle:
        handle.write(text)


def atomic_write_yaml(path: PathLike, data: object) -> None:
    """Write `data` as human-editable YAML (keys in insertion order, Unicode kept)."""
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


class _SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing an alias inside its own anchor (`a: &a [*a]`).

    Such a loop builds a list that holds itself: fine for PyYAML, but everything that walks
    the value afterwards (copying, comparing, writing it back) recurses until Python gives
    up with a RecursionError instead of a message about the file.
    """

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)
            if isinstance(node, yaml.CollectionNode) and node.end_mark is None:  # still open
                raise yaml.composer.ComposerError(
                    None, None, f"the alias *{event.anchor} refers to its own anchor "
                    f"&{event.anchor}, which makes an endless loop", event.start_mark)
        return super().compose_node(parent, index)


# PyYAML reads YAML 1.1, where a float needs a dot: `learning_rate: 2e-5`, the way the form and
# the messages write a rate, would be the string '2e-5' and refused. YAML 1.2 reads it as a number.
_SafeLoader.add_implicit_resolver("tag:yaml.org,2002:float",
                                  re.compile(r"^[-+]?[0-9]+[eE][-+]?[0-9]+$"), list("-+0123456789"))


def read_yaml(path: PathLike) -> object:
    """Read YAML with the safe loader; no Python objects are ever constructed.

    A file that loops (an alias inside its own anchor) or nests too deeply to read raises
    `yaml.YAMLError` like any other malformed file, so callers have one error to report.
    """
    with open(path, encoding="utf-8") as handle:
        try:
            return yaml.load(handle, Loader=_SafeLoader)
        except RecursionError:
            raise yaml.YAMLError(f"{path} nests too deeply to be read") from None


def sha256_file(path: PathLike, progress=None, cancel=None, chunk: int = 1 << 22) -> str:
    """The SHA-256 of a file, read in chunks; `progress(done, total, message)` and `cancel`
    (a CancelToken) for big files such as checkpoints. The one content hash VoiceLab uses
    to recognise a file (dataset sources, base checkpoints, manifests)."""
    import hashlib

    file = Path(path)
    digest = hashlib.sha256()
    total = file.stat().st_size if progress is not None else 0
    done = 0
    with open(file, "rb") as handle:
        while True:
            if cancel is not None:
                cancel.raise_if_cancelled()
            block = handle.read(chunk)
            if not block:
                break
            digest.update(block)
            if progress is not None:
                done += len(block)
                progress(done, total, f"Checking {file.name}")
    return digest.hexdigest()
