"""The Training tab's background work: each function is the body of one job.

Called on a worker thread by `workers.Job` as `func(*args, progress=..., cancel=...)`; each
imports the core module it needs when it runs, so opening the app never loads the model
catalog, torch or piper. Listing runs and reading a run's log are "quiet" jobs (no status
bar entry); the rest are jobs the user sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voicelab.core.training.run import events as ev
from voicelab.core.workspace import Workspace


def list_runs(runs_dir: Path, *, progress, cancel) -> list:
    from voicelab.core.training.run import runs

    return runs.list_runs(runs_dir)


def run_ranking(run_dir: Path, *, progress=None, cancel=None) -> list:
    """The run's ranking (computed from its log where the trainer has written none yet)."""
    from voicelab.core.training.run import ranking

    return ranking.current_ranking(run_dir)


EMPTY_RUN: dict[str, Any] = {"events": [], "previews": [], "chart": None, "lines": [], "ranking": []}


def read_run(run_dir: Path, *, progress, cancel) -> dict[str, Any]:
    """Everything a run's view shows, prepared here: a long run's log is tens of MB."""
    from voicelab.ui.widgets.loss_chart import history_columns
    from voicelab.ui.widgets.train_log import history_lines

    events = [e for e in ev.read_events(run_dir / "events.jsonl") if e.get("type") != "heartbeat"]
    history = ev.training_history(events)
    return {"events": events, "previews": history["preview"], "chart": history_columns(history),
            "lines": history_lines(events), "ranking": run_ranking(run_dir)}


def download_base(workspace: Workspace, entry: Any, *, progress, cancel) -> Path:
    from voicelab.core.models import ModelManager

    return ModelManager(workspace).download(entry, progress, cancel)


def inspect_base(path: Path, *, progress, cancel) -> Any:
    from voicelab.core.training.bases import base

    progress(0, 0, f"Reading {path.name}")
    return base.inspect_base(path, progress=progress, cancel=cancel)


def create_run(runs_dir: Path, config: Any, name: str | None, *, progress, cancel) -> Path:
    from voicelab.core.training import new_run

    progress(0, 0, "Checking the dataset and the base")
    return new_run.create_run(runs_dir, config, name=name)


def check_export(run_dir: Path, checkpoint: Path, *, progress=None, cancel=None) -> Any:
    """The checkpoint's preview scores and what speaks against exporting it (export_check.py)."""
    from voicelab.core.training.voice.export_check import check_export as check

    return check(run_dir, checkpoint)


def export_voice(run_dir: Path, checkpoint: Path, voices: Path, name: str, *, progress, cancel) -> Any:
    """Export, verify, and log an `exported` event in the run (as the CLI does)."""
    from voicelab.core.training.voice.export import export_run_voice

    return export_run_voice(run_dir, checkpoint, voices, name, progress=progress, cancel=cancel)


def suggest_batch(settings: dict[str, Any], *, progress, cancel) -> dict[str, Any]:
    """The largest batch the GPU holds, tried in a child process (`--cli train suggest-batch`)
    so the probe's CUDA memory never stays in the GUI; returns its JSON answer."""
    import json
    import subprocess
    import time

    from voicelab.core.appexec import CLI, app_command
    from voicelab.core.errors import Cancelled, VoiceLabError

    command = app_command(CLI, "train", "suggest-batch", "--json")
    for key in ("quality", "precision"):
        if settings.get(key):
            command += [f"--{key}", str(settings[key])]
    for key in ("device", "devices", "optimizer"):
        if settings.get(key) is not None:
            command += ["--set", f"{key}={settings[key]}"]
    progress(0, 0, "Trying training steps with growing batches…")
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while child.poll() is None:
        if cancel.cancelled:
            child.kill()
            child.wait()
            raise Cancelled()
        time.sleep(0.1)
    out, err = child.communicate()
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if child.returncode != 0 or not lines:
        raise VoiceLabError("Could not find a batch size: " + ((err or out).strip().splitlines() or
                                                               [f"exit code {child.returncode}"])[-1])
    return json.loads(lines[-1])
