"""Base checkpoints: described, checked against the chosen quality, loaded into piper's model.

The files are real: piper 1.8's `VitsModel` saved by Lightning 2.x's own `save_checkpoint`
(and one trained a step by Lightning, from the foundation's builder), the same weights in
the layout of an old piper_train (Lightning 1.7) checkpoint with the `PosixPath` and
`AttributeDict` pickles those carry, a multi-speaker model, an x_low-shaped model, and a
file whose unpickling would run code.
"""

from __future__ import annotations

import hashlib
import inspect
import subprocess
import sys
from collections import OrderedDict

import pytest
import torch

from tests.support import checkpoint_builders as builders
from voicelab.core.errors import UnsafeCheckpointError, VoiceLabError
from voicelab.core.training.bases.base import check_base_quality, inspect_base, load_base_weights
from voicelab.core.training.bases.errors import BaseCheckpointError
from voicelab.core.training.vits.architecture import ARCHITECTURE_DEFAULTS
from voicelab.core.training.vits.qualities import QUALITIES

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning",
                                        "ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def tiny():
    return builders.tiny_vits_model(seed=1)


@pytest.fixture(scope="module")
def current_file(tiny, tmp_path_factory):
    return builders.save_lightning2_checkpoint(tiny, tmp_path_factory.mktemp("current") / "last.ckpt")


@pytest.fixture(scope="module")
def legacy_file(tiny, tmp_path_factory):
    path = tmp_path_factory.mktemp("legacy") / "epoch=2164-step=1355540.ckpt"
    builders.build_legacy_checkpoint_of(tiny, path)
    return path


@pytest.fixture(scope="module")
def x_low_file(tmp_path_factory):
    """A base with the real x_low architecture, saved as old piper_train wrote it."""
    model = builders.tiny_vits_model(seed=2, **dict(QUALITIES["x_low"].hparams), n_layers=6,
                                     filter_length=1024, hop_length=256, win_length=1024,
                                     segment_size=8192)
    path = tmp_path_factory.mktemp("xlow") / "x_low.ckpt"
    builders.build_legacy_checkpoint_of(model, path, quality="x-low")
    return path


def _fresh_target(**kwargs):
    return builders.tiny_vits_model(seed=99, **kwargs)


def _same_generator(model, reference) -> bool:
    ours, theirs = model.model_g.state_dict(), reference.model_g.state_dict()
    return ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)


# ---------------------------------------------------------------------------------------
# inspect


def test_current_checkpoint_is_described_from_its_weights(current_file):
    info = inspect_base(current_file)

    assert info.origin.startswith("piper (Lightning 2.")
    assert info.sha256 == hashlib.sha256(current_file.read_bytes()).hexdigest()
    assert (info.sample_rate, info.num_speakers, info.num_symbols) == (16000, 1, 256)
    assert info.quality is None  # a tiny test shape is none of Piper's qualities
    shape = info.hparams
    assert (shape["hidden_channels"], shape["filter_channels"], shape["n_layers"]) == (8, 16, 1)
    assert (shape["upsample_rates"], shape["upsample_kernel_sizes"]) == ([4, 4], [8, 8])
    assert shape["resblock"] == "2" and shape["use_sdp"] is True


def test_old_piper_train_checkpoint_is_described(legacy_file):
    info = inspect_base(legacy_file)

    assert info.origin == "piper_train (PyTorch Lightning 1.7.7)"
    assert (info.epoch, info.global_step) == (2218, 838782)
    assert (info.sample_rate, info.num_symbols, info.num_speakers) == (16000, 256, 1)
    # The file says "medium", but its weights are the tiny shape: weights win.
    assert info.saved_quality == "medium" and info.quality is None
    assert info.hparams["hidden_channels"] == 8


def test_real_x_low_base_is_recognised_and_only_x_low_accepted(x_low_file):
    info = inspect_base(x_low_file)
    assert info.quality == "x_low" and info.saved_quality == "x_low"
    check_base_quality(info, "x_low")

    for other in ("low", "medium", "high"):
        with pytest.raises(BaseCheckpointError) as refused:
            check_base_quality(info, other)
        message = str(refused.value)
        assert "This base is 'x_low' (16000 Hz); choose quality x_low or a different base" in message
        assert f"'{other}'" in message


def test_base_of_no_quality_is_refused_with_its_differences(current_file):
    info = inspect_base(current_file)
    with pytest.raises(BaseCheckpointError) as refused:
        check_base_quality(info, "medium")
    message = str(refused.value)
    assert "matches none of VoiceLab's qualities" in message
    assert "16000 Hz instead of 22050 Hz" in message
    assert "hidden_channels 8 instead of 192" in message
    assert "Choose a base of quality medium" in message


def test_run_with_a_custom_shape_accepts_a_base_of_that_shape(current_file):
    info = inspect_base(current_file)
    overrides = {k: v for k, v in builders.TINY_ARCH.items() if k in QUALITIES["x_low"].hparams}
    check_base_quality(info, "x_low", overrides=overrides)  # x_low is 16 kHz, like the base
    with pytest.raises(BaseCheckpointError, match="22050 Hz"):
        check_base_quality(info, "medium", overrides=overrides)


def test_unknown_quality_lists_the_choices(current_file):
    with pytest.raises(BaseCheckpointError, match="Choose one of: x_low, low, medium, high"):
        check_base_quality(inspect_base(current_file), "ultra")


def test_genuinely_trained_lightning_checkpoint_is_described(tmp_path):
    """The foundation's builder trains piper's model one step with Lightning 2.x."""
    path, facts = builders.build_piper18_checkpoint(tmp_path / "trained")
    info = inspect_base(path)
    assert (info.sample_rate, info.num_symbols, info.num_speakers) == (16000, 12, 1)
    assert info.global_step == facts["global_step"] and info.lightning_version == facts["lightning_version"]


# ---------------------------------------------------------------------------------------
# load


@pytest.mark.parametrize("which", ["current", "legacy"])
def test_weights_load_into_a_fresh_model(request, tiny, which):
    path = request.getfixturevalue(f"{which}_file")
    target = _fresh_target()
    assert not _same_generator(target, tiny)

    report = load_base_weights(target, path)

    assert _same_generator(target, tiny)
    d_ours, d_theirs = target.model_d.state_dict(), tiny.model_d.state_dict()
    assert all(torch.equal(d_ours[k], d_theirs[k]) for k in d_theirs)
    assert report["discriminator"] == "loaded"
    assert report["generator_loaded"] == report["generator_total"] == len(tiny.model_g.state_dict())
    assert report["missing"] == [] and report["skipped"] == {} and report["speaker"] is None


def test_discriminator_of_another_shape_is_left_fresh(legacy_file):
    from piper.train.vits.models import MultiPeriodDiscriminator

    target = _fresh_target()
    target.model_d = MultiPeriodDiscriminator()  # piper's real one: the base has tiny ones
    before = {k: v.clone() for k, v in target.model_d.state_dict().items()}
    report = load_base_weights(target, legacy_file)
    assert report["discriminator"].startswith("skipped")
    assert all(torch.equal(before[k], v) for k, v in target.model_d.state_dict().items())


def test_phoneme_embedding_is_copied_row_by_row_when_symbol_counts_differ(legacy_file, tiny):
    target = _fresh_target(num_symbols=300)
    report = load_base_weights(target, legacy_file)
    weight = target.model_g.enc_p.emb.weight
    assert torch.equal(weight[:256], tiny.model_g.enc_p.emb.weight)
    assert report["resized"] == {"model_g.enc_p.emb.weight": [[256, 8], [300, 8]]}


def test_base_of_another_architecture_is_refused_on_load(x_low_file):
    with pytest.raises(BaseCheckpointError, match="does not fit this voice's model"):
        load_base_weights(_fresh_target(), x_low_file)


# ---------------------------------------------------------------------------------------
# multi-speaker base, single-speaker fine-tune


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    model = builders.tiny_vits_model(seed=3, num_speakers=3)
    # Make the speakers clearly different, so picking the wrong one cannot pass.
    with torch.no_grad():
        model.model_g.emb_g.weight.mul_(4.0)
    path = builders.save_lightning2_checkpoint(model, tmp_path_factory.mktemp("multi") / "multi.ckpt")
    return model, path


def _speak(generator, ids, sid=None):
    with torch.no_grad():
        torch.manual_seed(0)
        return generator.infer(ids, torch.tensor([ids.shape[1]]), sid=sid, noise_scale=0.0,
                               length_scale=1.0, noise_scale_w=0.0)[0]


def test_one_speaker_of_a_multi_speaker_base_speaks_exactly_as_in_the_base(multi):
    base, path = multi
    target = _fresh_target()
    info = inspect_base(path)
    assert info.num_speakers == 3

    report = load_base_weights(target, path, speaker=2)

    assert report["speaker"] == 2 and report["speaker_folded"] is True
    assert report["missing"] == [] and report["generator_loaded"] == report["generator_total"]
    assert not any("emb_g" in k or ".cond" in k for k in target.model_g.state_dict())
    ids = torch.randint(1, 150, (1, 23), generator=torch.Generator().manual_seed(5))
    ours = _speak(target.model_g.eval(), ids)
    theirs = _speak(base.model_g.eval(), ids, sid=torch.tensor([2]))
    other = _speak(base.model_g, ids, sid=torch.tensor([0]))
    assert ours.shape == theirs.shape
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert other.shape != theirs.shape or not torch.allclose(other, theirs, atol=1e-3)


def test_default_speaker_is_piper_default_speaker_zero(multi):
    _, path = multi
    assert load_base_weights(_fresh_target(), path)["speaker"] == 0


def test_speaker_outside_the_base_is_refused(multi, legacy_file):
    _, path = multi
    with pytest.raises(BaseCheckpointError, match="speakers 0 to 2; speaker 7 does not exist"):
        load_base_weights(_fresh_target(), path, speaker=7)
    with pytest.raises(BaseCheckpointError, match="single speaker"):
        load_base_weights(_fresh_target(), legacy_file, speaker=1)


def test_multi_speaker_target_keeps_every_speaker(multi):
    base, path = multi
    target = _fresh_target(num_speakers=3)
    report = load_base_weights(target, path, speaker=1)
    assert report["speaker_folded"] is False
    assert _same_generator(target, base)


def test_plain_duration_predictor_folds_too(tmp_path):
    base = builders.tiny_vits_model(seed=4, num_speakers=2, use_sdp=False)
    path = builders.save_lightning2_checkpoint(base, tmp_path / "dp.ckpt")
    target = _fresh_target(use_sdp=False)
    report = load_base_weights(target, path, speaker=1)
    assert "model_g.dp.conv_1.weight" in report["loaded"] and report["missing"] == []


# ---------------------------------------------------------------------------------------
# unsafe and foreign files


def test_file_with_a_forbidden_pickle_global_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "ran.txt"
    path = tmp_path / "evil.ckpt"
    builders.write_malicious_zip(path, "os.system", marker)

    with pytest.raises(UnsafeCheckpointError, match="will not load"):
        inspect_base(path)
    with pytest.raises(UnsafeCheckpointError):
        load_base_weights(_fresh_target(), path)
    assert not marker.exists()


def test_checkpoint_without_a_voice_is_refused(tmp_path):
    path = tmp_path / "other.ckpt"
    torch.save({"state_dict": OrderedDict(w=torch.ones(3))}, path)
    with pytest.raises(BaseCheckpointError, match="holds no Piper voice"):
        inspect_base(path)
    assert issubclass(BaseCheckpointError, VoiceLabError)


# ---------------------------------------------------------------------------------------
# the module keeps to its contracts


def test_architecture_defaults_are_piper_vits_model_defaults():
    from piper.train.vits.lightning import VitsModel

    signature = inspect.signature(VitsModel.__init__).parameters
    for key, value in ARCHITECTURE_DEFAULTS.items():
        assert signature[key].default == value, key


def test_importing_the_checkpoint_modules_does_not_import_torch():
    code = ("import sys\n"
            "import voicelab.core.training.bases.base, voicelab.core.training.voice.export, "
            "voicelab.core.training.scoring.previews, voicelab.core.training.run.ranking, "
            "voicelab.core.training.voice.checkpoint_voice\n"
            "print(sorted(m for m in ('torch', 'lightning', 'piper.train', 'faster_whisper') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=builders.REPO_ROOT)
    assert result.stdout.strip() == "[]"
