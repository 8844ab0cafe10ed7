"""`voicelab-cli train start|resume|stop|export|list`: train a voice headless (GPU servers).

`start` creates a run folder (train.yaml with every setting and its lineage) and trains it;
`resume` continues a stopped, failed or killed run from its newest checkpoint. Both run
the same trainer process the GUI runs (`TrainerProcess`: `voicelab --run-trainer RUN`)
and show its events as a progress bar, so a terminal run and a GUI run are the same
thing and either can resume the other's runs. A foreground command owns its trainer:
Ctrl-C, SIGTERM and SIGHUP (a closed terminal, `kill`, a service manager) ask it to
checkpoint and stop, and the command waits for that; a second Ctrl-C ends it at once.
`--detach` leaves the trainer running in the background (follow it in the run's
events.jsonl; stop it with `train stop`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from voicelab.core.errors import Cancelled, VoiceLabError
from voicelab.core.workspace import Workspace

_FLAG_SETTINGS = (  # (flag dest, config key)
    ("quality", "quality"), ("max_epochs", "max_epochs"), ("max_steps", "max_steps"),
    ("batch_size", "batch_size"), ("learning_rate", "learning_rate"),
    ("accumulate", "accumulate_grad_batches"), ("precision", "precision"),
    ("optimizer", "optimizer"), ("checkpoint_every_epochs", "checkpoint_every_epochs"),
    ("checkpoint_every_steps", "checkpoint_every_steps"), ("device", "device"),
    ("devices", "devices"), ("strategy", "strategy"), ("num_nodes", "num_nodes"),
    ("workers", "num_workers"), ("seed", "seed"), ("preview_every", "preview_every_epochs"),
    ("validation_share", "validation_share"), ("espeak_voice", "espeak_voice"),
)


def add_parser(sub) -> None:
    train = sub.add_parser("train", help="train a voice: start, resume, stop, export, list runs")
    actions = train.add_subparsers(dest="action", required=True)

    start = actions.add_parser("start", help="create a training run and train it")
    start.add_argument("--dataset", help="dataset name (in the workspace) or folder")
    start.add_argument("--config", type=Path, help="a YAML file of settings (flags override it)")
    start.add_argument("--name", help="run name (default: dataset-quality-date)")
    start.add_argument("--base", help="base: a .ckpt or .onnx path, a model id from `models list`, "
                                      "a voice from `train bases` (e.g. builtin:en_US-joe-medium), "
                                      "or scratch (needs hours of speech). Default: the built-in "
                                      "voice of the dataset's language")
    start.add_argument("--from-checkpoint", type=Path, metavar="CKPT",
                       help="branch: start from this checkpoint of an earlier run")
    start.add_argument("--quality", choices=("x_low", "low", "medium", "high"))
    start.add_argument("--max-epochs", type=int)
    start.add_argument("--max-steps", type=int)
    start.add_argument("--batch-size", type=int)
    start.add_argument("--learning-rate", type=float)
    start.add_argument("--accumulate", type=int, help="gradient accumulation (batches per update)")
    start.add_argument("--precision", choices=("32", "bf16-mixed", "16-mixed"))
    start.add_argument("--optimizer", choices=("adamw", "adamw8bit"))
    start.add_argument("--checkpoint-every-epochs", type=int)
    start.add_argument("--checkpoint-every-steps", type=int)
    start.add_argument("--preview-every", type=int, metavar="EPOCHS", help="0 = no previews")
    start.add_argument("--validation-share", type=float, help="re-split (default: the dataset's split)")
    start.add_argument("--device", choices=("auto", "cpu", "cuda"))
    start.add_argument("--devices", help="devices per node (a number or auto)")
    start.add_argument("--strategy", help="Lightning strategy: auto, ddp, ddp_spawn, fsdp, ...")
    start.add_argument("--num-nodes", type=int)
    start.add_argument("--workers", type=int, help="data-loader workers")
    start.add_argument("--seed", type=int)
    start.add_argument("--espeak-voice", help="phonemizer voice (default: from the dataset, else en-us)")
    start.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="any other setting, YAML value (e.g. --set model.hidden_channels=96)")
    start.add_argument("--detach", action="store_true", help="start in the background and return")

    resume = actions.add_parser("resume", help="continue a run from its newest checkpoint")
    resume.add_argument("run", help="run name or folder")
    resume.add_argument("--max-epochs", type=int, help="raise the epoch limit first")
    resume.add_argument("--max-steps", type=int, help="raise the step limit first")
    resume.add_argument("--detach", action="store_true", help="resume in the background and return")

    delete = actions.add_parser("delete", help="delete a run (not while it trains; its voices stay)")
    delete.add_argument("run", help="run name")
    stop = actions.add_parser("stop", help="ask a running trainer to checkpoint and stop")
    stop.add_argument("run", help="run name or folder")
    stop.add_argument("--wait", type=float, default=120.0, metavar="SECONDS",
                      help="how long to wait for it to stop (default 120; 0 = do not wait)")

    export = actions.add_parser("export", help="export a checkpoint as a Piper voice (.onnx + .json)")
    export.add_argument("run", help="run name or folder")
    export.add_argument("--checkpoint", type=Path, help="which checkpoint (default: the newest)")
    export.add_argument("--name", help="voice name (default: the run's)")
    export.add_argument("-o", "--output", type=Path, metavar="DIR",
                        help="folder for the voice (default: the run's voice/ folder)")
    export.add_argument("--force", action="store_true",
                        help="export even when its previews say it is not ready (WER over 50%%, "
                             "or less like the speaker than the voice the run started from)")

    suggest = actions.add_parser("suggest-batch", help="the largest batch size that fits this GPU "
                                                       "(tries real training steps)")
    suggest.add_argument("dataset", nargs="?", help="dataset name or folder (optional)")
    suggest.add_argument("--quality", choices=("x_low", "low", "medium", "high"))
    suggest.add_argument("--precision", choices=("32", "bf16-mixed", "16-mixed"))
    suggest.add_argument("--config", type=Path, help="a train.yaml to take settings from")
    suggest.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    suggest.add_argument("--json", action="store_true", help="one JSON line (for the GUI)")
    suggest.set_defaults(devices=None, base=None)

    actions.add_parser("list", help="all runs with their status")
    actions.add_parser("bases", help="what a run can start from: voices and downloaded checkpoints")
    train.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace, ws: Workspace) -> int:
    handler = {"start": _start, "resume": _resume, "stop": _stop, "export": _export,
               "list": _list, "bases": _bases, "delete": _delete,
               "suggest-batch": _suggest_batch}[args.action]
    return handler(args, ws)


def _delete(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.inventory import delete_run

    delete_run(ws, args.run)
    print(f"Deleted run '{args.run}'.")
    return 0


def _suggest_batch(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.training.batch_probe import suggest_batch_size
    from voicelab.core.training.config import config_from_dict

    settings = _settings(args, ws)
    settings.setdefault("dataset", "-")  # the probe needs no data: only its length limits
    suggestion = suggest_batch_size(config_from_dict(settings))
    if args.json:
        import dataclasses
        import json

        print(json.dumps(dataclasses.asdict(suggestion)))
        return 0
    for size, peak in suggestion.tried:
        print(f"  batch {size:4d}: " + ("out of memory" if peak is None else f"peak {peak:.1f} GiB"))
    print(suggestion.message)
    return 0 if suggestion.batch_size is not None or suggestion.device == "cpu" else 1


# -- start and resume ----------------------------------------------------------------------------
def _settings(args: argparse.Namespace, ws: Workspace) -> dict[str, Any]:
    from voicelab.core.fileio import read_yaml

    settings: dict[str, Any] = {}
    if args.config is not None:
        try:
            loaded = read_yaml(args.config)
        except FileNotFoundError:
            raise VoiceLabError(f"The settings file {args.config} does not exist.") from None
        except Exception as error:
            detail = " ".join(str(error).split())  # one line: YAML's messages span several
            raise VoiceLabError(f"Cannot read {args.config}: {detail}") from error
        if not isinstance(loaded, dict):
            raise VoiceLabError(f"{args.config} must hold `key: value` settings.")
        settings.update({k: v for k, v in loaded.items() if k != "lineage"})
    for dest, key in _FLAG_SETTINGS:
        value = getattr(args, dest, None)
        if value is not None:
            settings[key] = value
    if args.devices is not None:
        settings["devices"] = int(args.devices) if args.devices.isdigit() else args.devices
    for item in args.set:
        _apply_set(settings, item)
    if args.dataset:
        settings["dataset"] = str(_dataset_folder(ws, args.dataset))
    elif "dataset" in settings:
        settings["dataset"] = str(_dataset_folder(ws, str(settings["dataset"])))
    if args.base and args.base.strip().lower() in SCRATCH_NAMES:
        settings["base"] = None
    elif args.base:
        settings["base"] = str(_base_path(ws, args.base))
    return settings


#: `--base` values that mean "no base": train from scratch.
SCRATCH_NAMES = ("scratch", "none")


def _apply_set(settings: dict[str, Any], item: str) -> None:
    import yaml

    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise VoiceLabError(f"--set needs KEY=VALUE, not “{item}” (e.g. --set keep_best=5).")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as error:
        raise VoiceLabError(f"--set {key}: cannot read “{raw}” as a value ({error}).") from error
    target = settings
    parts = key.strip().split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise VoiceLabError(f"--set {key}: {part} is not a group of settings.")
    target[parts[-1]] = value


def _dataset_folder(ws: Workspace, name: str) -> Path:
    """A dataset of the workspace by name, or a dataset folder given by its path."""
    from voicelab.core.names import name_or_folder

    found = name_or_folder(ws.datasets, name, "dataset", Path.is_dir)
    if found is not None:
        return found
    known = sorted(p.name for p in ws.datasets.iterdir() if p.is_dir()) if ws.datasets.is_dir() else []
    raise VoiceLabError(f"There is no dataset “{name}”. Datasets: {', '.join(known) or 'none yet'} "
                        "(or give a dataset folder).")


def _base_path(ws: Workspace, base: str) -> Path:
    path = Path(base).expanduser()
    if path.is_file():
        return path.resolve()
    from voicelab.core.models import ModelManager
    from voicelab.core.training.voice_bases import find_voice_base

    manager = ModelManager(ws)
    try:
        entry = manager.get(base)
    except VoiceLabError:
        voice = find_voice_base(ws, base)
        if voice is not None:
            return voice
        raise VoiceLabError(f"The base “{base}” is neither a file nor a model id (nor a voice of "
                            "the workspace). See `voicelab-cli train bases`.") from None
    local = manager.local_path(entry)
    if local is None:
        raise VoiceLabError(f"The base model {base} is not downloaded yet: run "
                            f"`voicelab-cli models download {base}` first.")
    return local


def _start(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.training.runs import create_run

    settings = _settings(args, ws)
    if not settings.get("dataset"):
        raise VoiceLabError("Which dataset? Give --dataset NAME (see the workspace's datasets "
                            "folder) or a dataset folder.")
    if "base" not in settings and args.from_checkpoint is None:
        from voicelab.core.training.voice_bases import default_base

        found = default_base(ws, Path(settings["dataset"]))
        settings["base"] = str(found) if found else None
        print(f"base: {found.name} (the built-in voice of the dataset's language; --base scratch "
              "trains from scratch)" if found else "base: none, training from scratch (no built-in "
              "voice speaks the dataset's language; give --base)", file=sys.stderr)
    from voicelab.core.training.config import config_from_dict
    from voicelab.core.training.runner import check_device

    check_device(config_from_dict(settings).device)  # before the run exists: no failed run left
    run_dir = create_run(ws.runs, settings, name=args.name, from_checkpoint=args.from_checkpoint)
    print(f"run: {run_dir}", file=sys.stderr)
    return _train(run_dir, detach=args.detach)


def _resume(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.training import runs

    run_dir = runs.find_run(ws.runs, args.run)
    if runs.is_running(run_dir):
        raise VoiceLabError(f"The run {run_dir.name} is already training.")
    from voicelab.core.training.runner import check_device

    config = runs.change_limits(run_dir, max_steps=args.max_steps, max_epochs=args.max_epochs)
    check_device(config.device)
    status = runs.run_status(run_dir)
    if status == "finished" and args.max_steps is None and args.max_epochs is None:
        raise VoiceLabError(f"The run {run_dir.name} has finished. To train it further, raise its "
                            "limit: `train resume RUN --max-epochs N` (or --max-steps N).")
    checkpoint = runs.latest_checkpoint(run_dir)
    print(f"resuming {run_dir.name} from "
          f"{checkpoint.name if checkpoint else 'the start (no checkpoint yet)'}", file=sys.stderr)
    return _train(run_dir, detach=args.detach)


def _train(run_dir: Path, *, detach: bool) -> int:
    from voicelab.core.training.process import TrainerProcess

    if detach:
        return _detach(run_dir)
    from voicelab.cli.terminal import cancel_on_ctrl_c

    cancel = cancel_on_ctrl_c()
    printer = _EventPrinter()
    process = TrainerProcess(run_dir)
    restore_signals = _stop_on_signals(cancel)
    process.start()
    stop_sent = False
    try:
        while True:
            try:
                event = process.next_event(timeout=0.25)
                if event is not None:
                    try:
                        printer(event)
                    except (OSError, ValueError):  # the terminal went away (SIGHUP): carry on
                        printer = _silent
                elif process.ended:
                    break
                if cancel.cancelled and not stop_sent:
                    process.request_stop()
                    stop_sent = True
            except KeyboardInterrupt:  # the second Ctrl-C: end it now
                process.kill()
                print("\nTrainer killed; resume continues from its last checkpoint.", file=sys.stderr)
                raise Cancelled() from None
        code = process.wait()
    finally:
        process.close()
        restore_signals()
    return _exit_code(process.final_event, code, run_dir.name)


def _stop_on_signals(cancel) -> Callable[[], None]:
    """SIGTERM and SIGHUP ask the trainer to save a checkpoint and stop, as the first Ctrl-C
    does (the trainer runs in its own session, so these reach only this command, which must
    pass them on, or the trainer would outlive it). Returns what puts the old handlers back."""
    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {sig: signal.getsignal(sig) for sig in wanted}

    def handler(signum: int, frame: Any) -> None:
        if not cancel.cancelled:
            _say(f"\n{signal.Signals(signum).name}: asking the trainer to save a checkpoint and "
                 "stop…")
        cancel.cancel()

    for sig in wanted:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)

    return restore


def _silent(event: dict[str, Any]) -> None:
    """The event printer once there is no terminal to print on."""


def _say(text: str) -> None:
    """A line on stderr that may not be there any more (SIGHUP: the terminal closed)."""
    try:
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _exit_code(final: dict[str, Any] | None, code: int | None, run_name: str = "RUN") -> int:
    from voicelab.cli.terminal import EXIT_CANCELLED, EXIT_ERROR
    from voicelab.core.training.event_text import stopped_text

    kind = (final or {}).get("type")
    if kind == "finished":
        return 0
    if kind == "stopped":
        _say(f"{stopped_text(final).rstrip('.')} (`voicelab-cli train resume {run_name}`).")
        return EXIT_CANCELLED
    if kind == "error":
        hint = final.get("hint")
        raise VoiceLabError(str(final.get("message")) + (f"\n{hint}" if hint else ""))
    if code == 0:
        return 0
    print(f"The trainer exited ({code}) without a final event; see the run's logs/ folder.",
          file=sys.stderr)
    return EXIT_ERROR


def _detach(run_dir: Path) -> int:
    import os
    import subprocess

    from voicelab.core.training.process import trainer_command

    logs = run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {}
    if os.name == "nt":  # pragma: no cover - Windows
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
    else:
        kwargs["start_new_session"] = True
    with open(logs / "stderr.log", "ab") as stderr:
        process = subprocess.Popen(trainer_command(run_dir), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=stderr, **kwargs)
    print(f"Training in the background (pid {process.pid}). Follow {run_dir / 'events.jsonl'}; "
          f"stop with `voicelab-cli train stop {run_dir.name}`.", file=sys.stderr)
    print(run_dir)
    return 0


class _EventPrinter:
    """Turns events into a progress bar (steps) and one line per notable event."""

    def __init__(self) -> None:
        from voicelab.cli.terminal import TerminalProgress

        self.bar = TerminalProgress()
        self.warmup_bar = TerminalProgress(unit="share")
        self.total: float | None = None
        self.stream = sys.stderr
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def line(self, text: str) -> None:
        self.stream.write(("\r\033[K" if self._tty else "") + text + "\n")
        self.stream.flush()

    def __call__(self, event: dict[str, Any]) -> None:
        from voicelab.core.training.event_text import (
            frozen_text,
            preview_text,
            warmup_fraction,
            warmup_status,
        )

        kind = event.get("type")
        if kind == "preparing":
            self.bar(event.get("done", 0), event.get("total", 0), event.get("message", ""))
        elif kind == "prepared":
            dropped = event.get("dropped") or []
            self.line(f"data: {event.get('train')} training and {event.get('validation')} validation "
                      f"clips, {event.get('seconds', 0) / 60:.1f} min"
                      + (f"; {len(dropped)} dropped (see logs/trainer.log)" if dropped else ""))
        elif kind == "started":
            config = event.get("config") or {}
            self.total = _total_steps(config, event.get("steps_per_epoch"))
            self.bar = type(self.bar)()
            self.line(f"training on {event.get('device')} ({event.get('devices')} device(s)), "
                      f"{event.get('parameters', 0) / 1e6:.1f} M parameters"
                      + frozen_text(event)
                      + (f", resumed at step {event.get('step')}" if event.get("resumed_from") else ""))
        elif kind == "step":
            losses = event.get("losses") or {}
            message = (f"step {event.get('step')} epoch {event.get('epoch')} "
                       f"loss_g {_num(losses.get('loss_g'))} mel {_num(losses.get('mel'))} "
                       f"{_num(event.get('steps_per_s'))} steps/s")
            self.bar(float(event.get("step") or 0), self.total or 0, message)
        elif kind == "warmup":  # phase, step N of M, and the whole warm-up's share and time left
            if event.get("stage") == "done":  # also says when the cache had it
                self.line(warmup_status(event))
            elif event.get("stage") != "cached":
                self.warmup_bar(warmup_fraction(event) or 0.0, 1.0, warmup_status(event, time_left=False),
                                eta_s=event.get("eta_s"))
        elif kind == "validation":
            losses = event.get("losses") or {}
            self.line(f"validation at step {event.get('step')}: mel {_num(losses.get('mel'))}, "
                      f"loss_g {_num(losses.get('loss_g'))}")
        elif kind == "checkpoint":
            self.line(f"checkpoint: {event.get('path')}")
        elif kind == "preview":
            self.line(preview_text(event))
        elif kind == "finished":
            self.line(f"finished at step {event.get('step')}: {event.get('checkpoint')}")
        elif kind == "error":
            self.line(f"error: {event.get('message')}")


def _total_steps(config: dict[str, Any], per_epoch: Any) -> float | None:
    totals = []
    if config.get("max_steps"):
        totals.append(float(config["max_steps"]))
    if config.get("max_epochs") and per_epoch:
        totals.append(float(config["max_epochs"]) * float(per_epoch))
    return min(totals) if totals else None


def _num(value: Any) -> str:
    return "–" if value is None else f"{float(value):.3g}"


# -- stop, export, list ----------------------------------------------------------------------------
def _stop(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.training import runs

    run_dir = runs.find_run(ws.runs, args.run)
    if not runs.request_stop(run_dir):
        print(f"The run {run_dir.name} is not training.", file=sys.stderr)
        return 0
    print(f"Asked {run_dir.name} to save a checkpoint and stop…", file=sys.stderr)
    deadline = time.monotonic() + max(0.0, args.wait)
    while time.monotonic() < deadline:
        if not runs.is_running(run_dir):
            print(f"Stopped ({runs.run_status(run_dir)}).", file=sys.stderr)
            return 0
        time.sleep(0.25)
    if args.wait > 0:
        raise VoiceLabError(f"The run {run_dir.name} is still running after {args.wait:g} s; it may "
                            "be saving or validating. Check again, or end its process.")
    return 0


def _export(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.cli.terminal import EXIT_ERROR, TerminalProgress, cancel_on_ctrl_c
    from voicelab.core.training import runs
    from voicelab.core.training.export import export_run_voice
    from voicelab.core.training.export_check import check_export, export_summary, heard_concerns

    run_dir = runs.find_run(ws.runs, args.run)
    checkpoint = args.checkpoint or runs.latest_checkpoint(run_dir)
    if checkpoint is None:
        raise VoiceLabError(f"The run {run_dir.name} has no checkpoint yet; train it first.")
    check = check_export(run_dir, Path(checkpoint))
    if check.concerns and not args.force:
        for concern in check.concerns:
            print(concern, file=sys.stderr)
        print(f"Nothing was exported. Keep training (`voicelab-cli train resume {run_dir.name}`), "
              "or export it anyway with --force.", file=sys.stderr)
        return EXIT_ERROR
    name = args.name or run_dir.name
    out_dir = args.output or (run_dir / "voice")
    result = export_run_voice(run_dir, Path(checkpoint), out_dir, name, progress=TerminalProgress(),
                              cancel=cancel_on_ctrl_c())
    print(f"{'warning: ' if not result.verified else ''}{Path(checkpoint).name} exported. "
          f"{export_summary(result, check)}", file=sys.stderr)
    for concern in check.concerns + heard_concerns(result):  # said once more, after the export
        print(f"warning: {concern}", file=sys.stderr)
    print(result.onnx_path)
    return 0


def _bases(args: argparse.Namespace, ws: Workspace) -> int:
    """Voices (fine-tuned from their .onnx) and downloaded checkpoints, usable as --base."""
    from voicelab.core.models import ModelManager
    from voicelab.core.models_catalog import KIND_LOCAL, KIND_PIPER
    from voicelab.core.training.voice_bases import describe_voice_bases

    print("Voices (their .onnx is rebuilt into a trainable model):")
    for line in describe_voice_bases(ws):
        print(f"  {line}")
    manager = ModelManager(ws)
    checkpoints = [(entry.id, manager.local_path(entry)) for entry in manager.catalog()
                   if entry.kind in (KIND_PIPER, KIND_LOCAL)]
    present = [(model_id, path) for model_id, path in checkpoints
               if path is not None and Path(path).suffix == ".ckpt"]
    print("Checkpoints:" if present else "Checkpoints: none downloaded (see `voicelab-cli models list`)")
    for model_id, path in present:
        print(f"  {model_id:40s} {path}")
    return 0


def _list(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.training.runs import list_runs

    infos = list_runs(ws.runs)
    if not infos:
        print("No training runs yet; start one with `voicelab-cli train start --dataset NAME`.",
              file=sys.stderr)
        return 0
    print(f"{'run':40s} {'status':12s} {'step':>8s} {'epoch':>6s} {'quality':8s} last checkpoint")
    for info in infos:
        last = info.last_checkpoint.name if info.last_checkpoint else "-"
        print(f"{info.name:40s} {info.status:12s} {info.step:>8d} {info.epoch:>6d} "
              f"{info.quality or '-':8s} {last}")
        if info.status == "failed" and info.message:
            print(f"    {info.message.splitlines()[0][:150]}")
    return 0

