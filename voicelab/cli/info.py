"""`voicelab-cli info` and `voicelab-cli settings`: versions, where data lives, and the settings."""

from __future__ import annotations

import argparse

from voicelab import __version__
from voicelab.core.errors import VoiceLabError
from voicelab.core.workspace import Workspace


def cmd_info(args: argparse.Namespace, ws: Workspace) -> int:
    from importlib import metadata

    print(f"VoiceLab {__version__}")
    print(f"workspace: {ws.root}")
    print(f"settings:  {ws.settings_path}")
    print(f"log:       {ws.log_file}")
    for name in ("piper-tts", "torch", "lightning", "faster-whisper", "onnxruntime", "huggingface_hub"):
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "not installed"
        print(f"{name:16s} {version}")
    return 0


def cmd_settings(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.settings import SETTING_NAMES, check_setting

    if args.action == "show":
        for key, value in ws.settings.to_dict().items():
            print(f"{key}: {value}")
        return 0
    if args.key not in SETTING_NAMES:
        raise VoiceLabError(f"There is no setting called '{args.key}'. Settings: {', '.join(SETTING_NAMES)}.")
    # Values stay strings: YAML would read "no" (Norwegian) as False and "2024" as a number.
    value = args.value if args.value != "" else None
    expected = check_setting(args.key, value)
    if expected is not None:
        raise VoiceLabError(f"'{args.key}' must be {expected}; {args.value!r} was not saved.")
    setattr(ws.settings, args.key, value)
    ws.save_settings()
    print(f"{args.key} = {value}")
    return 0
