"""The `voicelab-cli` dispatcher: everything the GUI does, headless (for scripts and GPU servers).

A thin argparse layer over `voicelab.core`: each sub-command calls the same core function as
the GUI, prints progress on the terminal and turns `VoiceLabError`s into a one-line message
and a non-zero exit code. Ctrl-C cancels the running work cleanly.
"""

from __future__ import annotations

import argparse
import signal
import sys

from voicelab import __version__
from voicelab.cli import dataset, generate, models, train
from voicelab.cli.info import cmd_info, cmd_settings
from voicelab.cli.terminal import EXIT_CANCELLED, EXIT_ERROR
from voicelab.core.errors import Cancelled, VoiceLabError
from voicelab.core.workspace import Workspace


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
    parser = OptionsAnywhereParser(prog="voicelab-cli", description="Everything the VoiceLab app does, headless "
                                   "(for scripts and GPU servers).")
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

    for command in (models, generate, dataset, train):
        command.add_parser(sub)
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
