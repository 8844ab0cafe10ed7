"""The model manager: find, download, verify and register the models VoiceLab needs.

One object answers the Models dialog, the CLI and the ASR/training code:

- `catalog()` merges the bundled list, the refreshed Piper checkpoint list and the user's
  registered files (`models_catalog.py`);
- presence is decided from the disk alone, never the network: huggingface_hub's cache in
  `<workspace>/models/hub` (`try_to_load_from_cache`, every snapshot), then the folder where
  a user may put files by hand, `<workspace>/models/manual/<id>/`, then the copy that ships
  with VoiceLab for an entry marked `included` (tiny.en: the first import needs no network);
- downloads and the repository listing go through huggingface_hub (`models_hub.py`), with
  progress, cancel, retries, verification and messages that name the file and the fix.

`HF_ENDPOINT` is read when a call is made, not when huggingface_hub was imported, and passed
as `endpoint=` to every huggingface_hub call. Precedence: `ModelManager(endpoint=...)`, then
`HF_ENDPOINT`, then huggingface_hub's default. That keeps a mirror set after start-up (or by
a test) working without patching the library's constants.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from voicelab.core.errors import DownloadError, VoiceLabError
from voicelab.core.models_catalog import (
    KIND_LOCAL,
    KIND_PIPER,
    KIND_WHISPER,
    LOCAL_REGISTRY_FILE,
    REFRESHED_FILE,
    ModelEntry,
    ModelFile,
    inspect_local_file,
    load_bundled,
    piper_entries_from_listing,
    read_local_registry,
    read_refreshed,
    write_local_registry,
    write_refreshed,
)
from voicelab.core.models_hub import (
    ByteProgress,
    HubTransfer,
    delete_cached,
    host_of,
    offline_by_env,
    tune_transfers,
)
from voicelab.core.progress import CancelToken, ProgressCallback, no_progress
from voicelab.core.workspace import Workspace

__all__ = ["ModelEntry", "ModelFile", "ModelManager", "UnknownModelError", "whisper_model_path",
           "DOWNLOADED", "INCLUDED", "ADDED", "MISSING", "NOT_DOWNLOADED"]

# Where a model stands, in the words the Models dialog and `models list` both show.
DOWNLOADED = "downloaded"
INCLUDED = "included"  # ships with VoiceLab: there without a download, and cannot be removed
ADDED = "added"  # a local file the user registered
MISSING = "missing"  # a registered file that is gone
NOT_DOWNLOADED = "not downloaded"


class UnknownModelError(VoiceLabError):
    """No model in the catalog has the requested id."""


class ModelManager:
    """Catalog, presence, downloads, refresh and local registration of models."""

    def __init__(self, workspace: Workspace, *, endpoint: str | None = None,
                 retries: int = 3, retry_wait: float = 1.0, chunk_size: int = 1024 * 1024,
                 catalog_path: Path | None = None) -> None:
        self.workspace = workspace
        self.retries = retries
        self.retry_wait = retry_wait
        self.chunk_size = chunk_size
        self.problems: list[str] = []  # filled by catalog(): lists that could not be read
        self._endpoint = endpoint
        self._catalog_path = catalog_path

    # --- where things are -------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The Hub to talk to, decided now rather than when huggingface_hub was imported."""
        from huggingface_hub import constants

        return (self._endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")

    @property
    def hub_cache(self) -> Path:
        return self.workspace.models / "hub"

    def manual_folder(self, entry: ModelEntry) -> Path:
        """Where a user may put a model's files (by their file names) when offline."""
        return self.workspace.models / "manual" / entry.id.replace(":", "-").replace("/", "-")

    def file_url(self, entry: ModelEntry, file: ModelFile) -> str:
        return self._transfer().file_url(entry, file)

    def _transfer(self) -> HubTransfer:
        return HubTransfer(self.endpoint, self.hub_cache, self.manual_folder,
                           self.retries, self.retry_wait)

    # --- the catalog ----------------------------------------------------------------

    def catalog(self) -> list[ModelEntry]:
        """Piper checkpoints (refreshed list when cached, else bundled), Whisper, then local."""
        bundled = load_bundled(self._catalog_path)
        refreshed = read_refreshed(self.workspace.models / REFRESHED_FILE, bundled)
        bundled_piper = [e for e in bundled.entries if e.kind == KIND_PIPER]
        if refreshed is None:
            piper = bundled_piper
        else:
            listed = {e.id for e in refreshed}
            stale = [e for e in bundled_piper if e.id not in listed and self.is_present(e)]
            for entry in stale:
                entry.description += " (no longer in the repository; kept because it is downloaded)"
            piper = refreshed + stale
        local, problem = read_local_registry(self.workspace.models / LOCAL_REGISTRY_FILE)
        self.problems = [problem] if problem else []
        whisper = [e for e in bundled.entries if e.kind == KIND_WHISPER]
        return piper + whisper + local

    def get(self, model_id: str) -> ModelEntry:
        """The entry with this id; Whisper aliases such as "whisper:large" are accepted."""
        kind, _, name = model_id.partition(":")
        if kind == KIND_WHISPER:
            aliases = load_bundled(self._catalog_path).whisper_aliases
            model_id = f"{KIND_WHISPER}:{aliases.get(name, name)}"
        for entry in self.catalog():
            if entry.id == model_id:
                return entry
        raise UnknownModelError(f"There is no model called '{model_id}'. Open Models (or run "
                                "`voicelab-cli models list`) to see the available ids.")

    # --- presence (never touches the network) -----------------------------------------

    def is_present(self, entry: ModelEntry) -> bool:
        return self._local_files(entry) is not None

    def presence(self, entry: ModelEntry) -> str:
        """DOWNLOADED, INCLUDED, ADDED, MISSING or NOT_DOWNLOADED (see the constants)."""
        if entry.kind == KIND_LOCAL:
            return ADDED if self.is_present(entry) and not entry.problem else MISSING
        if self._fetched_files(entry) is not None:
            return DOWNLOADED
        return INCLUDED if self.included_files(entry) is not None else NOT_DOWNLOADED

    def included_files(self, entry: ModelEntry) -> list[Path] | None:
        """The entry's files in the package that ships them with VoiceLab, or None.

        `included` is "<package>/<folder>"; the package is found by import machinery, so the
        same lookup works from a checkout, an installed wheel and the frozen app.
        """
        if not entry.included or not entry.files:
            return None
        package, _, folder = entry.included.partition("/")
        try:
            from importlib.resources import files

            root = Path(str(files(package))) / folder
        except (ImportError, TypeError):  # not installed: the model must be downloaded
            return None
        paths = [root / PurePosixPath(f.path).name for f in entry.files]
        return paths if _all_match(entry.files, paths) else None

    def local_path(self, entry: ModelEntry) -> Path | None:
        """The main file: the .ckpt, the Whisper model folder, or the registered file."""
        files = self._local_files(entry)
        if files is None:
            return None
        if entry.kind == KIND_WHISPER:
            return files[0].parent
        return next((p for p in files if p.suffix == ".ckpt"), files[0])

    def whisper_model_path(self, size: str) -> Path | None:
        """A folder faster-whisper can load for `size` ("tiny.en", "large", ...), or None."""
        return self.local_path(self.get(f"{KIND_WHISPER}:{size}"))

    def _local_files(self, entry: ModelEntry) -> list[Path] | None:
        if entry.kind == KIND_LOCAL:
            paths = [Path(f.path) for f in entry.files]
            return paths if paths and all(p.is_file() for p in paths) else None
        return self._fetched_files(entry) or self.included_files(entry)

    def _fetched_files(self, entry: ModelEntry) -> list[Path] | None:
        """Files downloaded into the Hub cache or put in the manual folder by hand."""
        if not entry.files:
            return None
        for revision in self._candidate_revisions(entry):
            found = self._from_snapshot(entry, revision)
            if found is not None:
                return found
        manual = [self.manual_folder(entry) / PurePosixPath(f.path).name for f in entry.files]
        return manual if _all_match(entry.files, manual) else None

    def _storage(self, entry: ModelEntry) -> Path:
        from huggingface_hub.file_download import repo_folder_name

        return self.hub_cache / repo_folder_name(repo_id=entry.repo_id, repo_type=entry.repo_type)

    def _candidate_revisions(self, entry: ModelEntry) -> list[str]:
        """The entry's branch first, then every snapshot, newest first.

        Why all snapshots: the branch ref moves to the newest commit on every download, so
        a file fetched before the repository changed lives in an older snapshot only.
        """
        revisions = [entry.revision]
        snapshots = self._storage(entry) / "snapshots"
        if snapshots.is_dir():
            folders = sorted(snapshots.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
            revisions += [p.name for p in folders if p.name not in revisions]
        return revisions

    def _from_snapshot(self, entry: ModelEntry, revision: str) -> list[Path] | None:
        from huggingface_hub import try_to_load_from_cache

        found = []
        for file in entry.files:
            cached = try_to_load_from_cache(entry.repo_id, file.path, cache_dir=self.hub_cache,
                                            revision=revision, repo_type=entry.repo_type)
            if not isinstance(cached, str):
                return None
            found.append(Path(cached))
        return found if _all_match(entry.files, found) else None

    # --- download -----------------------------------------------------------------------

    def download(self, entry: ModelEntry, progress: ProgressCallback | None = no_progress,
                 cancel: CancelToken | None = None) -> Path:
        """Make the model present and return `local_path(entry)`.

        Already-present models return at once without network. Otherwise every file is
        fetched into one snapshot (files whose bytes are cached cost a HEAD only), verified,
        and reported as bytes done / total across the whole model.
        """
        progress = progress or no_progress
        if entry.kind == KIND_LOCAL:
            return self._registered_path(entry)
        present = self.local_path(entry)
        if present is not None:
            size = entry.size_bytes or 0
            progress(size, size, f"{entry.name} is already downloaded")
            return present
        transfer = self._transfer()
        if offline_by_env():
            raise DownloadError(transfer.offline_message(
                entry, entry.files[0], "HF_HUB_OFFLINE is set, so VoiceLab does not connect"))
        tune_transfers(self.chunk_size)
        remotes = [transfer.fetch_metadata(entry, f, cancel) for f in entry.files]
        for remote in remotes:
            transfer.check_against_listing(entry, remote)
        sink = ByteProgress(progress, sum(r.size or 0 for r in remotes), cancel)
        for index, remote in enumerate(remotes, 1):
            if cancel is not None:
                cancel.raise_if_cancelled()
            name = PurePosixPath(remote.file.path).name
            sink.start_file(f"Downloading {name} ({index} of {len(remotes)}) for {entry.name}")
            transfer.verify(remote, transfer.fetch_file(entry, remote, sink, cancel))
            sink.finish_file(remote.size)
        path = self.local_path(entry)
        if path is None:
            raise DownloadError(f"{entry.name} was downloaded into {self.hub_cache} but its "
                                "files are not found together there. Remove the model and "
                                "download it again.")
        progress(sink.done, sink.done, f"{entry.name} is ready")
        return path

    def _registered_path(self, entry: ModelEntry) -> Path:
        path = self.local_path(entry)
        if path is None:
            missing = next(f.path for f in entry.files if not Path(f.path).is_file())
            raise DownloadError(f"{missing} is missing. Move it back, or remove '{entry.name}' "
                                "from Models and add the file from its new place.")
        return path

    # --- refresh ----------------------------------------------------------------------

    def refresh_piper_checkpoints(self, progress: ProgressCallback | None = None,
                                  cancel: CancelToken | None = None) -> list[ModelEntry]:
        """List the checkpoint repository itself and cache what it holds for offline use.

        Returns the refreshed Piper entries. On any failure a `DownloadError` says so and
        the previously cached list (or the bundled one) stays in use, untouched.
        """
        progress = progress or no_progress
        bundled = load_bundled(self._catalog_path)
        repo_id = bundled.piper_defaults.get("repo_id", "rhasspy/piper-checkpoints")
        repo_type = bundled.piper_defaults.get("repo_type", "dataset")
        revision = bundled.piper_defaults.get("revision", "main")
        transfer = self._transfer()
        url = f"{transfer.endpoint}/api/{repo_type}s/{repo_id}/tree/{revision}"

        def failed(reason: str) -> str:
            return self._refresh_message(url, reason)

        if offline_by_env():
            raise DownloadError(failed("HF_HUB_OFFLINE is set"))
        progress(0, 0, f"Asking {host_of(url)} what {repo_id} holds")
        commit = transfer.repo_commit(repo_id, repo_type, revision, cancel, failed)
        listed = transfer.list_files(repo_id, repo_type, commit, progress, cancel, failed)
        entries = piper_entries_from_listing(listed, bundled)
        if not entries:
            raise DownloadError(failed(f"its {len(listed)} files include no <lang>/<locale>/"
                                       "<voice>/<quality>/*.ckpt with a config.json beside it"))
        write_refreshed(self.workspace.models / REFRESHED_FILE, entries, commit, transfer.endpoint)
        progress(len(entries), len(entries), f"Found {len(entries)} Piper checkpoints")
        return entries

    def _refresh_message(self, url: str, reason: str) -> str:
        cached = self.workspace.models / REFRESHED_FILE
        kept = (f"the list cached in {cached}" if cached.is_file()
                else "the list bundled with VoiceLab")
        return (f"Could not refresh the Piper checkpoint list from {url}: {reason}. VoiceLab "
                f"keeps using {kept}. Check the internet connection and try again.")

    # --- local models and removal -------------------------------------------------------

    def register_local(self, path: os.PathLike | str) -> ModelEntry:
        """Record a user-picked .ckpt or .onnx voice by its path (large files are never copied)."""
        entry = inspect_local_file(Path(path))
        registry = self.workspace.models / LOCAL_REGISTRY_FILE
        entries, problem = read_local_registry(registry)
        if problem:  # keep the unreadable file for the user instead of overwriting it
            registry.replace(registry.with_name(f"{registry.name}.{int(time.time())}.bad"))
        main_file = entry.files[0].path
        same = next((i for i, e in enumerate(entries) if e.files[0].path == main_file), None)
        if same is not None:
            entry.id = entries[same].id
            entries[same] = entry
        else:
            entry.id = _unique_id(entry.id, {e.id for e in entries})
            entries.append(entry)
        write_local_registry(registry, entries)
        return entry

    def remove(self, entry: ModelEntry) -> None:
        """Delete a downloaded model's files; a registered local model is only unregistered.

        The copy that ships with VoiceLab stays: removing a downloaded copy of an included
        model falls back to it, and removing only that copy is refused with the reason.
        """
        if self.presence(entry) == INCLUDED:
            raise VoiceLabError(f"{entry.name} is included with VoiceLab, so it is always "
                                "there; there is no downloaded copy to remove.")
        if entry.kind == KIND_LOCAL:
            registry = self.workspace.models / LOCAL_REGISTRY_FILE
            entries, problem = read_local_registry(registry)
            if problem:
                raise VoiceLabError(problem)
            write_local_registry(registry, [e for e in entries if e.id != entry.id])
            return
        snapshots = self._storage(entry) / "snapshots"
        if snapshots.is_dir():
            for snapshot in snapshots.iterdir():
                for file in entry.files:
                    pointer = snapshot / Path(*PurePosixPath(file.path).parts)
                    if pointer.is_symlink() or pointer.exists():
                        delete_cached(pointer, keep_shared=snapshots)
        shutil.rmtree(self.manual_folder(entry), ignore_errors=True)


def whisper_model_path(size: str, workspace: Workspace | None = None) -> Path | None:
    """The local folder of a faster-whisper model for the ASR code, or None if not downloaded."""
    return ModelManager(workspace or Workspace.open()).whisper_model_path(size)


def _all_match(files: Sequence[ModelFile], paths: Sequence[Path]) -> bool:
    """All files exist, with the exact size where the listing knows it."""
    return all(p.is_file() and (f.size is None or p.stat().st_size == f.size)
               for f, p in zip(files, paths))


def _unique_id(base: str, taken: set) -> str:
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate
