"""The path a new user takes: the real medium voice from the built-in joe, every setting left
at its default (one data-loader worker, the default warm-up, piper's full discriminator,
step-0 previews scored for words, likeness and naturalness), started the way the GUI and
the CLI start it: `voicelab-cli train start` in a child process whose stdin stays open.

Only the step limit is set, so the run ends. This is the test that would have caught training
hanging at step 0 (a forked loader worker inheriting the stdin reader's lock): the other
training tests use tiny models and no workers for speed.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
import yaml

from voicelab.core.training.run import events as ev
from voicelab.core.training.run.config import (
    FINETUNE_DECODER_LEARNING_RATE,
    FINETUNE_LEARNING_RATE,
    TrainConfig,
    config_from_dict,
)
from voicelab.selftest.tiny import build_dataset

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning",
                                         "ignore::DeprecationWarning")]

#: A bound that catches a hang, not a speed target (bench/ has those): the default warm-up
#: and two medium steps take minutes on two busy cores.
HANG_S = 1800


@pytest.mark.timeout(HANG_S + 120)
def test_defaults_train_from_the_built_in_voice(workspace, tiny_en, tmp_path):
    defaults = TrainConfig(dataset="-")
    assert defaults.num_workers >= 1 and defaults.base_warmup_steps > 0 and defaults.preview_every_epochs
    dataset = build_dataset(workspace.datasets / "joe-voice")
    command = [sys.executable, "-m", "voicelab.cli", "train", "start", "--dataset", "joe-voice",
               "--max-steps", "2", "--name", "defaults"]
    env = dict(os.environ, VOICELAB_HOME=str(workspace.root))
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        out, err = process.communicate(timeout=HANG_S)  # stdin open until the end, as the GUI keeps it
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err[-3000:]
    assert "base: en_US-joe-medium.onnx (the built-in voice of the dataset's language" in err

    run_dir = workspace.runs / "defaults"
    saved = yaml.safe_load((run_dir / "train.yaml").read_text(encoding="utf-8"))
    config = {k: v for k, v in saved.items() if k != "lineage"}
    for key, value in config_from_dict({"dataset": "-", "base": config["base"]}).to_dict().items():
        if key not in ("dataset", "base", "base_sha256", "max_steps", "max_epochs", "preview_sentences"):
            assert config[key] == value, key  # nothing but the step limit differs from the defaults
    assert config["base"].endswith("en_US-joe-medium.onnx") and config["model"] == {}
    assert config["learning_rate"] == FINETUNE_LEARNING_RATE  # a fine-tune's, not Piper's from scratch
    assert config["decoder_learning_rate"] == FINETUNE_DECODER_LEARNING_RATE  # the timbre learns faster

    events = ev.read_events(run_dir / "events.jsonl")
    kinds = [e["type"] for e in events]
    warm = [e for e in events if e["type"] == "warmup"]
    assert warm and warm[-1]["stage"] == "done" and not warm[-1]["report"]["cached"]
    assert all(0.0 <= e["overall"] <= 1.0 for e in warm if e.get("overall") is not None)
    started = next(e for e in events if e["type"] == "started")
    assert started["config"]["num_workers"] == config["num_workers"]
    assert started["parameters"] > 40_000_000  # the real generator and piper's full discriminator
    assert started["frozen"] == ["posterior_encoder", "prior_spread", "flow", "duration_predictor"]  # the recipe
    steps = [e for e in events if e["type"] == "step"]
    assert [e["step"] for e in steps][-1] == 2
    assert all(math.isfinite(v) for e in steps for v in e["losses"].values() if v is not None)
    assert kinds[-1] == "finished" and os.path.isfile(events[-1]["checkpoint"])

    # the step-0 previews: the voice the run starts from, scored for words, likeness and naturalness
    first = next(e for e in events if e["type"] == "preview")
    assert first["step"] == 0 and kinds.index("preview") < kinds.index("step")
    assert first["wer"] is not None and first["wer"] <= 0.25  # joe, unchanged, speaks clearly
    # The dataset is joe's own speech: the voice the run starts from already is the speaker, so
    # the likeness scale (0 the start, 1 the speaker) has no span and is left unset, not ~0/0.
    assert first["similarity"] > 0.8 and first["likeness"] is None
    assert 1.0 <= first["naturalness"] <= 5.0
    reference = json.loads((run_dir / "likeness.json").read_text(encoding="utf-8"))
    assert reference["floor_step"] == 0 and reference["clips"] >= 3 and reference["held_out"] >= 2
    manifest = json.loads(next((run_dir / "previews").glob("*/previews.json")).read_text(encoding="utf-8"))
    assert manifest["step"] == 0 and all(p["naturalness"] for p in manifest["previews"])
    assert dataset.is_dir()
