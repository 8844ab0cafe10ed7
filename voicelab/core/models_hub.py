"""The transfer layer of the model manager: huggingface_hub calls made safe for a desktop app.

huggingface_hub does the HTTP, caching, locking and in-download resume; nothing here
re-implements them. What this module adds, and why:

- **Which server**: every call gets `endpoint=` explicitly. huggingface_hub reads
  `HF_ENDPOINT` once, at import, into `constants.ENDPOINT`; the manager reads it per call.
- **Fail fast when offline**: a HEAD per file *without* the library's back-off (which waits
  ~25 s before failing), a few short retries, then a message naming the file, its URL and
  the folder where it can be put by hand. `HF_HUB_OFFLINE` is honoured at call time.
- **Progress and cancel**: `HubBar` stands in for tqdm (`tqdm_class`): it adds bytes across
  all files of a model and raises `Cancelled` from inside the transfer, before the chunk is
  written; the library then deletes its partial `.incomplete` file.
- **Resume**: huggingface_hub 2.x resumes a dropped transfer *within* a download with a
  Range request (up to 5 times). Its partial files are unique per attempt and deleted on
  failure, so a cancelled download, or one whose app was closed, starts again from zero.
  Chunks are lowered to `chunk_size` so cancel and resume work at 1 MiB granularity.
- **Plain HTTP, not Xet**: with hf-xet installed, the Hub's Xet-backed repositories would go
  through hf_xet, whose progress arrives from Rust threads (cancel by exception is undefined
  there) and whose chunk cache lives outside the workspace (~/.cache). Downloads switch Xet
  off; the Hub serves the same files over HTTP.
- **Verification**: size and sha256 against the refreshed listing when known, else the
  server's ETag (`X-Linked-Etag`, the sha256 of an LFS file; the git blob id of a small one).
  A bad file is deleted from the cache.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar
from urllib.parse import urlsplit

from voicelab.core.errors import Cancelled, DownloadError
from voicelab.core.models_catalog import KIND_PIPER, ListedFile, ModelEntry, ModelFile
from voicelab.core.progress import CancelToken, ProgressCallback, format_bytes

T = TypeVar("T")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GIT_OID = re.compile(r"^[0-9a-f]{40}$")
_TRUE = {"1", "ON", "YES", "TRUE"}


@dataclass
class Remote:
    """What the server said about one file just before downloading it."""

    file: ModelFile
    url: str
    size: int | None
    etag: str | None


class ByteProgress:
    """Adds up bytes across all files of one model and polls the cancel token on each chunk."""

    def __init__(self, progress: ProgressCallback, total: int, cancel: CancelToken | None):
        self._progress, self._total, self._cancel = progress, total, cancel
        self._file_start = 0
        self.done = 0
        self.message = ""

    def start_file(self, message: str) -> None:
        self._file_start, self.message = self.done, message
        self._progress(self.done, self._total, message)

    def restart_file(self) -> None:
        """A retry fetches the file again from zero, so its bytes so far no longer count."""
        self.done = self._file_start

    def advance(self, count: float) -> None:
        if self._cancel is not None and self._cancel.cancelled:
            raise Cancelled()
        self.done += int(count)
        self._progress(self.done, self._total, self.message)

    def finish_file(self, size: int | None) -> None:
        if size is not None:  # bytes that were already in the cache count as done too
            self.done = self._file_start + size


class HubBar:
    """Takes tqdm's place inside huggingface_hub: forwards byte counts, prints nothing.

    Not a tqdm subclass, so the library passes only the counting calls it makes; the
    no-op methods keep it usable should the Xet path ever call its extra ones.
    """

    def __init__(self, sink: ByteProgress, **tqdm_kwargs: Any) -> None:
        self._sink = sink
        self.n = 0
        self.total = tqdm_kwargs.get("total")

    def update(self, count: float = 1) -> None:
        self._sink.advance(count)
        self.n += int(count)

    def update_transfer(self, count: float = 1) -> None:
        """Network bytes, reported besides `update`'s bytes on disk: counted once, via update."""

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        pass

    set_transfer_postfix_str = set_postfix_str

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> HubBar:
        return self

    def __exit__(self, *exc_info: Any) -> bool:
        return False


class HubTransfer:
    """huggingface_hub calls for one operation, bound to one endpoint and cache folder."""

    def __init__(self, endpoint: str, cache_dir: Path, manual_folder: Callable[[ModelEntry], Path],
                 retries: int, retry_wait: float) -> None:
        self.endpoint = endpoint
        self.cache_dir = cache_dir
        self.manual_folder = manual_folder
        self.retries = max(1, retries)
        self.retry_wait = retry_wait

    def file_url(self, entry: ModelEntry, file: ModelFile) -> str:
        from huggingface_hub import hf_hub_url

        return hf_hub_url(entry.repo_id, file.path, repo_type=entry.repo_type,
                          revision=entry.revision, endpoint=self.endpoint)

    def fetch_metadata(self, entry: ModelEntry, file: ModelFile,
                       cancel: CancelToken | None) -> Remote:
        """HEAD the file without back-off, so an unreachable server fails in seconds."""
        from huggingface_hub import constants, get_hf_file_metadata

        url = self.file_url(entry, file)
        meta = self._with_retries(
            lambda: get_hf_file_metadata(url, timeout=constants.HF_HUB_ETAG_TIMEOUT,
                                         endpoint=self.endpoint),
            entry, file, url, cancel)
        return Remote(file=file, url=url, size=meta.size, etag=meta.etag)

    def fetch_file(self, entry: ModelEntry, remote: Remote, sink: ByteProgress,
                   cancel: CancelToken | None) -> Path:
        """The file's path in the cache; downloads it unless its bytes are already there."""
        from huggingface_hub import hf_hub_download

        def attempt() -> Path:
            sink.restart_file()
            return Path(hf_hub_download(
                entry.repo_id, remote.file.path, repo_type=entry.repo_type,
                revision=entry.revision, cache_dir=str(self.cache_dir), endpoint=self.endpoint,
                tqdm_class=functools.partial(HubBar, sink)))  # type: ignore[arg-type]

        try:
            return self._with_retries(attempt, entry, remote.file, remote.url, cancel)
        except Cancelled:
            self._remove_partial(entry, remote)
            raise

    def _remove_partial(self, entry: ModelEntry, remote: Remote) -> None:
        """Delete this file's partial download after a cancel.

        huggingface_hub 2.x already does (its temporary file is unique and removed on any
        error); older versions keep `<etag>.incomplete` to resume, which must not linger.
        """
        from huggingface_hub.file_download import repo_folder_name

        if not remote.etag:
            return
        blobs = self.cache_dir / repo_folder_name(repo_id=entry.repo_id,
                                                  repo_type=entry.repo_type) / "blobs"
        for partial in blobs.glob(f"{remote.etag}*.incomplete"):
            partial.unlink(missing_ok=True)

    def _with_retries(self, action: Callable[[], T], entry: ModelEntry, file: ModelFile,
                      url: str, cancel: CancelToken | None) -> T:
        """Run `action`, retrying connection problems a few times with a growing wait."""
        for attempt in range(self.retries):
            try:
                return action()
            except (Cancelled, DownloadError):
                raise
            except Exception as exc:
                if not is_transient(exc):
                    raise DownloadError(self.failure_message(entry, file, url, exc)) from exc
                if attempt + 1 == self.retries:
                    reason = f"cannot reach {host_of(url)} ({short(exc)})"
                    raise DownloadError(self.offline_message(entry, file, reason)) from exc
            sleep(self.retry_wait * 2 ** attempt, cancel)
        raise AssertionError("unreachable")

    def check_against_listing(self, entry: ModelEntry, remote: Remote) -> None:
        """Refuse early when the server's file is not the one the refreshed list describes."""
        known, served = remote.file.sha256, remote.etag
        changed = (known and served and _SHA256.match(served) and known != served) or \
            (remote.file.size is not None and remote.size is not None
             and remote.file.size != remote.size)
        if changed:
            raise DownloadError(f"{remote.file.path} in {entry.repo_id} has changed since the "
                                f"model list was refreshed ({remote.url}). Refresh the list "
                                "in Models and download again.")

    def verify(self, remote: Remote, path: Path) -> None:
        """Size and checksum of the file now in the cache; a bad file is deleted."""
        problem = _mismatch(remote, path)
        if problem:
            delete_cached(path)
            raise DownloadError(
                f"{PurePosixPath(remote.file.path).name} downloaded from {remote.url} is "
                f"corrupted: {problem}. The damaged file was deleted from {self.cache_dir}. "
                "Download it again; if it fails again, something between you and the server "
                "changes the file: try another network later.")

    def offline_message(self, entry: ModelEntry, file: ModelFile, reason: str) -> str:
        lines = [f"Cannot download {PurePosixPath(file.path).name} for {entry.name}: {reason}.",
                 "Files of this model and where they come from:"]
        lines += [f"  {PurePosixPath(f.path).name}: {self.file_url(entry, f)}" for f in entry.files]
        lines.append("Check the internet connection and try again, or download these files "
                     "in a browser and put them (keeping their names) in:")
        lines.append(f"  {self.manual_folder(entry)}")
        return "\n".join(lines)

    def failure_message(self, entry: ModelEntry, file: ModelFile, url: str,
                        exc: Exception) -> str:
        from huggingface_hub.errors import (
            EntryNotFoundError,
            HfHubHTTPError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        name = PurePosixPath(file.path).name
        if isinstance(exc, (EntryNotFoundError, RevisionNotFoundError)):
            fix = ("refresh it in Models and try again" if entry.kind == KIND_PIPER
                   else "update VoiceLab, or download the files by hand into "
                   f"{self.manual_folder(entry)}")
            return (f"{file.path} is not in {entry.repo_id} any more ({url} was not found). The "
                    f"model list is out of date: {fix}.")
        if isinstance(exc, RepositoryNotFoundError):
            return (f"The repository {entry.repo_id} was not found at {self.endpoint} while "
                    f"fetching {name} ({url}). If HF_ENDPOINT points to a mirror, check that it "
                    "hosts this repository.")
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return (f"The disk holding {self.cache_dir} is full: {name} needs "
                    f"{format_bytes(entry.size_bytes or 0)}. Free some space and try again.")
        if isinstance(exc, HfHubHTTPError):
            return f"The server refused {name} ({url}): {short(exc)}. Try again later."
        return f"Downloading {name} from {url} failed: {short(exc)}. Try again."

    # --- listing a repository ---------------------------------------------------------

    def repo_commit(self, repo_id: str, repo_type: str, revision: str,
                    cancel: CancelToken | None, on_error: Callable[[str], str]) -> str:
        """The commit the branch points at, asked without back-off: offline fails fast."""
        from huggingface_hub import HfApi, constants

        api = HfApi(endpoint=self.endpoint)
        for attempt in range(self.retries):
            try:
                info = api.repo_info(repo_id, repo_type=repo_type, revision=revision,
                                     timeout=constants.HF_HUB_ETAG_TIMEOUT)
                return str(info.sha or revision)
            except Exception as exc:
                if not is_transient(exc) or attempt + 1 == self.retries:
                    raise DownloadError(on_error(short(exc))) from exc
            sleep(self.retry_wait * 2 ** attempt, cancel)
        raise AssertionError("unreachable")

    def list_files(self, repo_id: str, repo_type: str, commit: str,
                   progress: ProgressCallback, cancel: CancelToken | None,
                   on_error: Callable[[str], str]) -> list[ListedFile]:
        """Every file of the repository at `commit`, with size and LFS sha256."""
        from huggingface_hub import HfApi
        from huggingface_hub.hf_api import RepoFile

        listed: list[ListedFile] = []
        try:  # expand=False: sizes and LFS sha256 are in the plain listing, 20x fewer pages
            for item in HfApi(endpoint=self.endpoint).list_repo_tree(
                    repo_id, repo_type=repo_type, revision=commit, recursive=True, expand=False):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                if isinstance(item, RepoFile):
                    listed.append(ListedFile(path=item.path, size=int(item.size),
                                             sha256=item.lfs.sha256 if item.lfs else None))
                    progress(len(listed), 0, f"Listed {len(listed)} files of {repo_id}")
        except Cancelled:
            raise
        except Exception as exc:
            raise DownloadError(on_error(short(exc))) from exc
        return listed


def _mismatch(remote: Remote, path: Path) -> str | None:
    """Why the file at `path` is not the one described, or None when it is."""
    expected_size = remote.size if remote.size is not None else remote.file.size
    actual_size = path.stat().st_size
    if expected_size is not None and actual_size != expected_size:
        return f"it has {actual_size} bytes instead of {expected_size}"
    etag = remote.etag or ""
    sha256 = remote.file.sha256 or (etag if _SHA256.match(etag) else None)
    if sha256:
        actual = file_digest(path, hashlib.sha256())
        return None if actual == sha256 else f"its sha256 is {actual}, expected {sha256}"
    if _GIT_OID.match(etag):
        actual = file_digest(path, hashlib.sha1(b"blob %d\0" % actual_size))
        return None if actual == etag else f"its git blob id is {actual}, expected {etag}"
    return None


def offline_by_env() -> bool:
    """HF_HUB_OFFLINE now, not only as it was when huggingface_hub was imported."""
    from huggingface_hub import constants

    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in _TRUE or bool(constants.HF_HUB_OFFLINE)


def tune_transfers(chunk_size: int) -> None:
    """Plain HTTP read in `chunk_size` pieces (the library's 10 MB makes cancel slow).

    These are huggingface_hub's process-wide switches, read at each download. They are only
    ever moved one way (smaller chunks, Xet off), so concurrent downloads never race on them.
    """
    from huggingface_hub import constants

    constants.HF_HUB_DISABLE_XET = True
    if constants.DOWNLOAD_CHUNK_SIZE > chunk_size:
        constants.DOWNLOAD_CHUNK_SIZE = chunk_size


def _transport_errors() -> tuple[type, ...]:
    """Connection-level exception types of the HTTP client huggingface_hub uses."""
    found: list[type] = [ConnectionError, TimeoutError]
    for module in ("httpx2", "httpx"):
        try:
            found.append(__import__(module).TransportError)
        except (ImportError, AttributeError):
            pass
    return tuple(found)


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: no connection, a timeout, a dropped stream, or a short read."""
    from huggingface_hub.errors import LocalEntryNotFoundError

    if isinstance(exc, (LocalEntryNotFoundError, *_transport_errors())):
        return True
    return isinstance(exc, OSError) and "Consistency check failed" in str(exc)


def sleep(seconds: float, cancel: CancelToken | None) -> None:
    """Wait, but give up at once when the user cancels."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cancel is not None:
            cancel.raise_if_cancelled()
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def file_digest(path: Path, digest: Any) -> str:
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(8 * 1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def delete_cached(pointer: Path, keep_shared: Path | None = None) -> None:
    """Delete a cache file and its blob; with `keep_shared`, keep blobs still linked there."""
    blob = Path(os.path.realpath(pointer)) if pointer.is_symlink() else None
    pointer.unlink(missing_ok=True)
    if blob is None:
        return
    if keep_shared is not None and any(
            p.is_symlink() and Path(os.path.realpath(p)) == blob for p in keep_shared.rglob("*")):
        return
    blob.unlink(missing_ok=True)


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
