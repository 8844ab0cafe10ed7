"""`VoiceLab --self-test`: prove that this install (above all the packaged app) can do its work.

A packaged app fails in ways a source checkout never shows: a Qt plugin, a shared library
or a data file that PyInstaller did not collect, a subprocess that tries to run `python`
where there is none. Those surface only when the code path runs, so the self-test runs
each path once, the way the app runs it:

    qt             Qt starts offscreen and the main window is built and shown
    portaudio      sounddevice finds its PortAudio library (no audio device is needed)
    synthesis      the default voice speaks a sentence (piper, espeak-ng data, onnxruntime)
    scores         the models that score previews (likeness, naturalness) score that sentence
    transcription  Whisper hears that sentence (faster-whisper, ctranslate2); skipped when
                   no Whisper model is bundled, cached or given with --whisper-model
    dataset        a tiny dataset is said by the bundled joe voice (the default voice)
    training       two steps of the tiny model in the trainer subprocess, started as the GUI
                   starts it (`VoiceLab --run-trainer`), ending in a checkpoint
    export         that checkpoint exported to ONNX and verified in a fresh process
    verify-voice   `VoiceLab --verify-voice` loads the default voice in a fresh process

All work happens in a temporary workspace, so a user's data is never touched. The report
is written as JSON and as text (`--report-dir`, default `<data folder>/logs/self-test/`);
each check says pass, fail or skipped, why, and how long it took. The exit status is 0
only when no check failed.

The package: `checks` holds the checks and the report; `tiny` the one tiny model and its
spoken dataset, which the tests and bench/ train too. This module is the entry point only,
and imports nothing heavy: the trainer imports `voicelab.selftest.tiny` for its hook.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Run the checks (all, or `--only` some) in a scratch workspace; write and print the report."""
    from voicelab.selftest import checks

    parser = argparse.ArgumentParser(prog="VoiceLab --self-test", description=__doc__.splitlines()[0])
    parser.add_argument("--report-dir", type=Path, help="where to write self-test.json and self-test.txt")
    parser.add_argument("--whisper-model", type=Path, help="a faster-whisper model folder to listen with")
    parser.add_argument("--only", nargs="+", choices=[n for n, _ in checks.CHECKS], help="run only these checks")
    parser.add_argument("--keep", action="store_true", help="keep the scratch workspace")
    args = parser.parse_args(argv)

    started, t0 = time.time(), time.perf_counter()
    # Found before the scratch workspace hides the user's: their downloaded Whisper model.
    whisper = checks.find_whisper_model(args.whisper_model)
    report_dir = args.report_dir or _default_report_dir()
    scratch = Path(tempfile.mkdtemp(prefix="voicelab-selftest-"))
    previous_home = os.environ.get("VOICELAB_HOME")
    os.environ["VOICELAB_HOME"] = str(scratch / "home")
    try:
        ctx = checks.Context(scratch=scratch, whisper_model=whisper,
                             log=lambda line: checks.say(line, sys.stderr))
        results = checks.run_checks(ctx, args.only)
    finally:
        if previous_home is None:
            os.environ.pop("VOICELAB_HOME", None)
        else:
            os.environ["VOICELAB_HOME"] = previous_home
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    report = checks.report_dict(results, started, time.perf_counter() - t0)
    text = checks.report_text(report)
    checks.write_report(report_dir, report, text)
    checks.say(text + f"Report: {report_dir / 'self-test.json'}", sys.stdout)
    return 0 if report["passed"] else 1


def _default_report_dir() -> Path:
    from voicelab.core.workspace import Workspace

    return Workspace.open().logs / "self-test"
