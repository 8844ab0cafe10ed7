"""`voicelab-cli train …` for real: start, list, stop, resume, export; Ctrl-C; the trainer entry."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.cli import run_cli
from tests.support.paths import REPO_ROOT
from tests.support.trainer import poll_until, trainer_vars
from tests.support.training_data import ScoredRun
from voicelab.core.training.run import events as ev
from voicelab.core.training.run import runs
from voicelab.core.training.run.config import TrainConfig


@pytest.fixture(autouse=True)
def trainer_env(monkeypatch):
    """The trainer child inherits these: a tiny model, one thread, the tests importable."""
    for name, value in trainer_vars().items():
        monkeypatch.setenv(name, value)
    previous = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, previous)  # `train start` installs its Ctrl-C handler


def test_start_trains_and_list_shows_the_finished_run(capsys, workspace, dataset, settings_file):
    code, out, err = run_cli(capsys, "train", "start", "--dataset", dataset, "--config",
                             settings_file, "--max-steps", 3, "--name", "first")
    assert code == 0, err
    # the same lines as the Training tab's log (run/event_text.event_line)
    assert "Finished at step 3; final checkpoint step-00000003.ckpt" in err and "Checkpoint at step 2" in err
    assert "Training on cpu" in err
    run_dir = workspace.runs / "first"
    assert runs.run_status(run_dir) == "finished"
    saved = yaml.safe_load((run_dir / "train.yaml").read_text(encoding="utf-8"))
    assert saved["max_steps"] == 3 and saved["model"]["hidden_channels"] == 16

    code, out, err = run_cli(capsys, "train", "list")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("first"))
    assert "finished" in row and "step-00000003.ckpt" in row


def test_a_dataset_name_from_the_workspace_and_set_overrides(capsys, workspace, dataset, settings_file):
    import shutil

    shutil.copytree(dataset, workspace.datasets / "joe-voice")
    code, out, err = run_cli(capsys, "train", "start", "--dataset", "joe-voice", "--config",
                             settings_file, "--max-steps", 2, "--name", "named",
                             "--set", "keep_best=2", "--set", "model.filter_channels=24")
    assert code == 0, err
    saved = yaml.safe_load((workspace.runs / "named" / "train.yaml").read_text(encoding="utf-8"))
    assert saved["keep_best"] == 2 and saved["model"]["filter_channels"] == 24
    assert saved["dataset"] == str((workspace.datasets / "joe-voice").resolve())


@pytest.mark.parametrize("argv, message", [
    (["--batch-size", "0"], "batch_size: must be a whole number of at least 1"),
    (["--set", "model.hiden_channels=8"], "did you mean 'hidden_channels'"),
    (["--device", "cpu", "--optimizer", "adamw8bit"], "adamw8bit (bitsandbytes) runs only on a CUDA GPU"),
    (["--base", "/no/such/base.ckpt"], "neither a file nor a model id"),
])
def test_bad_settings_are_refused_before_anything_starts(capsys, workspace, dataset, settings_file,
                                                         argv, message):
    code, out, err = run_cli(capsys, "train", "start", "--dataset", dataset, "--config",
                             settings_file, *argv)
    assert code == 1
    assert message in err
    assert not any(workspace.runs.iterdir())


def test_unknown_dataset_lists_the_ones_there_are(capsys, workspace):
    (workspace.datasets / "mine").mkdir()
    code, out, err = run_cli(capsys, "train", "start", "--dataset", "nope")
    assert code == 1 and "There is no dataset “nope”" in err and "mine" in err


def test_run_names_that_reach_outside_the_workspace_are_refused(capsys, workspace, tmp_path,
                                                               monkeypatch):
    """Issue 16: `train delete ../../../x/runs/probe` deleted a run of another workspace."""
    probe = tmp_path / "x" / "runs" / "probe"
    probe.mkdir(parents=True)
    runs.write_train_yaml(probe, TrainConfig(dataset="/nowhere"), {"created": "now"})
    traversal = os.path.relpath(probe, workspace.runs)
    (workspace.runs / "link").symlink_to(probe)
    (workspace.datasets / "d").mkdir()
    cwd = tmp_path / "a" / "b" / "c"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)  # where the traversal, as a path, is no run folder
    for argv, message in [(("delete", traversal), "cannot be a run name"),
                          (("delete", probe), "cannot be a run name"),
                          (("delete", "link"), "leads outside"),
                          (("stop", traversal), "There is no run"),
                          (("export", traversal), "There is no run"),
                          (("resume", "link"), "leads outside"),
                          (("stop", tmp_path / "x" / "runs"), "There is no run"),  # a folder, not a run
                          (("start", "--dataset", "d", "--base", "scratch", "--name", "../../escaped"),
                           "cannot be a run name")]:
        code, out, err = run_cli(capsys, "train", *argv)
        assert code == 1 and message in err, (argv, err)
    assert (probe / "train.yaml").is_file() and not (probe / runs.STOP_FILE).exists()
    assert not (tmp_path / "escaped").exists() and [p.name for p in workspace.runs.iterdir()] == ["link"]


def test_detach_stop_and_resume(capsys, workspace, dataset, settings_file):
    code, out, err = run_cli(capsys, "train", "start", "--dataset", dataset, "--config",
                             settings_file, "--max-steps", 400, "--checkpoint-every-steps", 100,
                             "--name", "bg", "--detach")
    assert code == 0 and "Training in the background" in err
    run_dir = Path(out.strip())
    events_file = run_dir / "events.jsonl"
    assert poll_until(lambda: any(e["type"] == "step" for e in ev.read_events(events_file)))
    assert runs.run_status(run_dir) == "running"
    code, out, err = run_cli(capsys, "train", "stop", "bg", "--wait", 60)
    assert code == 0 and "Stopped (stopped)" in err
    stopped = ev.read_events(events_file)[-1]
    assert stopped["type"] == "stopped" and stopped["checkpoint"]

    code, out, err = run_cli(capsys, "train", "resume", "bg", "--max-steps", stopped["step"] + 2)
    assert code == 0, err
    assert f"resuming bg from step-{stopped['step']:08d}.ckpt" in err
    assert runs.run_status(run_dir) == "finished"
    code, out, err = run_cli(capsys, "train", "resume", "bg")
    assert code == 1 and "has finished" in err
    code, out, err = run_cli(capsys, "train", "stop", "bg")
    assert code == 0 and "is not training" in err


def test_ctrl_c_stops_the_trainer_with_a_checkpoint(workspace, dataset, settings_file):
    command = [sys.executable, "-m", "voicelab.cli", "train", "start", "--dataset", str(dataset),
               "--config", str(settings_file), "--max-steps", "400", "--checkpoint-every-steps",
               "100", "--name", "interrupted"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        events_file = workspace.runs / "interrupted" / "events.jsonl"
        assert poll_until(lambda: any(e["type"] == "step" for e in ev.read_events(events_file)))
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "Cancelling" in err and "`voicelab-cli train resume interrupted`" in err
    final = ev.read_events(events_file)[-1]
    assert final["type"] == "stopped" and Path(final["checkpoint"]).is_file()
    assert not runs.is_running(workspace.runs / "interrupted")


def test_export_writes_a_voice_and_logs_it(capsys, workspace, dataset, settings_file):
    code, _, err = run_cli(capsys, "train", "start", "--dataset", dataset, "--config",
                           settings_file, "--max-steps", 2, "--name", "voice")
    assert code == 0, err
    code, out, err = run_cli(capsys, "train", "export", "voice", "--name", "tiny-joe")
    assert code == 0, err
    assert "Checked: it loads in a fresh process and speaks" in err  # what the export proved
    assert "scores are unknown" in err  # this run made no previews
    onnx = Path(out.strip().splitlines()[-1])
    assert onnx.name == "tiny-joe.onnx" and onnx.is_file()
    config = json.loads(Path(str(onnx) + ".json").read_text(encoding="utf-8"))
    assert config["audio"]["sample_rate"] == 22050
    exported = ev.read_events(workspace.runs / "voice" / "events.jsonl")[-1]
    assert exported["type"] == "exported" and exported["path"] == str(onnx)
    assert runs.run_status(workspace.runs / "voice") == "finished"  # exporting is not training


def test_export_of_a_voice_that_is_not_ready_asks_for_force(capsys, workspace):
    run = ScoredRun(workspace.runs / "early", dataset="joe")
    run.preview(0, wer=0.04, likeness=0.0)
    checkpoint = run.checkpoint(8, wer=0.96, likeness=-0.12, naturalness=2.0)
    run.close()

    code, out, err = run_cli(capsys, "train", "export", "early", "--checkpoint", checkpoint)

    assert code == 1 and out == ""
    assert "This voice is not intelligible yet: WER 96% at step 8." in err
    assert "sounds less like joe than the voice it started from (likeness -0.12 at step 8)" in err
    assert "--force" in err and not (run.root / "voice").exists()
    # --force goes past the question to the export itself (which this fake checkpoint fails).
    code, _, err = run_cli(capsys, "train", "export", "early", "--checkpoint", checkpoint, "--force")
    assert code == 1 and "not intelligible" not in err and "step-8.ckpt" in err


def test_the_terminal_shows_the_warm_up_the_scores_and_a_stop_in_the_warm_up(capsys):
    from voicelab.cli.terminal import EXIT_CANCELLED
    from voicelab.cli.train_follow import _EventPrinter, _exit_code

    printer = _EventPrinter()
    printer(ev.warmup(stage="encoder", done=100, total=400, message="m", overall=0.325, eta_s=65.0))
    printer(ev.warmup(stage="done", done=1, total=1, message="m", overall=1.0, eta_s=0.0,
                      report={"cached": False, "clips": 48, "seconds": 31.5}))
    printer(ev.preview(step=8, epoch=1, likeness=0.42, previews=[
        {"path": "a.wav", "text": "a", "heard": "a", "wer": 0.25, "naturalness": 3.4}]))
    stopped = ev.stopped(step=0, epoch=0, checkpoint=None, reason="user", during="warmup")
    assert _exit_code(stopped, 3, "early") == EXIT_CANCELLED

    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("[#########---") and lines[0].endswith(
        " 32.5% 1 min left Warm-up · teaching the posterior encoder: step 100 of 400")
    assert lines[1:] == [
        "Warm-up done (48 clips, 31.5 s)",
        "Previews at step 8: 1 clip(s), WER 25%, likeness 0.42, naturalness 3.4 / 5",
        "Stopped by you during the warm-up; its work is kept and Resume continues it "
        "(`voicelab-cli train resume early`)."]


def test_the_trainer_entry_never_imports_qt(tmp_path):
    """`python -m voicelab --run-trainer` dispatches before the GUI module is imported."""
    code = ("import runpy, sys\n"
            f"sys.argv = ['voicelab', '--run-trainer', {str(tmp_path / 'not-a-run')!r}]\n"
            "try:\n    runpy.run_module('voicelab', run_name='__main__', alter_sys=True)\n"
            "except SystemExit as exit:\n    code = exit.code\n"
            "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'voicelab.ui')))\n"
            "sys.stderr.write(f'EXIT={code} QT={qt}\\n')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=REPO_ROOT)
    assert "EXIT=2 QT=[]" in result.stderr, result.stderr
    error = ev.parse_line(result.stdout.strip().splitlines()[-1])
    assert error["type"] == "error" and "not a training run" in error["message"]
