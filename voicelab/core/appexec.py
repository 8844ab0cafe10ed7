"""How to start this same app again in another mode, from source or from the packaged app.

VoiceLab runs some work in a fresh process of itself: the trainer (`--run-trainer RUN_DIR`),
the check that an exported voice speaks (`--verify-voice MODEL CONFIG …`), the packaged
app's self-test, and CLI commands the GUI wants out of its own process (`--cli train
suggest-batch …`: CUDA memory stays with the child). From a source checkout or a pip install that process is
`python -m voicelab --mode …`. The packaged (PyInstaller) app has no Python interpreter
to hand: there `sys.executable` is the app itself, which cannot run `-m`, and its entry
point dispatches the mode flag instead. Every caller builds its command line here, so the
two cases cannot drift apart and one test of the frozen app covers them all.

    subprocess.Popen(app_command("--run-trainer", str(run_dir)))
"""

from __future__ import annotations

import sys

#: Mode flags `voicelab.__main__` handles before Qt is imported.
RUN_TRAINER = "--run-trainer"
VERIFY_VOICE = "--verify-voice"
SELF_TEST = "--self-test"
CLI = "--cli"  # the headless CLI (`voicelab-cli …`), also inside the packaged app


def is_frozen() -> bool:
    """True inside the packaged app (PyInstaller sets `sys.frozen`)."""
    return bool(getattr(sys, "frozen", False))


def app_prefix() -> list[str]:
    """The argv that starts this app: `[VoiceLab]` frozen, `[python, -m, voicelab]` from source."""
    if is_frozen():
        return [sys.executable]
    return [sys.executable, "-m", "voicelab"]


def app_command(*args: str) -> list[str]:
    """The argv that runs this app with `args`, e.g. `app_command(RUN_TRAINER, run_dir)`."""
    return app_prefix() + [str(arg) for arg in args]
