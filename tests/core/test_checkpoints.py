"""Checkpoint files load safely: real ones work, hostile ones never run, broken ones explain.

The files are real: a checkpoint trained by piper-tts 1.8 on Lightning 2.x, the layout of
an old piper_train (Lightning 1.7) checkpoint with the class names such files carry, plain
state-dict files in both torch formats, and files whose unpickling would create a marker
file. Each hostile file is first shown to be live (unpickled blindly, it does create the
marker), so the refusal tests cannot pass by accident.
"""

from __future__ import annotations

import pathlib
import pickle
import subprocess
import sys
import threading
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from tests.support import checkpoint_builders as builders
from voicelab.core.checkpoint_summary import checkpoint_summary
from voicelab.core.checkpoints import ALLOW_LIST, allowed_checkpoint_globals, load_checkpoint
from voicelab.core.errors import CheckpointError, UnsafeCheckpointError

RISK_WORDS = ("could run code", "sources you trust", "will not load")
# What the refusal names for each payload (pickle writes os.system as posix.system,
# subprocess as commands for protocol 2, and reaches Path.touch through getattr).
REFUSED_NAME = {
    "os.system": "system",
    "builtins.exec": "exec",
    "subprocess.call": "call",
    "pathlib.Path.touch": "getattr",
}


@pytest.fixture(scope="module")
def piper18(tmp_path_factory):
    """(checkpoint path, facts) of a genuine piper 1.8 / Lightning 2.x checkpoint."""
    return builders.build_piper18_checkpoint(tmp_path_factory.mktemp("piper18"))


@pytest.fixture
def legacy_file(tmp_path):
    path = tmp_path / "epoch=2218-step=838782.ckpt"
    payload = builders.build_legacy_piper_checkpoint(path)
    return path, payload


def _assert_same_tensors(loaded, expected):
    assert list(loaded) == list(expected)
    for key, tensor in expected.items():
        assert torch.equal(loaded[key], tensor), key


# ---------------------------------------------------------------------------------------
# Real checkpoints load


def test_piper18_lightning_checkpoint_loads_with_every_part(piper18):
    path, facts = piper18
    ckpt = load_checkpoint(path)

    assert ckpt["pytorch-lightning_version"] == facts["lightning_version"]
    assert (ckpt["global_step"], ckpt["epoch"]) == (facts["global_step"], facts["epoch"])
    checksums = {k: [list(v.shape), float(v.double().sum())] for k, v in ckpt["state_dict"].items()}
    assert checksums.keys() == facts["checksums"].keys()
    for key, (shape, total) in facts["checksums"].items():
        assert checksums[key][0] == shape, key
        assert checksums[key][1] == pytest.approx(total, rel=1e-9, abs=1e-9), key
    generator_state, discriminator_state = ckpt["optimizer_states"]
    assert generator_state["state"] and discriminator_state["state"]
    assert torch.is_tensor(generator_state["state"][0]["exp_avg"])
    assert [s["gamma"] for s in ckpt["lr_schedulers"]] == [0.999875, 0.9999]
    assert any(key.startswith("ModelCheckpoint{") for key in ckpt["callbacks"])
    assert "fit_loop" in ckpt["loops"]
    hparams = ckpt["hyper_parameters"]
    for key, value in facts["hyper_parameters"].items():
        assert hparams[key] == value
    assert hparams["dataset"] == [pathlib.PurePosixPath(p) for p in facts["dataset"]]
    assert type(hparams["dataset"][0]) is pathlib.PurePosixPath


def test_piper18_checkpoint_really_needs_the_allow_list(piper18):
    """Without VoiceLab's list torch refuses the file: the test above exercises the list."""
    path, _ = piper18
    with pytest.raises(pickle.UnpicklingError, match="pathlib.PosixPath"):
        torch.load(path, weights_only=True)


def test_old_piper_lightning1_checkpoint_loads_as_plain_data(legacy_file):
    path, payload = legacy_file
    assert "pytorch_lightning.utilities.parsing" not in sys.modules  # nothing to import
    ckpt = load_checkpoint(path)

    assert ckpt["pytorch-lightning_version"] == "1.7.7"
    assert (ckpt["epoch"], ckpt["global_step"]) == (2218, 838782)
    assert type(ckpt["state_dict"]) is OrderedDict
    _assert_same_tensors(ckpt["state_dict"], payload["state_dict"])
    assert ckpt["optimizer_states"][0]["state"][0]["step"].item() == 838782
    assert ckpt["NativeMixedPrecisionPlugin"]["scale"] == 32768.0
    hparams = ckpt["hyper_parameters"]
    assert hparams["dataset"] == [pathlib.PurePosixPath("/home/mike/piper/lessac-medium/dataset.jsonl")]
    assert type(hparams["dataset_dir"]) is pathlib.PurePosixPath
    assert hparams["config_path_from_py313"] == pathlib.PurePosixPath("/srv/piper/config.json")
    assert hparams["windows_cache_dir"] == pathlib.PureWindowsPath("C:/Users/mike/piper/cache")
    assert type(hparams["windows_cache_dir"]) is pathlib.PureWindowsPath
    assert type(hparams["trainer_options"]) is dict
    assert hparams["trainer_options"] == {"gradient_clip_val": None, "num_nodes": 1}


def test_old_piper_file_names_the_lightning1_classes(legacy_file):
    """The file really refers to those names; plain torch refuses every one of them."""
    path, _ = legacy_file
    assert set(torch.serialization.get_unsafe_globals_in_checkpoint(path)) == set(builders.LEGACY_NAMES)


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy-format"])
def test_plain_state_dict_file_loads(tmp_path, zip_format):
    weights = OrderedDict(
        [("enc_p.emb.weight", torch.randn(40, 4)), ("dec.conv_pre.bias", torch.arange(3.0))]
    )
    path = tmp_path / "generator.pt"
    torch.save(weights, path, _use_new_zipfile_serialization=zip_format)

    loaded = load_checkpoint(path)
    _assert_same_tensors(loaded, weights)


# ---------------------------------------------------------------------------------------
# Hostile files are refused and never run


def _write_hostile(kind, form, tmp_path):
    marker = tmp_path / f"marker-{form}-{kind}.txt"
    path = tmp_path / f"{kind}.{'ckpt' if form == 'zip' else 'pkl'}"
    writer = builders.write_malicious_zip if form == "zip" else builders.write_malicious_raw_pickle
    writer(path, kind, marker)
    return path, marker


def _unpickle_blindly(path, form):
    if form == "zip":
        torch.load(path, weights_only=False)
    else:
        with path.open("rb") as handle:
            pickle.load(handle)


@pytest.mark.parametrize("form", ["zip", "raw-pickle"])
@pytest.mark.parametrize("kind", builders.PAYLOAD_KINDS)
def test_hostile_file_is_live_when_unpickled_blindly(tmp_path, kind, form):
    path, marker = _write_hostile(kind, form, tmp_path)
    _unpickle_blindly(path, form)
    assert marker.exists()


@pytest.mark.parametrize("form", ["zip", "raw-pickle"])
@pytest.mark.parametrize("kind", builders.PAYLOAD_KINDS)
def test_hostile_file_is_refused_and_does_not_run(tmp_path, kind, form):
    path, marker = _write_hostile(kind, form, tmp_path)

    with pytest.raises(UnsafeCheckpointError) as refused:
        load_checkpoint(path)

    assert not marker.exists()
    message = str(refused.value)
    assert str(path) in message
    for words in RISK_WORDS:
        assert words in message
    assert REFUSED_NAME[kind] in message


def test_refusal_names_every_unknown_class_in_an_otherwise_genuine_file(tmp_path):
    import argparse
    from collections import defaultdict

    path = tmp_path / "exotic.ckpt"
    torch.save(
        {
            "state_dict": OrderedDict(w=torch.ones(1)),
            "hyper_parameters": {"args": argparse.Namespace(lr=1), "counts": defaultdict(int)},
        },
        path,
    )
    with pytest.raises(UnsafeCheckpointError) as refused:
        load_checkpoint(path)
    message = str(refused.value)
    assert "argparse.Namespace" in message and "collections.defaultdict" in message


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_torchscript_program_is_refused(tmp_path):
    path = tmp_path / "scripted.pt"
    torch.jit.script(torch.nn.Linear(2, 2)).save(str(path))
    with pytest.raises(UnsafeCheckpointError) as refused:
        load_checkpoint(path)
    assert "TorchScript" in str(refused.value) and "could run code" in str(refused.value)


def test_allow_list_is_gone_after_loads_succeed_or_fail(tmp_path, legacy_file):
    before = list(torch.serialization.get_safe_globals())
    load_checkpoint(legacy_file[0])
    path, _ = _write_hostile("builtins.exec", "zip", tmp_path)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(path)
    assert list(torch.serialization.get_safe_globals()) == before
    with pytest.raises(pickle.UnpicklingError):
        torch.load(legacy_file[0], weights_only=True)


def test_concurrent_loads_keep_the_allow_list_until_all_finish(legacy_file):
    path, _ = legacy_file
    failures = []

    def load_many():
        for _ in range(5):
            try:
                load_checkpoint(path)
            except Exception as error:  # collected and reported below
                failures.append(error)

    threads = [threading.Thread(target=load_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


@pytest.mark.parametrize(
    ("torch_says", "named"),
    [
        ("Unsupported global: GLOBAL numpy.dtype was not an allowed global by default.", "numpy.dtype"),
        ("Trying to load unsupported GLOBAL posix.system whose module posix is blocked.", "posix.system"),
        ("Trying to call reduce for unrecognized function <built-in function eval>\n", "<built-in function eval>"),
        ("Can only build Tensor, Parameter, OrderedDict or types allowlisted via `add_safe_globals`, "
         "but got <class 'argparse.Namespace'>\n", "<class 'argparse.Namespace'>"),
    ],
)
def test_refusals_are_recognised_in_each_of_torchs_wordings(torch_says, named):
    from voicelab.core.checkpoints import _refused_globals

    assert _refused_globals(f"Weights only load failed.\n\tWeightsUnpickler error: {torch_says}\n") == [named]
    assert _refused_globals("WeightsUnpickler error: Unsupported operand 147") == []


def test_allow_list_maps_only_to_inert_local_types():
    assert {entry.local for entry in ALLOW_LIST} == {
        pathlib.PurePosixPath, pathlib.PureWindowsPath, dict,
    }
    assert all(entry.reason for entry in ALLOW_LIST)
    with allowed_checkpoint_globals():
        names = {name for _, name in _user_globals()}
    assert names == {entry.pickled_name for entry in ALLOW_LIST}


def _user_globals():
    return [entry for entry in torch.serialization.get_safe_globals() if isinstance(entry, tuple)]


# ---------------------------------------------------------------------------------------
# Broken files explain themselves


def _half_of(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def _zip_without_checkpoint(path: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("voice/README.txt", "not a checkpoint")
    return path


BAD_FILES = {
    "missing": (lambda tmp, real: tmp / "nowhere.ckpt", "not found"),
    "folder": (lambda tmp, real: tmp, "is a folder"),
    "empty": (lambda tmp, real: (tmp / "empty.ckpt", (tmp / "empty.ckpt").write_bytes(b""))[0], "is empty"),
    "truncated": (lambda tmp, real: _half_of(real, tmp / "half.ckpt"), "damaged or incomplete"),
    "random-bytes": (
        lambda tmp, real: (tmp / "noise.ckpt", (tmp / "noise.ckpt").write_bytes(bytes(range(7, 256)) * 40))[0],
        "is not a PyTorch checkpoint",
    ),
    "text": (
        lambda tmp, real: (tmp / "notes.ckpt", (tmp / "notes.ckpt").write_text("hello world\n"))[0],
        "is not a PyTorch checkpoint",
    ),
    "zip-archive": (lambda tmp, real: _zip_without_checkpoint(tmp / "voice.zip"), "zip archive but not"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_gives_a_checkpoint_error_naming_file_and_fix(tmp_path, legacy_file, case):
    make, expected = BAD_FILES[case]
    folder = tmp_path / "bad"
    folder.mkdir()
    path = make(folder, legacy_file[0])

    with pytest.raises(CheckpointError) as failed:
        load_checkpoint(path)

    message = str(failed.value)
    assert type(failed.value) is CheckpointError
    assert str(path) in message
    assert expected in message
    assert any(fix in message for fix in ("again", "Choose", "choose", "Check"))


def test_truncated_real_lightning2_checkpoint_is_reported_damaged(tmp_path, piper18):
    path = _half_of(piper18[0], tmp_path / "last.ckpt")
    with pytest.raises(CheckpointError, match="damaged or incomplete"):
        load_checkpoint(path)


def test_unreadable_file_says_so(tmp_path, monkeypatch, legacy_file):
    def no_permission(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(torch, "load", no_permission)
    with pytest.raises(CheckpointError, match="Permission denied. Check that the file") as failed:
        load_checkpoint(legacy_file[0])
    assert str(legacy_file[0]) in str(failed.value)


def test_file_holding_a_bare_tensor_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "tensor.pt"
    torch.save(torch.ones(3), path)
    with pytest.raises(CheckpointError, match="holds a Tensor, not a checkpoint"):
        load_checkpoint(path)


# ---------------------------------------------------------------------------------------
# Summary for the UI


def test_summary_of_piper18_checkpoint(piper18):
    path, facts = piper18
    summary = checkpoint_summary(load_checkpoint(path))
    expected_params = sum(_numel(shape) for shape, _ in facts["checksums"].values())
    assert summary == {
        "format": "lightning",
        "lightning_version": facts["lightning_version"],
        "epoch": facts["epoch"],
        "global_step": facts["global_step"],
        "sample_rate": 16000,
        "num_symbols": 12,
        "num_speakers": 1,
        "num_parameters": expected_params,
        "has_optimizer_state": True,
        "hidden_channels": 8,
        "inter_channels": 8,
        "filter_channels": 16,
        "n_layers": 1,
        "quality": None,
    }


def _numel(shape):
    count = 1
    for size in shape:
        count *= size
    return count


def test_summary_of_old_piper_checkpoint(legacy_file):
    summary = checkpoint_summary(load_checkpoint(legacy_file[0]))
    assert summary["format"] == "lightning"
    assert summary["lightning_version"] == "1.7.7"
    assert (summary["epoch"], summary["global_step"]) == (2218, 838782)
    assert (summary["sample_rate"], summary["num_symbols"], summary["num_speakers"]) == (22050, 256, 1)
    assert summary["quality"] == "medium"
    assert summary["has_optimizer_state"] is True


def test_summary_of_plain_state_dict_reads_shapes(tmp_path):
    path = tmp_path / "generator.pt"
    torch.save(
        OrderedDict([("enc_p.emb.weight", torch.zeros(130, 4)), ("emb_g.weight", torch.zeros(7, 2))]),
        path,
    )
    summary = checkpoint_summary(load_checkpoint(path))
    assert summary["format"] == "state_dict"
    assert (summary["num_symbols"], summary["num_speakers"], summary["num_parameters"]) == (130, 7, 534)
    assert summary["lightning_version"] is None and summary["sample_rate"] is None
    assert summary["has_optimizer_state"] is False


def test_importing_the_module_does_not_import_torch():
    code = "import sys, voicelab.core.checkpoints; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=builders.REPO_ROOT)
    assert result.stdout.strip() == "False"
