"""A real trainer child with the tiny model, and a fake one for the controller: what the CLI,
trainer, UI and end-to-end tests share."""

from __future__ import annotations

import os
import sys
import time

from tests.support.paths import REPO_ROOT
from voicelab.core.training.run.process import TrainerProcess
from voicelab.selftest.tiny import HOOK


def trainer_vars(hook: str = HOOK) -> dict[str, str]:
    """What a trainer child needs in its environment: the tiny model's hook, one thread, and
    this checkout importable (the hook and test helpers live in it)."""
    return {"VOICELAB_TRAINER_HOOK": hook, "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def trainer_env(hook: str = HOOK, **extra: str) -> dict[str, str]:
    """This process's environment with `trainer_vars`, for a trainer child."""
    return {**os.environ, **trainer_vars(hook), **extra}


def run_trainer(run_dir, *, on_step=None, env=None, timeout=120):
    """Run the trainer to its end; `on_step(process, event)` may stop or kill it."""
    events = []
    with TrainerProcess(run_dir, env=env or trainer_env()) as process:
        process.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = process.next_event(timeout=1.0)
            if event is None:
                if process.ended:
                    break
                continue
            events.append(event)
            if event["type"] == "step" and on_step is not None:
                on_step(process, event)
        code = process.wait(30)
    return code, events


def of_type(events, kind):
    return [e for e in events if e["type"] == kind]


def poll_until(predicate, timeout=60.0) -> bool:
    """Whether `predicate()` came true within `timeout` s (no event loop: CLI and core tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


#: A trainer that only speaks the event protocol (no torch: fast). "polite" stops on the stop
#: line; "stubborn" is a hung trainer, deaf to the stop line and to SIGTERM.
FAKE_TRAINER = r"""
import json, signal, sys, time
mode = sys.argv[1]
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
def emit(kind, **fields):
    print(json.dumps(dict(v=1, type=kind, time=time.time(), **fields)), flush=True)
emit("started", config={"max_steps": 10}, device="cpu", devices=1, parameters=1, step=0, epoch=0,
     resumed_from=None, train_utterances=1, validation_utterances=0, steps_per_epoch=1, base=None)
emit("step", step=1, epoch=0, losses={"loss_g": 1.0}, lr=1e-4, steps_per_s=1.0, eta_s=9.0)
emit("heartbeat", step=1, phase="training", since_step_s=999.0)
if mode == "stubborn":  # a hung trainer: deaf to the stop line and to SIGTERM
    while True:
        time.sleep(0.1)
sys.stdin.readline()  # "stop"
emit("stopped", step=1, epoch=0, checkpoint=None, reason="user")
sys.exit(3)
"""


def fake_trainer(mode: str) -> list[str]:
    return [sys.executable, "-c", FAKE_TRAINER, mode]
