"""`voicelab-cli train` under faults and hostile input (issue 16): a foreground command owns
its trainer, every limit is checked, a resume never passes its limit, and a run that cannot
start on this machine is refused before it exists."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.trainer import poll_until
from voicelab.core.training.run import events as ev
from voicelab.core.training.run import runs


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_to_a_foreground_start_stops_its_trainer_with_a_checkpoint(workspace, dataset,
                                                                           settings_file, sig):
    command = [sys.executable, "-m", "voicelab.cli", "train", "start", "--dataset", str(dataset),
               "--config", str(settings_file), "--max-steps", "400", "--checkpoint-every-steps",
               "100", "--name", "signalled"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_dir = workspace.runs / "signalled"
    try:
        assert poll_until(lambda: any(e["type"] == "step" for e in ev.read_events(run_dir / "events.jsonl")))
        trainer = runs.read_lock_pid(run_dir)
        process.send_signal(sig)
        out, err = process.communicate(timeout=60)  # a bound that catches a hang
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert f"{sig.name}: asking the trainer to save a checkpoint and stop" in err
    assert "`voicelab-cli train resume signalled`" in err and "Traceback" not in err
    final = ev.read_events(run_dir / "events.jsonl")[-1]
    assert final["type"] == "stopped" and Path(final["checkpoint"]).is_file()
    assert not runs.is_running(run_dir) and trainer is not None
    assert not Path(f"/proc/{trainer}").exists()  # the trainer did not outlive its command


def test_a_resume_from_a_checkpoint_at_the_limit_does_not_pass_it(capsys, workspace, dataset,
                                                                 settings_file):
    code, out, err = run_cli(capsys, "train", "start", "--dataset", dataset, "--config",
                             settings_file, "--max-steps", 4, "--name", "at-limit")
    assert code == 0, err
    run_dir = workspace.runs / "at-limit"
    events_file = run_dir / "events.jsonl"
    lines = events_file.read_text(encoding="utf-8").splitlines()
    last_save = max(i for i, line in enumerate(lines) if json.loads(line)["type"] == "checkpoint")
    assert json.loads(lines[last_save])["step"] == 4
    # As a kill leaves it after the step-4 checkpoint was saved and before "finished".
    events_file.write_text("\n".join(lines[: last_save + 1]) + "\n", encoding="utf-8")
    assert runs.run_status(run_dir) == "interrupted"

    code, out, err = run_cli(capsys, "train", "resume", "at-limit")
    assert code == 0, err
    final = ev.read_events(events_file)[-1]
    assert final["type"] == "finished" and final["step"] == 4
    assert [p.name for p in runs.list_checkpoints(run_dir)][-1] == "step-00000004.ckpt"


@pytest.mark.parametrize("argv, message", [
    (["--max-steps", "-1", "--set", "max_epochs=null"], "max_epochs: and max_steps are both empty"),
    (["--max-steps", "0"], "max_steps: must be a whole number of at least 1"),
    (["--max-epochs", "-5"], "max_epochs: must be a whole number of at least 1"),
])
def test_a_limit_that_never_ends_or_makes_no_sense_is_refused(capsys, workspace, dataset,
                                                             settings_file, argv, message):
    code, out, err = run_cli(capsys, "train", "start", "--dataset", dataset, "--config",
                             settings_file, *argv)
    assert code == 1 and message in err
    assert not any(workspace.runs.iterdir())


def test_cuda_on_a_machine_without_it_is_refused_before_the_run_exists(capsys, workspace, dataset,
                                                                      settings_file):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: a cuda run would start")
    code, out, err = run_cli(capsys, "train", "start", "--dataset", dataset, "--config",
                             settings_file, "--device", "cuda", "--name", "no-gpu")
    assert code == 1 and "device is cuda, but no CUDA GPU is available" in err
    assert not (workspace.runs / "no-gpu").exists()
    code, out, err = run_cli(capsys, "train", "list")
    assert "no-gpu" not in out
