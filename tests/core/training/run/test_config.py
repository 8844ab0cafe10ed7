"""Training settings: every wrong value is refused with a message that says what to write."""

from __future__ import annotations

import inspect

import pytest
import yaml

from voicelab.core.audio import SPEECH_LEVEL_DB
from voicelab.core.training.run.config import (
    FINETUNE_DECODER_LEARNING_RATE,
    FINETUNE_LEARNING_RATE,
    OLD_RUN_VALUES,
    SCRATCH_LEARNING_RATE,
    TrainConfig,
    TrainingConfigError,
    config_from_dict,
    load_config,
)
from voicelab.core.training.run.config_checks import MODEL_KEYS
from voicelab.core.training.vits.qualities import QUALITIES


def test_defaults_are_valid_and_round_trip_through_yaml(tmp_path):
    config = config_from_dict({"dataset": "/data/joe"})
    assert config == TrainConfig(dataset="/data/joe")
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()), encoding="utf-8")
    assert load_config(path) == config


def test_the_learning_rate_follows_the_base_unless_it_is_set():
    """A fine-tune's default is gentle (it keeps the base's intonation); from scratch, Piper's."""
    assert config_from_dict({"dataset": "/d", "base": "/b.onnx"}).learning_rate == FINETUNE_LEARNING_RATE == 2e-5
    assert config_from_dict({"dataset": "/d", "base": None}).learning_rate == SCRATCH_LEARNING_RATE == 2e-4
    assert config_from_dict({"dataset": "/d", "base": "/b.onnx", "learning_rate": ""}).learning_rate == 2e-5
    assert config_from_dict({"dataset": "/d", "base": "/b.onnx", "learning_rate": 1e-4}).learning_rate == 1e-4
    assert config_from_dict({"dataset": "/d", "learning_rate": 3e-4}).learning_rate == 3e-4


def test_a_fine_tunes_decoder_learns_faster_unless_set():
    """The decoder (the timbre) at its own rate when fine-tuning; from scratch, the run's rate."""
    def decoder_rate(**values):
        return config_from_dict({"dataset": "/d", **values}).decoder_learning_rate

    assert decoder_rate(base="/b.onnx") == FINETUNE_DECODER_LEARNING_RATE == 5e-5
    assert decoder_rate(base="/b.onnx", decoder_learning_rate="") == 5e-5
    assert decoder_rate(base=None) is None and decoder_rate() is None
    assert decoder_rate(base="/b.onnx", decoder_learning_rate=None) is None  # null: the run's rate
    assert decoder_rate(base="/b.onnx", decoder_learning_rate=5e-5) == 5e-5


def test_clips_are_evened_out_to_the_speech_level_unless_null():
    """Every run prepares its clips at -20 dBFS RMS (the Dataset tab's level); null keeps each
    clip's own, as runs written before the setting existed do (runs.OLD_RUN_VALUES)."""
    assert config_from_dict({"dataset": "/d"}).clip_level_db == SPEECH_LEVEL_DB == -20.0
    assert config_from_dict({"dataset": "/d", "clip_level_db": -18}).clip_level_db == -18.0
    assert config_from_dict({"dataset": "/d", "clip_level_db": None}).clip_level_db is None
    assert OLD_RUN_VALUES["clip_level_db"] is None


def test_a_full_config_keeps_every_value():
    data = {
        "dataset": "/d", "quality": "x_low", "base": "/b.ckpt", "base_sha256": "a" * 64,
        "base_speaker": 3, "base_warmup_steps": 100, "max_epochs": None, "max_steps": 5000, "batch_size": 32,
        "learning_rate": 1e-4, "decoder_learning_rate": 3e-4, "accumulate_grad_batches": 2, "precision": "bf16-mixed",
        "optimizer": "adamw", "checkpoint_every_epochs": 5, "checkpoint_every_steps": 1000,
        "keep_best": 2, "validation_share": 0.1, "validate_every_epochs": 2,
        "preview_every_epochs": 5, "preview_sentences": ["Hello there."], "preview_asr_model": "/w",
        "device": "cuda", "devices": 2, "strategy": "ddp", "num_nodes": 2, "num_workers": 4,
        "seed": 7, "espeak_voice": "en-gb", "max_phonemes": 300, "max_seconds": 12.5,
        "trim_silence": False, "clip_level_db": -23.0,
        "model": {"hidden_channels": 96, "segment_size": 4096},
        "prepare_workers": 2, "alignment": "torch", "bucket_batches": True, "compile": "decoder",
        "freeze": ["flow", "decoder"],
    }
    config = config_from_dict(data)
    assert config.to_dict() == data
    assert config.sample_rate == 16000
    hparams = config.model_hparams()
    assert hparams["hidden_channels"] == 96 and hparams["filter_channels"] == 384
    assert hparams["upsample_rates"] == [8, 8, 4]  # lists: plain YAML/JSON data


@pytest.mark.parametrize("changes, key, fix", [
    ({"quality": "ultra"}, "quality", "x_low, low, medium, high"),
    ({"batch_size": 0}, "batch_size", "whole number of at least 1"),
    ({"batch_size": "many"}, "batch_size", "whole number"),
    ({"batch_size": True}, "batch_size", "whole number"),
    ({"learning_rate": 5}, "learning_rate", "between 0 and 1"),
    ({"learning_rate": "fast"}, "learning_rate", "between 0 and 1"),
    ({"decoder_learning_rate": 2}, "decoder_learning_rate", "between 0 and 1 (5e-5 to fine-tune)"),
    ({"max_steps": 0}, "max_steps", "at least 1"),
    ({"max_epochs": 2.5}, "max_epochs", "whole number"),
    ({"accumulate_grad_batches": 0}, "accumulate_grad_batches", "at least 1"),
    ({"precision": "fp8"}, "precision", "32, bf16-mixed, 16-mixed"),
    ({"optimizer": "sgd"}, "optimizer", "adamw, adamw8bit"),
    ({"device": "tpu"}, "device", "auto, cpu, cuda"),
    ({"devices": 0}, "devices", "1 or more"),
    ({"strategy": "horovod"}, "strategy", "ddp"),
    ({"num_nodes": -1}, "num_nodes", "at least 1"),
    ({"num_workers": -1}, "num_workers", "at least 0"),
    ({"seed": "x"}, "seed", "whole number"),
    ({"validation_share": 0.7}, "validation_share", "0 to 0.5"),
    ({"max_seconds": 0.1}, "max_seconds", "1 to 120"),
    ({"max_phonemes": 2}, "max_phonemes", "at least 8"),
    ({"trim_silence": "yes"}, "trim_silence", "true or false"),
    ({"clip_level_db": 0}, "clip_level_db", "from -40 to -6 (e.g. -20), or null"),
    ({"clip_level_db": "loud"}, "clip_level_db", "dBFS"),
    ({"preview_sentences": [""]}, "preview_sentences", "non-empty"),
    ({"base": 5}, "base", "must be text"),
    ({"base_sha256": "abc"}, "base_sha256", "64 lower-case hex"),
    ({"base_speaker": -2}, "base_speaker", "at least 0"),
    ({"keep_best": 0}, "keep_best", "at least 1"),
    ({"model": {"hidden_channel": 96}}, "model.hidden_channel", "did you mean 'hidden_channels'"),
    ({"model": {"batch_size": 8}}, "model.batch_size", "top-level setting"),
    ({"model": {"hidden_channels": -4}}, "model.hidden_channels", "whole number"),
    ({"model": {"upsample_rates": [8, 8, 2]}}, "model.upsample_rates", "hop_length is 256"),
    ({"model": {"segment_size": 1000}}, "model.segment_size", "multiple of hop_length"),
    ({"model": {"hidden_channels": 95}}, "model.hidden_channels", "divisible by n_heads"),
    ({"model": {"resblock": "3"}}, "model.resblock", "'1' or '2'"),
    ({"model": {"betas": [0.8]}}, "model.betas", "two numbers"),
    ({"model": {"upsample_kernel_sizes": [16, 16]}}, "model.upsample_kernel_sizes", "one kernel per"),
    ({"model": "big"}, "model", "mapping"),
    ({"device": "cpu", "precision": "16-mixed"}, "precision", "bf16-mixed or 32"),
    ({"device": "cpu", "optimizer": "adamw8bit"}, "optimizer", "only on a CUDA GPU"),
    ({"device": "cpu", "strategy": "fsdp"}, "strategy", "ddp on the CPU"),
    ({"devices": 2, "strategy": "single_device"}, "strategy", "single_device cannot"),
    ({"checkpoint_every_epochs": None, "checkpoint_every_steps": 0}, "checkpoint_every_epochs",
     "set at least one"),
    ({"preview_every_epochs": 1, "preview_sentences": []}, "preview_sentences", "at least one"),
    ({"batch_sise": 8}, "batch_sise", "did you mean 'batch_size'"),
    ({"freeze": ["enc_q"]}, "freeze", "posterior_encoder, text_encoder"),
    ({"freeze": 3}, "freeze", "must list parts"),
])
def test_each_wrong_value_is_named_with_its_fix(changes, key, fix):
    with pytest.raises(TrainingConfigError) as raised:
        config_from_dict({"dataset": "/d", **changes})
    message = str(raised.value)
    assert f"{key}:" in message
    assert fix in message


def test_all_problems_are_reported_at_once():
    with pytest.raises(TrainingConfigError) as raised:
        config_from_dict({"batch_size": 0, "quality": "ultra", "precision": "fp8"})
    message = str(raised.value)
    for key in ("dataset:", "batch_size:", "quality:", "precision:"):
        assert key in message


def test_friendly_spellings_are_accepted():
    config = config_from_dict({"dataset": "/d", "precision": 32, "max_epochs": -1, "max_steps": 100,
                               "checkpoint_every_steps": 0, "batch_size": "8", "devices": "2"})
    assert config.precision == "32" and config.max_epochs is None
    assert config.checkpoint_every_steps is None and config.batch_size == 8 and config.devices == 2
    assert config_from_dict({"dataset": "/d", "precision": "bf16"}).precision == "bf16-mixed"
    assert config_from_dict({"dataset": "/d", "freeze": "flow, decoder"}).freeze == ["flow", "decoder"]
    assert config_from_dict({"dataset": "/d", "freeze": None}).freeze == []


def test_a_rate_written_as_people_write_it_loads_from_yaml(tmp_path):
    """`2e-5` (the form's and the messages' spelling) is a string to YAML 1.1; it must load."""
    path = tmp_path / "train.yaml"
    path.write_text("dataset: /d\nbase: /b.onnx\nlearning_rate: 3e-5\ndecoder_learning_rate: 1E-4\n"
                    "preview_sentences: [1e5 ways]\n", encoding="utf-8")
    config = load_config(path)
    assert (config.learning_rate, config.decoder_learning_rate) == (3e-5, 1e-4)
    assert config.preview_sentences == ["1e5 ways"]  # only a whole value is a number


def test_lineage_is_not_a_setting():
    assert config_from_dict({"dataset": "/d", "lineage": {"created": "x"}}).dataset == "/d"


def test_load_config_reports_unreadable_yaml(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("dataset: [unclosed\n", encoding="utf-8")
    with pytest.raises(TrainingConfigError, match="Cannot read training settings"):
        load_config(path)
    with pytest.raises(TrainingConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    path.write_text("batch_size: 0\ndataset: /d\n", encoding="utf-8")
    with pytest.raises(TrainingConfigError, match="(?s)train.yaml.*batch_size"):
        load_config(path)


def test_model_keys_and_quality_keys_are_vitsmodel_parameters():
    """The override table must follow piper's VitsModel, or overrides would silently vanish."""
    from piper.train.vits.lightning import VitsModel

    parameters = inspect.signature(VitsModel.__init__).parameters
    for key in MODEL_KEYS:
        assert key in parameters, key
    for quality in QUALITIES.values():
        for key in quality.hparams:
            assert key in parameters, key


def test_qualities_match_piper_published_voices():
    assert {name: q.sample_rate for name, q in QUALITIES.items()} == {
        "x_low": 16000, "low": 16000, "medium": 22050, "high": 22050}
    assert QUALITIES["x_low"].hparams["hidden_channels"] == 96
    assert QUALITIES["medium"].hparams["upsample_initial_channel"] == 256
    assert QUALITIES["high"].hparams["upsample_rates"] == (8, 8, 2, 2)
    assert QUALITIES["high"].hparams["resblock"] == "1"


def test_the_tiny_test_config_is_valid(tmp_path):
    from voicelab.selftest.tiny import tiny_config

    config = config_from_dict(tiny_config(tmp_path))
    assert config.model_hparams()["hop_length"] == 64


@pytest.mark.parametrize("limits", [{"max_epochs": None}, {"max_epochs": -1},
                                    {"max_epochs": None, "max_steps": -1},
                                    {"max_epochs": -1, "max_steps": -1}])
def test_a_run_without_any_limit_is_refused(limits):
    """Issue 16: `--max-steps -1` with `max_epochs: null` was accepted and trained forever."""
    with pytest.raises(TrainingConfigError, match="max_epochs: and max_steps are both empty"):
        config_from_dict({"dataset": "/d", **limits})


@pytest.mark.parametrize("key, value", [("max_steps", 0), ("max_steps", -2), ("max_epochs", 0),
                                        ("max_epochs", 1.5), ("max_steps", "many")])
def test_every_limit_is_a_positive_whole_number(key, value):
    with pytest.raises(TrainingConfigError, match=f"{key}: must be a whole number of at least 1"):
        config_from_dict({"dataset": "/d", "max_epochs": 10, key: value})
