"""A published voice (.onnx) as the base of a training run: inspected, checked, loaded, warmed
and trained from, with the events saying what started untrained."""

from __future__ import annotations

import math

import pytest

from tests.support.voices import joe_path
from voicelab.core.training import new_run
from voicelab.core.training.bases.base import check_base_quality, inspect_base
from voicelab.core.training.bases.errors import BaseCheckpointError
from voicelab.core.training.run import events as ev
from voicelab.core.training.trainer import runner
from voicelab.selftest.tiny import build_dataset, tiny_config, tiny_discriminator

pytestmark = [pytest.mark.usefixtures("one_torch_thread"),
              pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning",
                                         "ignore::DeprecationWarning")]


def test_joe_is_inspected_as_a_medium_base():
    info = inspect_base(joe_path())
    assert info.quality == "medium" and info.sample_rate == 22050 and info.num_speakers == 1
    assert info.num_symbols == 256 and len(info.sha256) == 64
    assert "Piper voice (ONNX" in info.origin and "posterior encoder" in info.origin
    check_base_quality(info, "medium")
    with pytest.raises(BaseCheckpointError, match="choose quality medium"):
        check_base_quality(info, "x_low")


def test_a_few_training_steps_from_joe_have_finite_losses(workspace, tmp_path):
    dataset = build_dataset(tmp_path / "datasets" / "joe")
    settings = tiny_config(dataset, base=str(joe_path()), model={}, max_steps=2, batch_size=2,
                           checkpoint_every_steps=2, base_warmup_steps=4)
    run_dir = new_run.create_run(workspace.runs, settings, name="from-joe")
    stream_lines = []

    class Stream:
        def write(self, text):
            stream_lines.extend(text.splitlines())
            return len(text)

        def flush(self):
            pass

    code = runner.run(run_dir, stream=Stream(), model_hook=tiny_discriminator)
    events = [e for e in map(ev.parse_line, stream_lines) if e]
    assert code == runner.EXIT_FINISHED, events[-1]
    warm = [e for e in events if e["type"] == "warmup"]
    assert {"speaking", "encoder", "done"} <= {e["stage"] for e in warm}
    started = next(e for e in events if e["type"] == "started")
    base = started["base"]
    assert base["loaded"] == 403 and base["generator_loaded"] == base["generator_total"]
    assert base["untrained"] == {"posterior encoder": 100, "duration predictor posterior": 170}
    assert base["proof"]["correlation"] >= 0.9999
    assert base["warmup"]["clips"] >= 8 and not base["warmup"]["cached"]
    steps = [e for e in events if e["type"] == "step"]
    assert steps and steps[-1]["step"] == 2
    for step in steps:
        assert all(value is not None and math.isfinite(value) for value in step["losses"].values())
    # the warm-up is cached per voice in the workspace
    assert list((workspace.root / "cache" / "warmup").glob("*.pt"))


def test_a_stop_during_the_warm_up_keeps_its_work_for_resume(workspace, tmp_path):
    from voicelab.core.progress import CancelToken

    dataset = build_dataset(tmp_path / "datasets" / "joe")
    settings = tiny_config(dataset, base=str(joe_path()), model={}, max_steps=1, batch_size=2,
                           checkpoint_every_steps=1, base_warmup_steps=12)
    run_dir = new_run.create_run(workspace.runs, settings, name="stop-in-warm-up")
    token = CancelToken()
    seen = []

    class Stream:
        def write(self, text):
            for event in filter(None, map(ev.parse_line, text.splitlines())):
                seen.append(event)
                if event["type"] == "warmup" and event["stage"] == "encoder" and event["done"] >= 4:
                    token.cancel()  # what Stop does, in the middle of the encoder stage
            return len(text)

        def flush(self):
            pass

    code = runner.run(run_dir, stream=Stream(), cancel=token, model_hook=tiny_discriminator)
    assert code == runner.EXIT_STOPPED
    stopped = seen[-1]
    assert stopped["type"] == "stopped" and stopped["during"] == "warmup" and stopped["checkpoint"] is None
    assert list((workspace.root / "cache" / "warmup").glob("*.partial.pt"))

    seen.clear()
    code = runner.run(run_dir, stream=Stream(), model_hook=tiny_discriminator)
    assert code == runner.EXIT_FINISHED, seen[-1]
    done = next(e for e in seen if e["type"] == "warmup" and e["stage"] == "done")
    assert done["report"]["resumed"]["encoder_step"] >= 4  # went on from the stop
    first = next(e for e in seen if e["type"] == "warmup" and e["stage"] == "encoder")
    assert first["done"] > 4
    assert not list((workspace.root / "cache" / "warmup").glob("*.partial.pt"))


def test_workspace_voices_are_offered_as_bases(workspace, tmp_path):
    import shutil

    from voicelab.cli.train_start import _base_path
    from voicelab.core.voice_bases import voice_bases

    workspace.voices.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(joe_path(), workspace.voices / "mine.onnx")
    shutil.copyfile(f"{joe_path()}.json", workspace.voices / "mine.onnx.json")
    (workspace.voices / "broken.onnx").write_bytes(b"x")  # no config: not offered
    found = voice_bases(workspace)
    assert [base.voice_id for base in found] == ["builtin:en_US-joe-medium", "mine"]
    assert found[0][0] == "Voice: Joe (US English) (medium)"
    assert _base_path(workspace, "joe") == joe_path()
    assert _base_path(workspace, "builtin:en_US-joe-medium") == joe_path()
    assert _base_path(workspace, "mine") == workspace.voices / "mine.onnx"


def test_one_speaker_of_a_multi_speaker_voice_speaks_exactly_as_in_the_voice(tmp_path):
    import numpy as np
    import onnxruntime
    import torch

    from tests.support import checkpoint_builders as builders
    from voicelab.core.training.bases.base import load_base_weights

    path, _arch, _ = builders.export_tiny_voice(builders.tiny_vits_model(seed=6, num_speakers=3), tmp_path)
    target = builders.tiny_vits_model(seed=1)
    report = load_base_weights(target, path, speaker=1)
    assert report["speaker_folded"] and report["speaker"] == 1 and report["base_speakers"] == 3
    assert report["generator_loaded"] == report["generator_total"]
    assert report["discriminator"].startswith("untrained")
    ids = list(range(1, 40))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"input": np.array([ids]), "input_lengths": np.array([len(ids)]),
                                  "scales": np.array([0, 1, 0], dtype=np.float32),
                                  "sid": np.array([1])})[0].reshape(-1)
    target.eval()
    with torch.no_grad():
        audio = target.model_g.infer(torch.tensor([ids]), torch.tensor([len(ids)]), noise_scale=0,
                                     length_scale=1, noise_scale_w=0)[0].reshape(-1).numpy()
    assert audio.shape == expected.shape
    assert np.corrcoef(audio, expected)[0, 1] > 0.99999
