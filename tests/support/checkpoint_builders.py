"""Real and hostile checkpoint files for the checkpoint-loading tests.

* `build_piper18_checkpoint` trains piper-tts 1.8's own `VitsModel` for one step with
  Lightning 2.x and saves a genuine checkpoint (optimizer, scheduler, callback, loop states,
  hyper-parameters). It runs in a child process (`python -m tests.support.checkpoint_builders`), so
  the test process never imports Lightning or piper's training code, and nothing it patches
  outlives it. To keep the file ~3 MB instead of ~560 MB piper's full-size discriminator
  (47 M parameters) is swapped for the tiny one of voicelab/selftest/tiny.py; the
  generator, training step, optimizers, schedulers and hyper-parameters are piper's.
* `build_legacy_piper_checkpoint` writes the layout of a checkpoint from the old
  `piper_train` (PyTorch Lightning 1.7, rhasspy/piper-checkpoints), with the class names
  those files carry, by pickling stand-in classes registered under those names only while
  the file is written.
* `write_malicious_*` write files whose unpickling runs a payload that creates a marker file.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import pathlib
import pickle
import subprocess
import sys
import types
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.support.paths import REPO_ROOT
from voicelab.selftest.tiny import tiny_discriminator

# ---------------------------------------------------------------------------------------
# Writing pickles that name classes which do not exist here


@contextlib.contextmanager
def pickled_as(stand_ins: dict[str, type]) -> Iterator[None]:
    """While active, pickle writes each stand-in class under the given dotted name.

    pickle records a class as `module.qualname` and checks that the name leads back to the
    same object, so each stand-in is renamed and put in place of that name (creating the
    module, e.g. `pytorch_lightning.utilities.parsing`, if it does not exist). Everything
    is put back afterwards, so loaders cannot import the names.
    """
    created: list[str] = []
    replaced: list[tuple[types.ModuleType, str, Any]] = []
    missing = object()
    try:
        for dotted, cls in stand_ins.items():
            module_name, _, class_name = dotted.rpartition(".")
            module = _module_for(module_name, created)
            replaced.append((module, class_name, module.__dict__.get(class_name, missing)))
            cls.__module__, cls.__qualname__, cls.__name__ = module_name, class_name, class_name
            setattr(module, class_name, cls)
        yield
    finally:
        for module, class_name, old in reversed(replaced):
            if old is missing:
                delattr(module, class_name)
            else:
                setattr(module, class_name, old)
        for name in reversed(created):
            del sys.modules[name]


def _module_for(module_name: str, created: list[str]) -> types.ModuleType:
    parts = module_name.split(".")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        if name not in sys.modules:
            sys.modules[name] = types.ModuleType(name)
            created.append(name)
    return sys.modules[module_name]


class LegacyAttributeDict(dict):
    """Stand-in for pytorch_lightning.utilities.parsing.AttributeDict (a dict subclass)."""


class ForeignPosixPath(pathlib.PurePosixPath):
    """Stand-in for pathlib.PosixPath, so the file can be written on any OS."""


class Py313PosixPath(pathlib.PurePosixPath):
    """Stand-in for pathlib._local.PosixPath, the name Python 3.13 pickles."""


class ForeignWindowsPath(pathlib.PureWindowsPath):
    """Stand-in for pathlib.WindowsPath, a path from a checkpoint trained on Windows."""


# ---------------------------------------------------------------------------------------
# Old piper_train (PyTorch Lightning 1.7) checkpoint


def _progress(count: int, *fields: str) -> dict[str, dict[str, int]]:
    names = fields or ("ready", "started", "processed", "completed")
    return {"total": {n: count for n in names}, "current": {n: count for n in names}}


def _legacy_weights(torch: Any) -> OrderedDict[str, Any]:
    """A few of a medium Piper voice's weights under their real names (shrunk)."""
    generator = torch.Generator().manual_seed(7)
    return OrderedDict(
        (name, torch.randn(*shape, generator=generator))
        for name, shape in (
            ("model_g.enc_p.emb.weight", (130, 8)),
            ("model_g.enc_p.encoder.attn_layers.0.conv_q.weight", (8, 8, 1)),
            ("model_g.dec.conv_pre.weight", (16, 8, 7)),
            ("model_g.dp.flows.0.logs", (2, 1)),
            ("model_d.discriminators.0.convs.0.weight_g", (16, 1, 1)),
            ("model_d.discriminators.0.convs.0.weight_v", (16, 1, 15)),
        )
    )


def legacy_piper_payload(torch: Any) -> dict[str, Any]:
    """The dict a piper_train checkpoint holds, built from stand-in classes.

    Keys and value types follow Lightning 1.7's `CheckpointConnector.dump_checkpoint`
    (loops as plain progress dicts, `ModelCheckpoint{...}` callback keys, `hparams_name`
    "kwargs") and piper_train's `__main__.py`, which sets `dataset_dir` and
    `default_root_dir` to `PosixPath`s and passes `dataset=[dataset_dir / "dataset.jsonl"]`.
    Three hyper-parameters are not piper's: `config_path_from_py313`, `windows_cache_dir`
    and `trainer_options` carry the other spellings the loader must accept (Python 3.13's
    `pathlib._local`, a Windows path, a nested Lightning 1.x `AttributeDict`).
    """
    weights = _legacy_weights(torch)
    dataset_dir = ForeignPosixPath("/home/mike/piper/lessac-medium")
    adam_state = {
        index: {
            "step": torch.tensor(838782.0),
            "exp_avg": torch.zeros_like(tensor),
            "exp_avg_sq": torch.full_like(tensor, 1e-4),
        }
        for index, tensor in enumerate(weights.values())
    }
    param_group = {
        "lr": 0.00019, "betas": (0.8, 0.99), "eps": 1e-09, "weight_decay": 0.01,
        "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
        "initial_lr": 0.0002, "params": list(range(len(weights))),
    }
    checkpoint_key = (
        "ModelCheckpoint{'monitor': None, 'mode': 'min', 'every_n_train_steps': 0, "
        "'every_n_epochs': 1, 'train_time_interval': None, 'save_on_train_epoch_end': True}"
    )
    return {
        "epoch": 2218,
        "global_step": 838782,
        "pytorch-lightning_version": "1.7.7",
        "state_dict": weights,
        "loops": {
            "fit_loop": {
                "state_dict": {},
                "epoch_loop.state_dict": {"_batches_that_stepped": 419391},
                "epoch_loop.batch_progress": {**_progress(189), "is_last_batch": True},
                "epoch_loop.scheduler_progress": _progress(2219, "ready", "completed"),
                "epoch_loop.batch_loop.state_dict": {},
                "epoch_loop.batch_loop.optimizer_loop.state_dict": {},
                "epoch_loop.batch_loop.optimizer_loop.optim_progress": {
                    "optimizer": {"step": _progress(838782, "ready", "completed")},
                    "optimizer_position": 2,
                },
                "epoch_progress": _progress(2218),
            },
            "validate_loop": {"state_dict": {}, "dataloader_progress": _progress(0, "ready", "completed")},
        },
        "callbacks": {
            checkpoint_key: {
                "monitor": None,
                "best_model_score": None,
                "best_model_path": "/home/mike/piper/lessac-medium/lightning_logs/version_0/"
                "checkpoints/epoch=2218-step=838782.ckpt",
                "current_score": None,
                "dirpath": "/home/mike/piper/lessac-medium/lightning_logs/version_0/checkpoints",
                "best_k_models": {},
                "kth_best_model_path": "",
                "kth_value": torch.tensor(float("inf")),
                "last_model_path": "",
            }
        },
        "optimizer_states": [
            {"state": adam_state, "param_groups": [param_group]},
            {"state": {}, "param_groups": [dict(param_group, params=[])]},
        ],
        "lr_schedulers": [
            {"gamma": 0.999875, "base_lrs": [0.0002], "last_epoch": 2218, "verbose": False,
             "_step_count": 2219, "_get_lr_called_within_step": False, "_last_lr": [0.00019]}
        ] * 2,
        "NativeMixedPrecisionPlugin": {"scale": 32768.0, "growth_factor": 2.0,
                                       "backoff_factor": 0.5, "growth_interval": 2000,
                                       "_growth_tracker": 112},
        "hparams_name": "kwargs",
        "hyper_parameters": {
            "num_symbols": 256, "num_speakers": 1, "sample_rate": 22050, "sample_bytes": 2,
            "channels": 1, "resblock": "2", "resblock_kernel_sizes": (3, 5, 7),
            "upsample_rates": (8, 8, 4), "hidden_channels": 192, "inter_channels": 192,
            "filter_channels": 768, "n_layers": 6, "batch_size": 32, "quality": "medium",
            "seed": 1234, "checkpoint_epochs": 1, "max_epochs": 10000, "precision": 16,
            "accelerator": "gpu", "devices": "1", "resume_from_checkpoint": None,
            "dataset": [dataset_dir / "dataset.jsonl"],
            "dataset_dir": dataset_dir,
            "default_root_dir": dataset_dir,
            "config_path_from_py313": Py313PosixPath("/srv/piper/config.json"),
            "windows_cache_dir": ForeignWindowsPath("C:\\Users\\mike\\piper\\cache"),
            "trainer_options": LegacyAttributeDict(gradient_clip_val=None, num_nodes=1),
        },
    }


LEGACY_NAMES = {
    "pytorch_lightning.utilities.parsing.AttributeDict": LegacyAttributeDict,
    "pathlib.PosixPath": ForeignPosixPath,
    "pathlib._local.PosixPath": Py313PosixPath,
    "pathlib.WindowsPath": ForeignWindowsPath,
}


def build_legacy_piper_checkpoint(path: Path) -> dict[str, Any]:
    """Write an old-piper checkpoint to `path`; return the payload it holds."""
    import torch

    payload = legacy_piper_payload(torch)
    with pickled_as(LEGACY_NAMES):
        torch.save(payload, os.fspath(path))
    return payload


# ---------------------------------------------------------------------------------------
# Hostile files


def marker_code(marker: Path) -> str:
    """Python source that creates the marker file: the 'damage' a payload does."""
    return f"open({str(marker)!r}, 'w').close()"


class _Payload:
    """An object whose unpickling calls `function(*args)`."""

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        self.function, self.args = function, args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.function, self.args


def payload(kind: str, marker: Path) -> _Payload:
    """A payload that creates `marker` through `kind`: the tools real attacks use."""
    code = marker_code(marker)
    if kind == "os.system":
        return _Payload(os.system, f'"{sys.executable}" -c "{code}"')
    if kind == "builtins.exec":
        return _Payload(builtins.exec, code)
    if kind == "subprocess.call":
        return _Payload(subprocess.call, [sys.executable, "-c", code])
    if kind == "pathlib.Path.touch":  # abuses a path class, like the ones the loader allows
        return _Payload(pathlib.Path.touch, pathlib.Path(marker))
    raise ValueError(kind)


PAYLOAD_KINDS = ("os.system", "builtins.exec", "subprocess.call", "pathlib.Path.touch")


def _disguised(evil: _Payload) -> dict[str, Any]:
    """The payload hidden in an otherwise ordinary checkpoint dict."""
    import torch

    return {
        "pytorch-lightning_version": "2.6.6",
        "state_dict": OrderedDict(weight=torch.ones(2, 2)),
        "hyper_parameters": {"sample_rate": 22050, "dataset": evil},
    }


def write_malicious_zip(path: Path, kind: str, marker: Path) -> None:
    """A torch.save zip archive (the .ckpt format) carrying the payload."""
    import torch

    torch.save(_disguised(payload(kind, marker)), path)


def write_malicious_raw_pickle(path: Path, kind: str, marker: Path) -> None:
    """A bare pickle stream (what torch.load reads as a legacy file) carrying the payload."""
    with path.open("wb") as handle:
        pickle.dump({"state_dict": {}, "hyper_parameters": payload(kind, marker)}, handle, protocol=2)


# ---------------------------------------------------------------------------------------
# Genuine piper-tts 1.8 checkpoint (run in a child process)

HOP = 16


def build_piper18_checkpoint(out_dir: Path, timeout: float = 300) -> tuple[Path, dict[str, Any]]:
    """Train piper's VitsModel one step in a child process; return (checkpoint, facts).

    The facts (written by the child as JSON) are what the file must contain: the
    state-dict checksums, hyper-parameters and progress counters at save time.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.checkpoint_builders", "piper18", str(out_dir)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"building the piper 1.8 checkpoint failed:\n{result.stderr[-4000:]}")
    facts = json.loads((out_dir / "facts.json").read_text(encoding="utf-8"))
    return out_dir / "piper18.ckpt", facts


def _install_maximum_path_if_missing() -> None:
    """piper's monotonic alignment is a Cython extension that may not be built here.

    Only inside the child process, a plain-Python version of the same dynamic programme
    (VITS's `maximum_path_each`) stands in for it; tiny inputs keep it fast.
    """
    try:
        import piper.train.vits.monotonic_align  # noqa: F401
        return
    except ImportError:
        pass
    package = types.ModuleType("piper.train.vits.monotonic_align.monotonic_align")
    package.__path__ = []
    core = types.ModuleType("piper.train.vits.monotonic_align.monotonic_align.core")
    core.maximum_path_c = _maximum_path_c  # type: ignore[attr-defined]
    sys.modules[package.__name__] = package
    sys.modules[core.__name__] = core


def _maximum_path_c(paths: Any, values: Any, t_ys: Any, t_xs: Any) -> None:
    for index in range(paths.shape[0]):
        _maximum_path_each(paths[index], values[index], int(t_ys[index]), int(t_xs[index]))


def _maximum_path_each(path: Any, value: Any, t_y: int, t_x: int) -> None:
    very_negative = -1e9
    for y in range(t_y):
        for x in range(max(0, t_x + y - t_y), min(t_x, y + 1)):
            v_cur = very_negative if x == y else value[y - 1, x]
            if x == 0:
                v_prev = 0.0 if y == 0 else very_negative
            else:
                v_prev = value[y - 1, x - 1]
            value[y, x] += max(v_prev, v_cur)
    index = t_x - 1
    for y in range(t_y - 1, -1, -1):
        path[y, index] = 1
        if index != 0 and (index == y or value[y - 1, index] < value[y - 1, index - 1]):
            index -= 1


def _piper18_main(out_dir: Path) -> None:
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint
    from piper.train.vits.dataset import UtteranceCollate, UtteranceTensors
    from piper.train.vits.lightning import VitsModel
    from piper.train.vits.mel_processing import spectrogram_torch

    _install_maximum_path_if_missing()
    torch.manual_seed(0)
    model = VitsModel(
        batch_size=2, sample_rate=16000, num_symbols=12, num_speakers=1,
        resblock="2", resblock_kernel_sizes=(3,), resblock_dilation_sizes=((1, 2),),
        upsample_rates=(4, 4), upsample_initial_channel=8, upsample_kernel_sizes=(8, 8),
        filter_length=64, hop_length=HOP, win_length=64, mel_channels=8,
        inter_channels=8, hidden_channels=8, filter_channels=16, n_heads=2, n_layers=1,
        segment_size=HOP * 8, use_sdp=False, mos_metric=None,
        dataset=[pathlib.Path("/data/voices/joe/dataset.jsonl")],
    )
    tiny_discriminator(model)

    def utterance(phonemes: int, frames: int) -> Any:
        audio = torch.randn(frames * HOP) * 0.1
        spec = spectrogram_torch(audio.unsqueeze(0), 64, 16000, HOP, 64, center=False).squeeze(0)
        return UtteranceTensors(
            phoneme_ids=torch.randint(1, 12, (phonemes,)), spectrogram=spec,
            audio_norm=audio[: spec.size(1) * HOP],
        )

    loader = torch.utils.data.DataLoader(
        [utterance(6, 24), utterance(5, 22)], batch_size=2,
        collate_fn=UtteranceCollate(is_multispeaker=False, segment_size=HOP * 8),
    )
    trainer = L.Trainer(
        max_steps=1, accelerator="cpu", logger=False, enable_progress_bar=False,
        enable_model_summary=False, num_sanity_val_steps=0, default_root_dir=out_dir,
        callbacks=[ModelCheckpoint(dirpath=out_dir / "lightning", save_last=False)],
    )
    trainer.fit(model, train_dataloaders=loader)
    checkpoint = out_dir / "piper18.ckpt"
    trainer.save_checkpoint(checkpoint)
    facts = {
        "global_step": trainer.global_step,
        "epoch": trainer.current_epoch,
        "lightning_version": L.__version__,
        "checksums": {k: [list(v.shape), float(v.double().sum())] for k, v in model.state_dict().items()},
        "hyper_parameters": {k: model.hparams[k] for k in ("sample_rate", "num_symbols", "num_speakers")},
        "dataset": [str(p) for p in model.hparams["dataset"]],
    }
    (out_dir / "facts.json").write_text(json.dumps(facts), encoding="utf-8")



# ---------------------------------------------------------------------------------------
# Tiny real models for the trainer's checkpoint tests (base, export, previews, quick listen)
#
# Built in the test process: piper's own `VitsModel` (so every generator weight has its real
# name and shape) with a generator a few thousand parameters big, and in place of the
# 47 M-parameter multi-period discriminator the tiny one of voicelab/selftest/tiny.py, under
# the same attribute names (`model_d.discriminators.N.`). 256 symbols, like every Piper
# voice, so piper's default phoneme map and espeak phonemes work with it. The generator is
# smaller than the trained tiny model's (`TINY_MODEL`: widths 16, hop 64 at 22050 Hz): these
# are built, saved, exported and spoken by the dozen and never trained, so they keep the
# smallest sizes piper accepts (widths 8, hop 16 at 16 kHz, as the piper 1.8 builder's).

TINY_ARCH: dict[str, Any] = dict(
    resblock="2", resblock_kernel_sizes=(3,), resblock_dilation_sizes=((1, 2),),
    upsample_rates=(4, 4), upsample_initial_channel=16, upsample_kernel_sizes=(8, 8),
    filter_length=64, hop_length=HOP, win_length=64, mel_channels=8,
    inter_channels=8, hidden_channels=8, filter_channels=16, n_heads=2, n_layers=1,
    segment_size=HOP * 8,
)


def tiny_vits_model(*, num_speakers: int = 1, sample_rate: int = 16000, num_symbols: int = 256,
                    seed: int = 0, **overrides: Any) -> Any:
    """piper 1.8's `VitsModel` with a tiny generator (and tiny discriminators), seeded."""
    from unittest import mock

    import torch
    from piper.train.vits import lightning as piper_lightning

    arch = {**TINY_ARCH, **overrides}
    if num_speakers > 1:
        arch.setdefault("gin_channels", 16)
    torch.manual_seed(seed)
    # piper's 47 M-parameter discriminator is never built: a placeholder, then the tiny one.
    with mock.patch.object(piper_lightning, "MultiPeriodDiscriminator",
                           lambda **_: torch.nn.Identity()):
        model = piper_lightning.VitsModel(
            batch_size=2, sample_rate=sample_rate, num_symbols=num_symbols,
            num_speakers=num_speakers, mos_metric=None, **arch,
        )
    tiny_discriminator(model)
    return model.eval()


def save_lightning2_checkpoint(model: Any, path: Path) -> Path:
    """Save `model` with Lightning 2.x's own `Trainer.save_checkpoint` (no training step)."""
    import lightning as L

    path.parent.mkdir(parents=True, exist_ok=True)
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False,
                        default_root_dir=path.parent)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(path)
    return path


def build_legacy_checkpoint_of(model: Any, path: Path, *, quality: str = "medium",
                               extra_hparams: dict[str, Any] | None = None) -> dict[str, Any]:
    """An old piper_train (Lightning 1.7) checkpoint holding `model`'s real weights.

    The layout is `legacy_piper_payload`'s: Lightning 1.7 loop and callback state, two Adam
    optimizer states (generator, discriminator) with per-parameter moments, the AMP scaler,
    `hparams_name` "kwargs", and hyper-parameters as piper_train's `__main__` passes them:
    every argparse value (`quality` spelled as its `--quality` choice, e.g. "x-low";
    `dataset_dir`/`default_root_dir` as `PosixPath`; Trainer flags), the old signature's
    keys (`sample_bytes`, `channels`, `num_workers`, …) and the model's architecture.
    """
    import torch

    payload = legacy_piper_payload(torch)
    weights = OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    payload["state_dict"] = weights

    def adam(names: list[str]) -> dict[str, Any]:
        return {index: {"step": torch.tensor(838782.0), "exp_avg": torch.zeros_like(weights[n]),
                        "exp_avg_sq": torch.full_like(weights[n], 1e-4)}
                for index, n in enumerate(names)}

    generator = [k for k in weights if k.startswith("model_g.")]
    discriminator = [k for k in weights if k.startswith("model_d.")]
    for state, names in zip(payload["optimizer_states"], (generator, discriminator)):
        state["state"] = adam(names)
        state["param_groups"][0]["params"] = list(range(len(names)))
    hparams = payload["hyper_parameters"]
    for key, value in dict(model.hparams).items():
        if key in ("dataset", "mos_metric", "use_mrd", "learning_rate_d", "betas_d", "lr_decay_d",
                   "vocoder_warmstart_ckpt", "warmstart_ckpt"):
            continue  # piper 1.8 only
        hparams[key] = tuple(value) if isinstance(value, list) else value
    hparams.update({"quality": quality, "num_workers": 1, "validation_split": 0.05,
                    "num_test_examples": 5, "max_phoneme_ids": None, "seed": 1234})
    hparams.update(extra_hparams or {})
    with pickled_as(LEGACY_NAMES):
        torch.save(payload, os.fspath(path))
    return payload

if __name__ == "__main__":
    if sys.argv[1:2] == ["piper18"]:
        _piper18_main(Path(sys.argv[2]))
    else:
        raise SystemExit("usage: python -m tests.support.checkpoint_builders piper18 OUT_DIR")


def tiny_voice_config(arch, sample_rate=16000, quality=None):
    """The .onnx.json of a tiny exported voice (piper's phoneme map, the given rate)."""
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

    config = {"audio": {"sample_rate": sample_rate}, "espeak": {"voice": "en-us"},
              "phoneme_type": "espeak", "phoneme_id_map": DEFAULT_PHONEME_ID_MAP,
              "num_symbols": int(arch["num_symbols"]), "num_speakers": int(arch["num_speakers"]),
              "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8}}
    if quality:
        config["audio"]["quality"] = quality
    return config


def export_tiny_voice(model, folder, name="tiny", tie=False):
    """`model`'s generator exported as VoiceLab exports voices; returns (path, arch, plain)."""
    import torch

    from voicelab.core.training.vits.architecture import architecture, build_generator, remove_weight_norms
    from voicelab.core.training.voice.export import export_onnx

    generator = build_generator(architecture(dict(model.hparams), model.model_g.state_dict()))
    generator.load_state_dict(model.model_g.state_dict())
    if tie:  # equal-valued parameters: the exporter merges them behind Identity nodes
        with torch.no_grad():
            layer = generator.enc_p.encoder.attn_layers[0]
            layer.conv_q.bias.copy_(layer.conv_k.bias)
            block = generator.dec.resblocks[0].convs
            block[0].bias.copy_(block[1].bias)
    generator.eval()
    with torch.no_grad():
        remove_weight_norms(generator)
    arch = architecture(dict(model.hparams), model.model_g.state_dict())
    path = folder / f"{name}.onnx"
    export_onnx(generator, arch, {}, path)
    (folder / f"{name}.onnx.json").write_text(json.dumps(tiny_voice_config(arch)), encoding="utf-8")
    return path, arch, {k: v.detach().clone() for k, v in generator.state_dict().items()}
