"""`voicelab-cli`: everything the GUI does, headless (for scripts and GPU servers).

A thin argparse layer over `voicelab.core`: each sub-command calls the same core function as
the GUI, prints progress on the terminal and turns `VoiceLabError`s into a one-line message
and a non-zero exit code. Ctrl-C cancels the running work cleanly.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from voicelab import __version__
from voicelab.core.errors import Cancelled, VoiceLabError
from voicelab.core.progress import CancelToken, EtaEstimator, format_bytes, format_time_left
from voicelab.core.workspace import Workspace

EXIT_ERROR = 1
EXIT_CANCELLED = 130


class TerminalProgress:
    """A one-line progress bar with ETA on a terminal; plain lines when not a terminal.

    `unit` "bytes" shows amounts as sizes, "share" shows none (the done and total are a
    share of the work, 0-1, as a warm-up reports it). An `eta_s` given with a call (the
    work's own estimate) is shown instead of the one from this bar's rate.
    """

    def __init__(self, stream=None, width: int = 28, unit: str = "") -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.unit = unit
        self.eta = EtaEstimator()
        self._last = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def __call__(self, done: float, total: float, message: str = "", eta_s: float | None = None) -> None:
        now = time.monotonic()
        final = bool(total) and done >= total
        if not final and now - self._last < (0.1 if self._tty else 2.0):
            return
        self._last = now
        if total:
            fraction = min(1.0, done / total)
            filled = int(fraction * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            amount = (f"{format_bytes(done)}/{format_bytes(total)} " if self.unit == "bytes"
                      else "" if self.unit == "share" else f"{done:g}/{total:g} ")
            eta = self.eta.eta(done, total) if eta_s is None else eta_s
            left = f"{format_time_left(eta)} " if eta is not None else ""  # unknown at first
            line = f"[{bar}] {fraction * 100:5.1f}% {amount}{left}{message}"
        else:
            line = f"{message} …"
        if self._tty:
            self.stream.write("\r" + line[:160].ljust(160))
            if final:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _cancel_on_ctrl_c() -> CancelToken:
    token = CancelToken()

    def handler(signum, frame):
        if token.cancelled:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        print("\nCancelling… (press Ctrl-C again to stop at once)", file=sys.stderr)
        token.cancel()

    signal.signal(signal.SIGINT, handler)
    return token


# -- info and settings ---------------------------------------------------------------------------
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


# -- wiring --------------------------------------------------------------------------------------
class OptionsAnywhereParser(argparse.ArgumentParser):
    """An argparse parser whose commands take options before, between and after positionals.

    Plain argparse fills a `nargs="*"` or `"?"` positional at the first run of positionals,
    so `dataset add NAME --max 10 FILE` left FILE "unrecognized". A command's own parser
    (one without sub-commands) therefore parses intermixed: options first, then positionals
    from what is left. Sub-parsers are made with the parser's class, so every command of
    every group gets this; a parser with sub-commands cannot intermix (argparse refuses) and
    passes everything after the command name on unchanged.
    """

    _intermixing = False

    def parse_known_args(self, args=None, namespace=None):
        nested = any(action.nargs in (argparse.PARSER, argparse.REMAINDER)
                     for action in self._get_positional_actions())
        if nested or self._intermixing:  # parse_known_intermixed_args calls back in here
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def build_parser() -> argparse.ArgumentParser:
    parser = OptionsAnywhereParser(prog="voicelab-cli", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"VoiceLab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = sub.add_parser("info", help="versions and where data lives")
    info.set_defaults(func=cmd_info)

    settings = sub.add_parser("settings", help="show or change settings")
    settings_sub = settings.add_subparsers(dest="action", required=True)
    settings_sub.add_parser("show", help="print all settings")
    setter = settings_sub.add_parser("set", help="set one setting, e.g. `settings set device cpu`")
    setter.add_argument("key")
    setter.add_argument("value")
    settings.set_defaults(func=cmd_settings)

    from voicelab import cli_models

    cli_models.add_parser(sub)
    from voicelab import cli_generate

    cli_generate.add_parser(sub)
    from voicelab import cli_dataset

    cli_dataset.add_parser(sub)
    from voicelab import cli_train

    cli_train.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    ws = Workspace.open()
    for problem in ws.problems:  # a bad settings file is said by every command, until fixed
        print(f"warning: {problem}", file=sys.stderr)
    from voicelab.core.logs import setup_logging

    setup_logging(ws.log_file)
    previous_sigint = signal.getsignal(signal.SIGINT)
    try:
        return args.func(args, ws)
    except Cancelled:
        print("Cancelled.", file=sys.stderr)
        return EXIT_CANCELLED
    except VoiceLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_CANCELLED
    finally:
        signal.signal(signal.SIGINT, previous_sigint)  # callers in-process keep their handler


if __name__ == "__main__":
    sys.exit(main())
