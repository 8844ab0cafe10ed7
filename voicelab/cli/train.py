"""`voicelab-cli train start|resume|stop|export|list`: train a voice headless (GPU servers).

The command group's parser and dispatch, and the commands that act on runs already there:
stop, export, list, delete, and what a run can start from (`bases`, `suggest-batch`).
Creating and resuming a run are in train_start.py; running its trainer in the foreground
or the background, in train_follow.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from voicelab.cli.train_start import resume_run, run_settings, start_run
from voicelab.core.errors import VoiceLabError
from voicelab.core.training.run.config import FINETUNE_LEARNING_RATE, SCRATCH_LEARNING_RATE, rate_text
from voicelab.core.workspace import Workspace


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
    start.add_argument("--learning-rate", type=float,
                       help=f"default: {rate_text(FINETUNE_LEARNING_RATE)} from a base voice (a fine-tune), "
                            f"{rate_text(SCRATCH_LEARNING_RATE)} with --base scratch")
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
    handler = {"start": start_run, "resume": resume_run, "stop": _stop, "export": _export,
               "list": _list, "bases": _bases, "delete": _delete,
               "suggest-batch": _suggest_batch}[args.action]
    return handler(args, ws)


def _delete(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.inventory import delete_run

    delete_run(ws, args.run)
    print(f"Deleted run '{args.run}'.")
    return 0


def _suggest_batch(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.training.run.config import config_from_dict
    from voicelab.core.training.trainer.batch_probe import suggest_batch_size

    settings = run_settings(args, ws)
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


# -- stop, export, list ----------------------------------------------------------------------------
def _stop(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.training.run import runs

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
    from voicelab.core.training.run import runs
    from voicelab.core.training.voice.export import export_run_voice
    from voicelab.core.training.voice.export_check import check_export, export_summary, heard_concerns

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
    from voicelab.core.voice_bases import checkpoint_bases, describe_voice_bases

    print("Voices (their .onnx is rebuilt into a trainable model):")
    for line in describe_voice_bases(ws):
        print(f"  {line}")
    present, _missing = checkpoint_bases(ws)
    print("Checkpoints:" if present else "Checkpoints: none downloaded (see `voicelab-cli models list`)")
    for base in present:
        print(f"  {base.model_id:40s} {base.path}")
    return 0


def _list(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.training.run.runs import list_runs

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
