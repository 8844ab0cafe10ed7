"""Two-process data-parallel training on the CPU (Lightning's ddp over gloo), as a subprocess.

Lightning's ddp launcher re-runs `python -m voicelab --run-trainer RUN` for rank 1; only
rank 0 writes events, and a stop must reach both ranks at the same step.
"""

from __future__ import annotations

import pytest

from tests.support.trainer import of_type, run_trainer
from voicelab.core.checkpoints import load_checkpoint
from voicelab.core.training import new_run
from voicelab.core.training.run import events as ev
from voicelab.core.training.run.process import EXIT_FINISHED, EXIT_STOPPED
from voicelab.selftest.tiny import build_dataset, tiny_config


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return build_dataset(tmp_path_factory.mktemp("datasets") / "joe")


def ddp_run(workspace, dataset, **overrides):
    settings = dict(devices=2, strategy="ddp", batch_size=2, max_steps=4, checkpoint_every_steps=2)
    settings.update(overrides)
    return new_run.create_run(workspace.runs, tiny_config(dataset, **settings), name="ddp")


def test_two_processes_train_and_rank_zero_reports(workspace, dataset):
    run_dir = ddp_run(workspace, dataset)
    code, events = run_trainer(run_dir)
    assert code == EXIT_FINISHED, events[-1]
    started = of_type(events, "started")[0]
    assert started["devices"] == 2
    assert started["steps_per_epoch"] == 2  # 10 clips split over 2 ranks, batches of 2
    assert [e["step"] for e in of_type(events, "step")] == [1, 2, 3, 4]  # one rank speaks
    assert len(of_type(events, "finished")) == 1
    checkpoint = load_checkpoint(of_type(events, "finished")[0]["checkpoint"])
    assert checkpoint["callbacks"]["EventsCallback"]["step"] == 4
    assert "model_g.enc_p.emb.weight" in checkpoint["state_dict"]


def test_a_stop_reaches_both_ranks_and_resume_continues(workspace, dataset):
    run_dir = ddp_run(workspace, dataset, max_steps=6, checkpoint_every_steps=100)

    def stop_at_2(process, event):
        if event["step"] == 2:
            process.request_stop()

    code, first = run_trainer(run_dir, on_step=stop_at_2)
    assert code == EXIT_STOPPED, first[-1]
    stopped = first[-1]
    assert stopped["type"] == "stopped" and stopped["checkpoint"]
    code, second = run_trainer(run_dir)
    assert code == EXIT_FINISHED, second[-1]
    assert of_type(second, "started")[0]["step"] == stopped["step"]
    history = ev.training_history(ev.read_events(run_dir / "events.jsonl"))
    assert [e["step"] for e in history["step"]] == list(range(1, 7))
