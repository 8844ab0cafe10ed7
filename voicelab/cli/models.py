"""`voicelab-cli models …`: list, download, refresh, add and remove models."""

from __future__ import annotations

import argparse
from pathlib import Path

from voicelab.core.errors import VoiceLabError
from voicelab.core.progress import format_bytes
from voicelab.core.workspace import Workspace


def add_parser(sub) -> None:
    models = sub.add_parser("models", help="base checkpoints, Whisper models and local voices")
    actions = models.add_subparsers(dest="action", required=True)
    lister = actions.add_parser("list", help="the catalog, with what is already downloaded")
    lister.add_argument("--kind", choices=("piper-checkpoint", "whisper", "local"))
    lister.add_argument("--language", help="only this language, e.g. en_US or de")
    download = actions.add_parser("download", help="download a model by id (see `models list`)")
    download.add_argument("id")
    actions.add_parser("refresh", help="refresh the list of Piper base checkpoints from the repository")
    add = actions.add_parser("add", help="register a local .ckpt checkpoint or Piper .onnx voice")
    add.add_argument("path", type=Path)
    remove = actions.add_parser("remove", help="delete a downloaded model or forget a local file")
    remove.add_argument("id")
    models.set_defaults(func=cmd_models)


def cmd_models(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.cli.terminal import TerminalProgress, cancel_on_ctrl_c
    from voicelab.core.models import ModelManager

    manager = ModelManager(ws)
    if args.action == "list":
        entries = manager.catalog()
        if args.kind:
            entries = [e for e in entries if e.kind == args.kind]
        if args.language:
            entries = [e for e in entries if (e.language or "").lower().startswith(args.language.lower())]
        print(f"{'id':42s} {'language':12s} {'quality':8s} {'size':>9s}  {'status':14s} license")
        for entry in entries:
            status = manager.presence(entry)
            size = format_bytes(entry.size_bytes) if entry.size_bytes else "?"
            print(f"{entry.id:42s} {entry.language or '-':12s} {entry.quality or '-':8s} {size:>9s}  "
                  f"{status:14s} {entry.license or '-'}")
        return 0
    if args.action == "download":
        entry = _find(manager, args.id)
        path = manager.download(entry, progress=TerminalProgress(unit="bytes"), cancel=cancel_on_ctrl_c())
        print(path)
        return 0
    if args.action == "refresh":
        entries = manager.refresh_piper_checkpoints(progress=TerminalProgress())
        print(f"{len(entries)} Piper base checkpoints listed.")
        return 0
    if args.action == "add":
        entry = manager.register_local(args.path)
        print(f"Registered {entry.id}: {manager.local_path(entry)}")
        return 0
    if args.action == "remove":
        entry = _find(manager, args.id)
        manager.remove(entry)
        print(f"Removed {entry.id}.")
        return 0
    raise VoiceLabError(f"Unknown models action {args.action!r}.")


def _find(manager, model_id: str):
    """The entry for an id; an unknown id raises UnknownModelError, which names the fix."""
    return manager.get(model_id)
