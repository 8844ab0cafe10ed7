"""Safe loading of model checkpoint files (.ckpt, .pt).

A PyTorch checkpoint is a Python pickle, and unpickling a file runs whatever functions it
names: a checkpoint downloaded from a stranger can wipe files or install malware the moment
it is opened. So VoiceLab never unpickles a checkpoint blindly. Every load goes through
`load_checkpoint`, which uses torch's restricted unpickler (`weights_only=True`) plus a short,
explicit allow-list of the few extra classes genuine Piper/Lightning checkpoints contain.
A file that needs anything else is refused with `UnsafeCheckpointError`; a file that is
missing, damaged or not a checkpoint at all raises `CheckpointError`. There is deliberately no
"load it anyway" switch here.

What real files contain (found by experiment and from the sources of piper and Lightning):

* piper-tts 1.8 on Lightning 2.x saves plain dicts, lists, tuples, tensors and an
  `OrderedDict` state dict: all allowed by torch already. A `pathlib` path appears as soon as
  a caller passes one as a hyper-parameter (piper keeps unknown arguments in `hparams`).
* the older `piper_train` (PyTorch Lightning 1.7, the files in rhasspy/piper-checkpoints)
  stores `dataset` (a list of paths), `dataset_dir` and `default_root_dir` as
  `pathlib.PosixPath` in `hyper_parameters`; torch refuses those with "Unsupported global:
  GLOBAL pathlib.PosixPath".
* Lightning 1.x checkpoints may nest its `AttributeDict` (a plain dict with attribute access)
  inside `hyper_parameters`.

torch is imported inside the functions: the GUI must start without paying for it.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import pickle
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from voicelab.core.errors import CheckpointError, UnsafeCheckpointError

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class AllowedGlobal:
    """One name a checkpoint may refer to, the harmless local object it becomes, and why."""

    pickled_name: str
    local: Callable[..., Any]
    reason: str


def _path_entries(class_name: str, local: type, reason: str) -> list[AllowedGlobal]:
    """A pathlib class under every spelling Python has pickled it with.

    Python 3.13 defines the path classes in `pathlib._local`, so files written there say
    `pathlib._local.PosixPath`; 3.12 and older (and 3.14) say `pathlib.PosixPath`.
    """
    return [
        AllowedGlobal(f"{module}.{class_name}", local, reason)
        for module in ("pathlib", "pathlib._local")
    ]


_POSIX_REASON = (
    "piper_train stores dataset paths in hyper_parameters; they become pure paths, which "
    "only hold text and never touch the disk"
)
_WINDOWS_REASON = "the same paths in checkpoints trained on Windows"
_ATTRIBUTE_DICT_REASON = (
    "Lightning's hyper-parameter container, nested in hyper_parameters by Lightning 1.x; "
    "loaded as a plain dict"
)

#: The whole allow-list on top of torch's own defaults (tensors, storages, dtypes,
#: OrderedDict, torch.Size, torch.device, set, complex, bytes). Every entry maps a name in
#: the file to an inert local object: a pure path class or `dict`. Nothing here can run a
#: command, open a file or import a module.
ALLOW_LIST: tuple[AllowedGlobal, ...] = (
    *_path_entries("PosixPath", pathlib.PurePosixPath, _POSIX_REASON),
    *_path_entries("PurePosixPath", pathlib.PurePosixPath, _POSIX_REASON),
    *_path_entries("WindowsPath", pathlib.PureWindowsPath, _WINDOWS_REASON),
    *_path_entries("PureWindowsPath", pathlib.PureWindowsPath, _WINDOWS_REASON),
    *(
        AllowedGlobal(name, dict, _ATTRIBUTE_DICT_REASON)
        for name in (
            "pytorch_lightning.utilities.parsing.AttributeDict",
            "lightning.pytorch.utilities.parsing.AttributeDict",
            "lightning.fabric.utilities.data.AttributeDict",
            "lightning_fabric.utilities.data.AttributeDict",
        )
    ),
)


class _SharedAllowList:
    """Keeps the allow-list registered with torch while at least one load is running.

    torch keeps user-allowed globals in one process-wide set, and its `safe_globals`
    context manager removes its entries on exit. Two loads on two threads would therefore
    pull the list out from under each other; counting the users avoids that.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._context: Any = None

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        import torch

        with self._lock:
            if self._users == 0:
                context = torch.serialization.safe_globals(
                    [(entry.local, entry.pickled_name) for entry in ALLOW_LIST]
                )
                context.__enter__()
                self._context = context
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._context.__exit__(None, None, None)
                    self._context = None


_shared_allow_list = _SharedAllowList()


def allowed_checkpoint_globals() -> contextlib.AbstractContextManager[None]:
    """Context in which torch's `weights_only` loads accept VoiceLab's allow-list.

    `load_checkpoint` uses it; code that must let a library load a checkpoint itself
    (Lightning's `Trainer.fit(ckpt_path=..., weights_only=True)`) can wrap that call in it.
    """
    return _shared_allow_list.active()


def load_checkpoint(path: PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint or state-dict file without letting it run code.

    Returns the dict stored in the file (a Lightning checkpoint or a plain state dict).
    Raises `UnsafeCheckpointError` when the file asks for anything outside the allow-list
    and `CheckpointError` when it is missing, empty, damaged or not a checkpoint.
    """
    file = Path(path)
    _check_is_readable_file(file)
    with allowed_checkpoint_globals():
        loaded = _restricted_load(file, map_location)
    if not isinstance(loaded, dict):
        raise CheckpointError(
            f"“{file}” holds a {type(loaded).__name__}, not a checkpoint. Choose the "
            "checkpoint file itself (a Piper checkpoint ends in .ckpt)."
        )
    return loaded


def _restricted_load(file: Path, map_location: Any) -> Any:
    """torch.load with weights_only=True, its failures turned into VoiceLab errors."""
    import torch

    try:
        return torch.load(file, map_location=map_location, weights_only=True, mmap=False)
    except pickle.UnpicklingError as error:
        refused = _scan_refused_globals(file) or _refused_globals(str(error))
        if refused:
            raise UnsafeCheckpointError(_unsafe_message(file, refused)) from error
        raise _unreadable_error(file, error) from error
    except RuntimeError as error:
        if "TorchScript" in str(error):
            raise UnsafeCheckpointError(
                _unsafe_message(file, ["a TorchScript program (compiled model code)"])
            ) from error
        raise _unreadable_error(file, error) from error
    except (PermissionError, FileNotFoundError) as error:  # others: torch's zip reader on bad data
        raise CheckpointError(
            f"Cannot read checkpoint “{file}”: {error.strerror or error}. Check that the file "
            "is on a connected drive and that you may read it."
        ) from error
    except Exception as error:  # torch reports broken files as EOFError, KeyError, ValueError...
        raise _unreadable_error(file, error) from error


def _check_is_readable_file(file: Path) -> None:
    """Turn the common file-system problems into messages a user can act on."""
    try:
        size = file.stat().st_size
    except FileNotFoundError:
        raise CheckpointError(
            f"Checkpoint file not found: “{file}”. Check that it was not moved or deleted, "
            "or download it again."
        ) from None
    except (OSError, ValueError) as error:  # ValueError: a name with a NUL character
        reason = getattr(error, "strerror", None) or error
        raise CheckpointError(f"Cannot read checkpoint “{file}”: {reason}.") from error
    if file.is_dir():
        raise CheckpointError(
            f"“{file}” is a folder, not a checkpoint file. Choose the .ckpt file inside it."
        )
    if size == 0:
        raise CheckpointError(
            f"Checkpoint “{file}” is empty (0 bytes): the download or copy that made it did "
            "not finish. Download it again."
        )


_REFUSED_PATTERNS = (
    re.compile(r"\bGLOBAL (\S+)"),  # "Unsupported global: GLOBAL x.y was not..." / "...is blocked"
    re.compile(r"reduce for unrecognized function (.+?)(?: which belongs to .*)?$", re.MULTILINE),
    re.compile(r"allowlisted via `add_safe_globals`,? but got (.+?)$", re.MULTILINE),
)


def _refused_globals(message: str) -> list[str]:
    """The names torch's restricted unpickler refused, read from its error text.

    An empty list means the error was not a refusal (a broken or foreign file).
    """
    names: list[str] = []
    for pattern in _REFUSED_PATTERNS:
        for match in pattern.finditer(message):
            name = match.group(1).strip().rstrip(".,")
            if name not in names:
                names.append(name)
    return names


def _scan_refused_globals(file: Path) -> list[str]:
    """Every name in a zip checkpoint outside the allow-list, found without unpickling.

    torch stops at the first refusal and words its errors differently across versions;
    its static scan of the archive's pickle lists all refused names, so the message tells
    the whole story. Empty for legacy (non-zip) files, whose error text must do. Called
    while the allow-list is registered, so allowed names are not listed.
    """
    import torch

    try:
        return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(file))
    except Exception:  # not a zip checkpoint, or too damaged to scan
        return []


def _unsafe_message(file: Path, names: list[str]) -> str:
    listed = ", ".join(names)
    return (
        f"VoiceLab will not load “{file.name}” ({file}).\n"
        f"It asks to run or build things a model checkpoint never needs: {listed}.\n"
        "Loading a file like this could run code from whoever made it on your computer, "
        "with your permissions. Only use checkpoints from sources you trust, such as the "
        "official Piper checkpoints or files you trained yourself. VoiceLab has not loaded "
        "this file and will not load it."
    )


def _unreadable_error(file: Path, error: BaseException) -> CheckpointError:
    """A `CheckpointError` that says whether the file is damaged or not a checkpoint."""
    detail = f"{type(error).__name__}: {' '.join(str(error).split())}"[:160]
    kind = _sniff(file)
    if kind == "damaged":
        text = (
            f"Checkpoint “{file}” is damaged or incomplete: it starts like a checkpoint but "
            "cannot be read to the end, which usually means an interrupted download or copy. "
            "Download or copy it again."
        )
    elif kind == "archive":
        text = (
            f"“{file}” is a zip archive but not a PyTorch checkpoint. If it contains a "
            "checkpoint, extract it and choose the .ckpt file."
        )
    else:
        text = (
            f"“{file}” is not a PyTorch checkpoint. Choose a Piper checkpoint (.ckpt) or a "
            "PyTorch state-dict file (.pt)."
        )
    return CheckpointError(f"{text}\n(Details: {detail})")


_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTOCOL_OPCODE = b"\x80"


def _sniff(file: Path) -> str:
    """Guess from the first bytes why torch could not read the file.

    "damaged": a torch zip archive or a pickle that breaks off; "archive": a whole zip
    archive without torch's data.pkl; "foreign": anything else (text, audio, random bytes).
    """
    try:
        with file.open("rb") as handle:
            head = handle.read(4)
    except OSError:
        return "foreign"
    if head.startswith(_ZIP_MAGIC):
        return _sniff_zip(file)
    if head.startswith(_PICKLE_PROTOCOL_OPCODE):
        return "damaged"
    return "foreign"


def _sniff_zip(file: Path) -> str:
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        return "damaged"  # the central directory at the end is missing: cut short
    if any(name.endswith("data.pkl") for name in names):
        return "damaged"
    return "archive"

