"""Training runs on disk: list them with their status, find their checkpoints (new_run.py creates them).

A run is a folder `<workspace>/runs/<name>/`:

    train.yaml      every setting (a `TrainConfig`) plus `lineage`: the dataset's manifest
                    hash and split, the base's checksum, the parent run of a branch. Written
                    atomically before the trainer starts; one run = one dataset + base + config.
    data/           the run's own copy of train.txt and validation.txt
    cache/          piper's phoneme/audio/spectrogram cache and prepared.json
    events.jsonl    the trainer's events (see events.py)
    checkpoints/    step-NNNNNNNN.ckpt, written atomically
    previews/       preview WAVs per step
    logs/           trainer.log (Python logging) and stderr.log
    config.json     piper's voice config (phoneme map, rate) for export
    trainer.lock    held (OS file lock) by the trainer while it runs; holds its pid
    stop.request    written by `request_stop` (another process): the trainer checkpoints
                    and stops within a heartbeat

Status comes from the lock (an OS lock dies with its process, even on kill -9, so a stale
pid file can never claim a dead run is running) and the last terminal event:

    new          created, never started          running   the lock is held
    finished     a `finished` event and its checkpoint is on disk
    stopped      a `stopped` event (resumable)   failed    an `error` event
    interrupted  started, no final event (killed or crashed; resumable from its checkpoint)

Nothing here imports torch: listing runs must be instant in the GUI.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicelab.core.errors import VoiceLabError
from voicelab.core.fileio import atomic_write_yaml, read_yaml
from voicelab.core.locks import try_lock as _try_lock
from voicelab.core.locks import unlock as _unlock
from voicelab.core.names import name_or_folder
from voicelab.core.training.run import events as ev
from voicelab.core.training.run.config import OLD_RUN_VALUES, TrainConfig, TrainingConfigError, config_from_dict

TRAIN_FILE = "train.yaml"
EVENTS_FILE = "events.jsonl"
LOCK_FILE = "trainer.lock"
STOP_FILE = "stop.request"
CHECKPOINT_DIR = "checkpoints"
PREVIEW_DIR = "previews"
LOG_DIR = "logs"
STATUSES = ("new", "running", "stopped", "finished", "failed", "interrupted")
CHECKPOINT_NAME = re.compile(r"^step-(\d+)\.ckpt$")


class RunError(VoiceLabError):
    """A run cannot be created, found or changed as asked."""


class RunBusy(RunError):
    """Another trainer process is running this run."""


# -- the lock --------------------------------------------------------------------------------------
class RunLock:
    """An exclusive OS lock on `trainer.lock`, held by the trainer for its whole life.

    An OS lock (`core.locks`), released when the process dies, however it dies. The file
    also holds the owner's pid for `voicelab-cli train stop`.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._handle: Any | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        if not _try_lock(handle):
            handle.close()
            raise RunBusy(f"The run {self.path.parent.name} is already being trained (process "
                          f"{read_lock_pid(self.path.parent) or '?'}). Stop it first, or wait.")
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "started": now()}))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            try:
                self._handle.seek(0)
                self._handle.truncate()
                self._handle.flush()
                _unlock(self._handle)
            finally:
                self._handle.close()
                self._handle = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def is_running(run_dir: Path) -> bool:
    """True while a trainer holds the run's lock."""
    path = Path(run_dir) / LOCK_FILE
    if not path.exists():
        return False
    with open(path, "a+", encoding="utf-8") as handle:
        if _try_lock(handle):
            _unlock(handle)
            return False
        return True


def read_lock_pid(run_dir: Path) -> int | None:
    """The pid the running trainer wrote into its lock file, if any."""
    try:
        data = json.loads((Path(run_dir) / LOCK_FILE).read_text(encoding="utf-8") or "{}")
        pid = data.get("pid")
        return int(pid) if isinstance(pid, int) else None
    except (OSError, ValueError, AttributeError):
        return None


def request_stop(run_dir: Path) -> bool:
    """Ask a run's trainer, started by any process, to checkpoint and stop.

    Writes `stop.request` (the trainer looks for it every heartbeat, on every platform) and,
    on POSIX, also sends SIGTERM to the pid in the lock file. False if it is not running.
    """
    run_dir = Path(run_dir)
    if not is_running(run_dir):
        return False
    (run_dir / STOP_FILE).write_text("stop\n", encoding="utf-8")
    pid = read_lock_pid(run_dir)
    if pid and os.name != "nt":
        import signal

        try:
            os.kill(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    return True


def write_train_yaml(run_dir: Path, config: TrainConfig, lineage: Mapping[str, Any]) -> None:
    atomic_write_yaml(Path(run_dir) / TRAIN_FILE, {**config.to_dict(), "lineage": dict(lineage)})


def load_run(run_dir: Path) -> tuple:
    """(TrainConfig, lineage dict) of a run; `RunError` when it is not a run folder."""
    path = Path(run_dir) / TRAIN_FILE
    if not path.is_file():
        raise RunError(f"{run_dir} is not a training run (it has no {TRAIN_FILE}). Create runs "
                       "with `voicelab-cli train start` or the Training tab.")
    try:
        raw = read_yaml(path)
    except Exception as error:
        raise RunError(f"Cannot read {path}: {error}. Fix or restore the file.") from error
    if not isinstance(raw, dict):
        raise RunError(f"{path} does not hold training settings.")
    for key, value in OLD_RUN_VALUES.items():  # settings added since the run was written
        raw.setdefault(key, value)
    try:
        config = config_from_dict(raw)
    except TrainingConfigError as error:
        raise TrainingConfigError(f"{path}: {error}") from None
    lineage = raw.get("lineage") if isinstance(raw.get("lineage"), dict) else {}
    return config, lineage


def change_limits(run_dir: Path, *, max_steps: int | None = None,
                  max_epochs: int | None = None) -> TrainConfig:
    """Raise a run's step or epoch limit before resuming it (recorded in the lineage)."""
    if is_running(run_dir):
        raise RunBusy(f"The run {Path(run_dir).name} is training; stop it before changing its limits.")
    config, lineage = load_run(run_dir)
    changes = {k: v for k, v in (("max_steps", max_steps), ("max_epochs", max_epochs)) if v is not None}
    if not changes:
        return config
    data = {**config.to_dict(), **changes}
    new = config_from_dict(data)
    history = list(lineage.get("changes") or [])
    history.append({"time": now(), **changes})
    write_train_yaml(run_dir, new, {**lineage, "changes": history})
    return new


# -- checkpoints ---------------------------------------------------------------------------------------
def checkpoint_step(path: Path) -> int | None:
    match = CHECKPOINT_NAME.match(Path(path).name)
    return int(match.group(1)) if match else None


def list_checkpoints(run_dir: Path) -> list[Path]:
    """The run's checkpoints, oldest step first (temp files of an interrupted save excluded)."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_file() and checkpoint_step(p) is not None]
    return sorted(found, key=lambda p: checkpoint_step(p) or 0)


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest checkpoint that is a complete archive (what a resume continues from)."""
    for path in reversed(list_checkpoints(run_dir)):
        if _complete_archive(path):
            return path
    return None


def _complete_archive(path: Path) -> bool:
    """A torch checkpoint is a zip; a complete one has its central directory and data.pkl."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("data.pkl") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile, EOFError):
        return False


def remove_partial_checkpoints(run_dir: Path) -> int:
    """Delete temp files a kill left mid-save (never a real checkpoint)."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    removed = 0
    if folder.is_dir():
        for path in folder.glob(".step-*.tmp"):
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass
    return removed


# -- listing -------------------------------------------------------------------------------------------
@dataclass
class RunInfo:
    name: str
    path: Path
    status: str
    step: int = 0
    epoch: int = 0
    dataset: str | None = None
    quality: str | None = None
    last_checkpoint: Path | None = None
    checkpoints: list[Path] = field(default_factory=list)
    message: str = ""  # the error of a failed run, or why a run looks odd
    created: str | None = None
    pid: int | None = None


def run_status(run_dir: Path, events: list[dict[str, Any]] | None = None) -> str:
    run_dir = Path(run_dir)
    if is_running(run_dir):
        return "running"
    events = ev.read_events(run_dir / EVENTS_FILE) if events is None else events
    if not any(e.get("type") in ("started", "preparing", "prepared") + ev.TERMINAL_TYPES
               for e in events):
        return "new"
    final = ev.last_terminal(events)
    if final is None:
        return "interrupted"
    kind = final.get("type")
    if kind == "finished":
        return "finished" if Path(str(final.get("checkpoint"))).is_file() else "interrupted"
    return "stopped" if kind == "stopped" else "failed"


def run_info(run_dir: Path) -> RunInfo:
    run_dir = Path(run_dir)
    events = ev.read_events(run_dir / EVENTS_FILE)
    status = run_status(run_dir, events)
    info = RunInfo(name=run_dir.name, path=run_dir, status=status)
    try:
        config, lineage = load_run(run_dir)
        info.dataset, info.quality = config.dataset, config.quality
        info.created = lineage.get("created")
    except VoiceLabError as error:
        info.message = str(error)
    for event in events:
        if event.get("type") in ("step", "checkpoint", "started", "stopped", "finished"):
            info.step = int(event.get("step") or 0)
            info.epoch = int(event.get("epoch") or 0)
    info.checkpoints = list_checkpoints(run_dir)
    info.last_checkpoint = latest_checkpoint(run_dir)
    if status == "failed":
        final = ev.last_terminal(events) or {}
        info.message = str(final.get("message") or "")
    if status == "running":
        info.pid = read_lock_pid(run_dir)
    return info


def list_runs(runs_dir: Path) -> list[RunInfo]:
    """Every run in `runs_dir`, newest first."""
    folder = Path(runs_dir)
    if not folder.is_dir():
        return []
    # Hidden folders are not runs: a delete under way (or cut short) renames a run to one.
    runs = [run_info(p) for p in folder.iterdir()
            if not p.name.startswith(".") and (p / TRAIN_FILE).is_file()]
    return sorted(runs, key=lambda r: r.created or "", reverse=True)


def find_run(runs_dir: Path, name_or_path: str | Path) -> Path:
    """A run folder by name (in `runs_dir`), or by path when that folder really is a run
    (has its train.yaml); a path is never joined onto `runs_dir` (see `core.names`)."""
    found = name_or_folder(runs_dir, name_or_path, "run", lambda path: (path / TRAIN_FILE).is_file())
    if found is not None:
        return found
    names = ", ".join(r.name for r in list_runs(runs_dir)) or "none yet"
    raise RunError(f"There is no run “{name_or_path}”. Runs: {names}.")


def run_history(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Step, validation and preview events for the charts (see events.training_history)."""
    return ev.training_history(ev.read_events(Path(run_dir) / EVENTS_FILE))


def scoring_model(config: TrainConfig) -> Path | None:
    """The Whisper model that scores previews and exports: the config's, else a downloaded
    English one from the workspace's models (tiny.en first: fast), else None (no WER)."""
    if config.preview_asr_model:
        return Path(config.preview_asr_model).expanduser()
    try:
        from voicelab.core.models import ModelManager
        from voicelab.core.workspace import Workspace

        manager = ModelManager(Workspace.open())
        for size in ("tiny.en", "base.en", "tiny", "base"):
            try:
                path = manager.whisper_model_path(size)
            except VoiceLabError:
                continue
            if path is not None:
                return path
    except Exception:  # no workspace or catalog: previews without a WER
        import logging

        logging.getLogger(__name__).warning("no Whisper model to score previews", exc_info=True)
    return None


def now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")
