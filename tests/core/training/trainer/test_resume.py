"""The trainer as a real child process: stop by stdin and SIGTERM, kill -9, resume; the watchdog.

Each test starts `python -m voicelab --run-trainer RUN` through `TrainerProcess`, exactly
as the GUI and the CLI do, with a tiny model (the hook in voicelab/selftest/tiny.py).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.support.trainer import of_type, run_trainer, trainer_env
from tests.support.training_data import SAVE_MARKER_ENV
from voicelab.core.training.new_run import create_run
from voicelab.core.training.run import events as ev
from voicelab.core.training.run import runs
from voicelab.core.training.run.process import EXIT_FINISHED, EXIT_STOPPED, TrainerProcess
from voicelab.selftest.tiny import build_dataset, tiny_config


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return build_dataset(tmp_path_factory.mktemp("datasets") / "joe")


def new_run(workspace, dataset, name="run", **overrides):
    return create_run(workspace.runs, tiny_config(dataset, **overrides), name=name)


def test_stop_line_checkpoints_and_resume_continues_the_count(workspace, dataset):
    run_dir = new_run(workspace, dataset, max_steps=8, checkpoint_every_steps=4)
    stopping = []

    def stop_at_3(process, event):
        if event["step"] >= 3 and not stopping:
            stopping.append(process.request_stop())

    code, first = run_trainer(run_dir, on_step=stop_at_3)
    assert code == EXIT_STOPPED and stopping == [True]
    stopped = first[-1]
    assert stopped["type"] == "stopped" and stopped["step"] >= 3
    assert Path(stopped["checkpoint"]).is_file()
    assert runs.checkpoint_step(Path(stopped["checkpoint"])) == stopped["step"]
    assert of_type(first, "heartbeat")
    assert runs.run_status(run_dir) == "stopped"

    code, second = run_trainer(run_dir)
    assert code == EXIT_FINISHED, second[-1]
    started = of_type(second, "started")[0]
    assert started["step"] == stopped["step"] and started["resumed_from"] == stopped["checkpoint"]
    assert of_type(second, "step")[0]["step"] == stopped["step"] + 1
    assert second[-1]["type"] == "finished" and second[-1]["step"] == 8
    log = ev.read_events(run_dir / "events.jsonl")
    assert [e["type"] for e in log].count("started") == 2  # appended, not replaced
    assert [e["step"] for e in ev.training_history(log)["step"]] == list(range(1, 9))
    assert runs.run_status(run_dir) == "finished"


def test_sigterm_is_a_clean_stop(workspace, dataset):
    run_dir = new_run(workspace, dataset, max_steps=40, checkpoint_every_steps=100)

    def terminate(process, event):
        if event["step"] == 2:
            process.terminate()

    code, events = run_trainer(run_dir, on_step=terminate)
    assert code == EXIT_STOPPED
    assert events[-1]["type"] == "stopped" and events[-1]["checkpoint"]
    assert of_type(events, "checkpoint")[-1]["reason"] == "stop"


def test_kill_9_then_resume_loses_only_the_steps_since_the_last_checkpoint(workspace, dataset):
    run_dir = new_run(workspace, dataset, max_steps=10, checkpoint_every_steps=2)

    def kill_at_5(process, event):
        if event["step"] == 5:
            os.killpg(process.pid, signal.SIGKILL)

    code, first = run_trainer(run_dir, on_step=kill_at_5)
    assert code == -signal.SIGKILL
    assert not of_type(first, "stopped") and not of_type(first, "finished")
    assert runs.run_status(run_dir) == "interrupted"
    last = runs.latest_checkpoint(run_dir)
    assert runs.checkpoint_step(last) == 4

    code, second = run_trainer(run_dir)
    assert code == EXIT_FINISHED, second[-1]
    assert of_type(second, "started")[0]["step"] == 4
    assert of_type(second, "step")[0]["step"] == 5
    history = ev.training_history(ev.read_events(run_dir / "events.jsonl"))
    assert [e["step"] for e in history["step"]] == list(range(1, 11))


def test_kill_9_in_the_middle_of_a_save_never_leaves_a_half_checkpoint(workspace, dataset, tmp_path):
    run_dir = new_run(workspace, dataset, max_steps=6, checkpoint_every_steps=2)
    marker = tmp_path / "saving"
    env = trainer_env("tests.support.training_data:tiny_and_hanging_save", **{SAVE_MARKER_ENV: str(marker)})
    with TrainerProcess(run_dir, env=env) as process:
        process.start()
        deadline = time.monotonic() + 90
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the second checkpoint save never started"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
    half = Path(marker.read_text(encoding="utf-8"))
    assert half.name == "step-00000004.ckpt"
    assert not half.exists()  # the real name only ever points at a complete file
    leftovers = list((run_dir / "checkpoints").glob(".step-00000004.ckpt.*.tmp"))
    assert leftovers and leftovers[0].stat().st_size > 0
    assert runs.latest_checkpoint(run_dir).name == "step-00000002.ckpt"

    code, events = run_trainer(run_dir)
    assert code == EXIT_FINISHED, events[-1]
    assert of_type(events, "started")[0]["resumed_from"].endswith("step-00000002.ckpt")
    assert not list((run_dir / "checkpoints").glob("*.tmp"))  # the leftover was cleared


def test_a_truncated_checkpoint_under_a_real_name_is_skipped(workspace, dataset):
    """Atomic saves never make one, but a bad copy or disk could: resume must not read it."""
    run_dir = new_run(workspace, dataset, max_steps=4, checkpoint_every_steps=2)

    def stop_at_2(process, event):
        if event["step"] == 2:
            process.request_stop()

    code, _ = run_trainer(run_dir, on_step=stop_at_2)
    assert code == EXIT_STOPPED
    good = runs.latest_checkpoint(run_dir)
    broken = run_dir / "checkpoints" / "step-00000099.ckpt"
    broken.write_bytes(good.read_bytes()[:5000])
    assert runs.latest_checkpoint(run_dir) == good
    code, events = run_trainer(run_dir)
    assert code == EXIT_FINISHED, events[-1]
    assert of_type(events, "started")[0]["resumed_from"] == str(good)


def test_request_stop_from_another_process_stops_the_trainer(workspace, dataset):
    run_dir = new_run(workspace, dataset, max_steps=200, checkpoint_every_steps=100)

    def stop_from_outside(process, event):
        if event["step"] == 2:
            assert runs.is_running(run_dir)
            assert runs.read_lock_pid(run_dir) == process.pid
            assert runs.request_stop(run_dir)

    code, events = run_trainer(run_dir, on_step=stop_from_outside)
    assert code == EXIT_STOPPED and events[-1]["type"] == "stopped"
    assert not runs.is_running(run_dir) and not (run_dir / runs.STOP_FILE).exists()
    assert runs.request_stop(run_dir) is False


# -- the watchdog and stop escalation, on stand-in processes -------------------------------------
def stand_in(tmp_path, code):
    (tmp_path / "logs").mkdir(exist_ok=True)
    return TrainerProcess(tmp_path, command=[sys.executable, "-c", code])


def test_a_silent_process_looks_stuck(tmp_path):
    with stand_in(tmp_path, "import time; time.sleep(30)") as process:
        process.start()
        assert not process.looks_stuck(after_s=5)
        time.sleep(1.2)
        assert process.looks_stuck(after_s=1.0)
        assert process.seconds_since_step() is None
    assert process.returncode is not None  # close() ended it


def test_heartbeats_without_steps_while_training_look_stuck(tmp_path):
    beat = ev.encode(ev.heartbeat(step=7, phase="training", since_step_s=600.0))
    validating = ev.encode(ev.heartbeat(step=7, phase="validating", since_step_s=600.0))
    code = (f"import time, sys\nfor line in [{validating!r}, {beat!r}]:\n"
            "    print(line, flush=True); time.sleep(0.5)\ntime.sleep(30)\n")
    with stand_in(tmp_path, code) as process:
        process.start()
        first = process.next_event(timeout=10)
        assert first["phase"] == "validating" and not process.looks_stuck(after_s=300)
        assert process.next_event(timeout=10)["phase"] == "training"
        assert process.looks_stuck(after_s=300)


def test_stop_escalates_to_sigterm_then_kill(tmp_path):
    stubborn = ("import signal, sys, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                "print('ready', flush=True)\nwhile True: time.sleep(1)\n")
    with stand_in(tmp_path, stubborn) as process:
        process.start()
        time.sleep(0.5)
        started = time.monotonic()
        code = process.stop(grace_s=0.5, term_s=0.5)
        assert code == -signal.SIGKILL
        assert time.monotonic() - started < 10


def test_stop_ends_with_the_trainers_own_exit_when_it_listens(tmp_path):
    polite = ("import sys\nfor line in sys.stdin:\n    if line.strip() == 'stop':\n"
              "        sys.exit(3)\n")
    with stand_in(tmp_path, polite) as process:
        process.start()
        assert process.stop(grace_s=10) == EXIT_STOPPED
