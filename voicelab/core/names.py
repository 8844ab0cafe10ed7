"""A name a person typed (or a file handed them) turned into a path inside its folder.

Datasets, runs, voices and history clips are folders and files of the workspace named by
their user, and exports suggest names built from them. A name joined onto a folder
unchecked reaches anywhere: `../../other-workspace/datasets/good`, `/home/me`, a link that
points out of the workspace, `....` (a hidden folder no listing shows). So every path built
from such a name is made here, once: `inside` for a plain name, `within` for a relative
path (voices kept in sub-folders, the entries of an imported manifest), `name_or_folder`
for arguments that take a name or a folder. Each refuses what would not stay in its folder
with a `BadName` that names the value and the fix; `safe_file_name` instead makes a file
name out of any text, for names the app suggests itself, and `clip_stem`/`export_name`
name an exported clip after what it says.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath

from voicelab.core.errors import VoiceLabError

MAX_LENGTH = 80
#: The longest name made from a clip's text, in characters (before "-2" and the ending).
NAME_LENGTH = 60
_APOSTROPHES = "'\u2019"  # "don't" is one word: "dont", not "don-t"
_FORBIDDEN = '/\\:*?"<>|'
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Names Windows gives to devices: a folder called "nul" is no folder there.
_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
            *(f"lpt{i}" for i in range(1, 10))}
_RULE = ("use letters, digits, spaces, '-' or '_' (no / \\ : * ? \" < > |, not starting with "
         f"a dot, at most {MAX_LENGTH} characters)")


class BadName(VoiceLabError):
    """A name that cannot become a file or folder inside its folder; the message says why."""


def check_name(name: object, what: str) -> str:
    """The name, stripped, when it can name one file or folder; else `BadName`.

    `what` is what it names ("dataset", "run", …), for the message. A plain name is one
    path component that is neither hidden nor a way up: no separators, no leading dot.
    """
    text = name.strip() if isinstance(name, str) else ""
    if not text:
        raise BadName(f"A {what} needs a name: {_RULE}.")
    problem = _problem(text)
    if problem:
        raise BadName(f"{_quote(text)} cannot be a {what} name: {problem}; {_RULE}.")
    return text


def _problem(text: str) -> str | None:
    if _CONTROL.search(text):
        return "it holds a line break or another control character"
    bad = next((ch for ch in text if ch in _FORBIDDEN), None)
    if bad is not None:
        return f"it holds {bad!r}, which would make it a path, not a name"
    if text.startswith("."):
        return ("it starts with a dot, so it would be hidden (or lead out of its folder)"
                if text.strip(".") else "a name of only dots leads out of its folder or nowhere")
    if len(text) > MAX_LENGTH:
        return f"it is {len(text)} characters long"
    if text.split(".")[0].strip().lower() in _DEVICES:
        return "Windows reserves it for a device"
    return None


def inside(folder: str | os.PathLike, name: object, what: str) -> Path:
    """`folder / name` for a plain name (see `check_name`) that stays inside `folder`.

    The path returned is not resolved (a rename or delete acts on the entry in `folder`),
    but it was resolved to check it: a link that points out of `folder` is refused too.
    """
    name = check_name(name, what)
    return _contained(Path(folder), Path(folder) / name, name, what)


def within(folder: str | os.PathLike, relative: str, what: str, *,
           file_link_ok: bool = False) -> Path:
    """`folder / relative` for a relative path (sub-folders allowed) that stays inside
    `folder`, links followed; else `BadName`. For paths a file names, such as a manifest's
    entries, and ids that may name a sub-folder (voices).

    `file_link_ok`: the file itself may be a link to elsewhere (its folders may not): for
    files that are only read and whose delete or rename acts on the link, such as a voice
    sharing a model file kept elsewhere."""
    text = relative if isinstance(relative, str) else ""
    parts = PurePosixPath(text.replace("\\", "/")).parts
    if (not parts or not text.strip() or _CONTROL.search(text) or PurePosixPath(text).is_absolute()
            or PureWindowsPath(text).drive or PureWindowsPath(text).root or ".." in parts):
        raise BadName(f"{_quote(text)} cannot name a {what}: it must be a path inside "
                      f"{folder}, without '..' and not absolute.")
    return _contained(Path(folder), Path(folder).joinpath(*parts), text, what,
                      file_link_ok=file_link_ok)


def _contained(folder: Path, path: Path, value: str, what: str, *, file_link_ok: bool = False) -> Path:
    try:
        root = folder.resolve()
        target = path.parent.resolve() / path.name if file_link_ok else path.resolve()
    except (OSError, RuntimeError) as error:  # a link loop
        raise BadName(f"{_quote(value)} cannot name a {what}: {path} cannot be followed "
                      f"({error}).") from None
    if target == root or not target.is_relative_to(root):
        raise BadName(f"{_quote(value)} cannot name a {what}: {path} leads outside {folder} "
                      f"(to {target}). Remove the link, or move the {what} into {folder}.")
    return path


def name_or_folder(folder: str | os.PathLike, value: str | os.PathLike, what: str,
                   is_one: Callable[[Path], bool]) -> Path | None:
    """What an argument that takes "a name or a folder" means, resolved; None when neither.

    A plain name is looked up in `folder` (and must stay inside it); anything else is a
    folder given by its path, which counts only when it really is one (`is_one`: a run
    has its train.yaml). A path is never joined onto `folder`.
    """
    text = str(value).strip()
    try:
        name = check_name(text, what)
    except BadName:
        name = None
    if name is not None:
        candidate = inside(folder, name, what)
        if candidate.is_dir() and is_one(candidate):
            return candidate.resolve()
    path = Path(text).expanduser() if text else None
    if path is not None and path.is_dir() and is_one(path):
        return path.resolve()
    return None


def safe_file_name(text: object, fallback: str) -> str:
    """A file name made from any text: letters, digits, '.', '-' and '_' only, never hidden,
    at most MAX_LENGTH characters; `fallback` when nothing of the text is left. For names the
    app suggests (an imported or exported voice, an exported clip), where refusing would
    only be in the way."""
    cleaned = re.sub(r"[^\w.-]+", "_", str(text or "").strip()).strip("._-")[:MAX_LENGTH].rstrip("._-")
    if not cleaned or cleaned.split(".")[0].lower() in _DEVICES:
        return fallback
    return cleaned


def _quote(text: str) -> str:
    """The value as the user gave it, on one line (a crafted name cannot fake output)."""
    return repr(text) if _CONTROL.search(text) or "'" in text else f"'{text}'"


def clip_stem(text: str) -> str:
    """A file name without ending for a clip that says `text`: its words, lower-case, joined
    by hyphens, at most NAME_LENGTH characters, whole words only (a first word longer than
    that is cut); "clip" when the text has no words.

    Letters of every script are kept ("привет-мир"); accents on Latin letters are dropped
    ("café" → "cafe", "Grüße" → "grusse"), because such names are typed and shared often.
    Punctuation, symbols and spaces only separate words, so nothing that could make a path
    survives; a name Windows keeps for a device ("con") gets "-clip" after it."""
    kept: list[str] = []
    for char in unicodedata.normalize("NFKD", str(text or "").casefold()):
        if unicodedata.combining(char) and kept and kept[-1].isascii():
            continue  # an accent on a Latin letter
        if char not in _APOSTROPHES:
            kept.append(char)
    words, word = [], []
    for char in unicodedata.normalize("NFC", "".join(kept)) + " ":
        if unicodedata.category(char)[0] in "LNM":  # letters, digits, and the marks of scripts
            word.append(char)
        elif word:
            words.append("".join(word))
            word = []
    stem = ""
    for word in words:
        joined = f"{stem}-{word}" if stem else word[:NAME_LENGTH]
        if len(joined) > NAME_LENGTH:
            break
        stem = joined
    if not stem:
        return "clip"
    try:
        return check_name(stem, "clip")
    except BadName:
        return f"{stem}-clip"


def export_name(text: str, folder: Path, format: str) -> str:
    """The file name proposed for exporting a clip that says `text` into `folder` as
    `format`: `clip_stem(text)` and the format's ending, with "-2", "-3"… added until no
    file in the folder has the name."""
    stem, ending = clip_stem(text), f".{format}"
    name, number = stem, 2
    while (Path(folder) / f"{name}{ending}").exists():
        name, number = f"{stem}-{number}", number + 1
    return name + ending
