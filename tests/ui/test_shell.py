"""The app shell: window, menus, dialogs, background jobs in the status bar, crash reporting."""

import json
import logging
import os
import subprocess
import sys
import threading
import time

import pytest
import yaml
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from voicelab.core.errors import VoiceLabError
from voicelab.core.logs import setup_logging
from voicelab.core.workspace import Workspace
from voicelab.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, workspace):
    win = MainWindow(workspace)
    win.show()
    qtbot.waitExposed(win)
    yield win
    # Stop jobs before the window closes, or closing would ask about them (modal).
    win.jobs.shutdown()
    win.close()
    win.deleteLater()


def _run_app(*args, env_home, timeout=60):
    env = dict(os.environ, VOICELAB_HOME=str(env_home), QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "voicelab", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_window_has_tabs_menus_and_status(window):
    assert [window.tabs.tabText(i).replace("&", "") for i in range(window.tabs.count())] == \
        ["Dataset", "Training", "Generate"]
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "View", "Tools", "Help"]
    assert str(window.workspace.root) in window.workspace_label.text()
    assert not window.job_status.isVisible()  # nothing running


def test_app_starts_without_heavy_imports(voicelab_home):
    """`python -m voicelab` shows the window and has not imported torch, whisper or piper.train."""
    proc = _run_app("--startup-report", env_home=voicelab_home)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["visible"] is True
    assert report["heavy_modules_loaded"] == []
    assert (voicelab_home / "logs" / "voicelab.log").read_text().count("starting") == 1


def test_core_imports_without_qt(tmp_path):
    """Every module of voicelab.core imports with PySide6, shiboken6 and pyqtgraph unavailable."""
    script = r"""
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph"):
            raise ImportError(f"blocked: {name}")
sys.meta_path.insert(0, Block())
import voicelab.core
names = [m.name for m in pkgutil.walk_packages(voicelab.core.__path__, "voicelab.core.")]
for name in names:
    importlib.import_module(name)
import voicelab.cli.main
print(len(names), "modules")
assert not any(m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph") for m in sys.modules)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "modules" in proc.stdout


def test_about_lists_versions_without_importing_torch(window, qtbot):
    torch_before = "torch" in sys.modules
    dialog = window.open_about()
    qtbot.waitExposed(dialog)
    text = dialog.text.text()
    assert "piper-tts" in text and "PySide6" in text and str(window.workspace.log_file) in text
    from importlib import metadata
    assert metadata.version("torch") in text
    assert ("torch" in sys.modules) == torch_before
    dialog.close()


def test_settings_dialog_saves_to_disk(window, qtbot):
    dialog = window.open_settings()
    qtbot.waitExposed(dialog)
    dialog.asr_model.setCurrentText("small.en")
    dialog.device.setCurrentText("cpu")
    dialog.theme.setCurrentText("dark")
    dialog.language.setCurrentText("en")
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.Save), Qt.LeftButton)
    data = yaml.safe_load(window.workspace.settings_path.read_text())
    assert data["asr_model"] == "small.en" and data["device"] == "cpu" and data["theme"] == "dark"
    assert Workspace.open().settings.asr_language == "en"
    QApplication.instance().setPalette(QApplication.instance().style().standardPalette())


def test_settings_dialog_rejects_bad_language(window, qtbot, monkeypatch):
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
    dialog = window.open_settings()
    dialog.language.setCurrentText("english please")
    dialog.accept()
    assert warnings and "not a language code" in warnings[0]
    assert not window.workspace.settings_path.exists()
    dialog.reject()


def test_corrupt_settings_are_reported_in_the_window(qtbot, voicelab_home):
    (voicelab_home / "settings.yaml").write_text("theme: [broken")
    win = MainWindow(Workspace.open())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: getattr(win, "settings_problems_box", None) is not None)
    assert "settings.yaml" in win.settings_problems_box.text()
    assert (voicelab_home / "settings.yaml.bak").read_text() == "theme: [broken"
    win.settings_problems_box.close()


def _counting_job(steps, progress, cancel, delay=0.02, fail_at=None):
    for i in range(steps):
        if fail_at == i:
            raise VoiceLabError(f"File clip{i}.wav is broken: re-record it.")
        time.sleep(delay)
        progress(i + 1, steps, f"step {i + 1}")
    return steps * 2


def test_job_reports_progress_and_result(window, qtbot):
    job = window.jobs.run("Counting", _counting_job, 10)
    with qtbot.waitSignal(job.finished, timeout=10_000) as blocker:
        qtbot.waitUntil(lambda: window.job_status.isVisible())
        assert window.job_status.shown_job() is job
    assert blocker.args == [20]
    qtbot.waitUntil(lambda: not window.job_status.isVisible())
    assert job.done_units == 10 and job.total_units == 10
    assert window.jobs.jobs() == []


def test_status_bar_cancel_stops_the_job(window, qtbot):
    job = window.jobs.run("Slow job", _counting_job, 10_000, delay=0.01)
    qtbot.waitUntil(lambda: job.done_units > 0, timeout=10_000)
    qtbot.waitUntil(lambda: window.job_status.eta.text().endswith(" left"), timeout=10_000)
    with qtbot.waitSignal(job.cancelled, timeout=5_000):
        window.job_status.cancel_button.click()
    assert job.wait(2000)
    assert job.done_units < 10_000


def test_failed_job_carries_the_user_message(window, qtbot):
    job = window.jobs.run("Failing", _counting_job, 5, fail_at=2)
    with qtbot.waitSignal(job.failed, timeout=10_000) as blocker:
        pass
    assert "clip2.wav" in blocker.args[0] and blocker.args[1] == ""


def test_several_jobs_show_a_count(window, qtbot):
    a = window.jobs.run("A", _counting_job, 10_000, delay=0.01)
    b = window.jobs.run("B", _counting_job, 10_000, delay=0.01)
    qtbot.waitUntil(lambda: window.job_status.others.isVisible())
    assert window.job_status.others.text() == "+1"
    window.jobs.cancel_all()
    for job in (a, b):
        assert job.wait(5000)
    qtbot.waitUntil(lambda: not window.job_status.isVisible())


def test_closing_with_running_job_asks_then_stops_it(window, qtbot, monkeypatch):
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.Yes)
    job = window.jobs.run("Long transcription", _counting_job, 100_000, delay=0.01)
    qtbot.waitUntil(lambda: job.done_units > 0, timeout=10_000)
    assert window.close()
    assert asked and "Long transcription" in asked[0]
    assert not job._thread.isRunning()


def test_closing_can_be_refused(window, qtbot, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.No)
    job = window.jobs.run("Keep going", _counting_job, 100_000, delay=0.01)
    qtbot.waitUntil(lambda: job.done_units > 0, timeout=10_000)
    assert not window.close()
    assert window.isVisible() and job.is_running()
    window.jobs.shutdown()


def test_window_geometry_and_tab_are_restored(qtbot, workspace):
    first = MainWindow(workspace)
    qtbot.addWidget(first)
    first.show()
    first.resize(900, 640)
    first.tabs.setCurrentIndex(2)
    first.close()
    second = MainWindow(workspace)
    qtbot.addWidget(second)
    assert second.tabs.currentIndex() == 2
    assert (workspace.config_dir / "window.ini").exists()


@pytest.mark.qt_no_exception_capture
def test_uncaught_exception_shows_dialog_and_is_logged(window, qtbot, workspace):
    from voicelab.ui import error_dialog

    old_hook, old_thread_hook = sys.excepthook, threading.excepthook
    handler = setup_logging(workspace.log_file)
    try:
        reporter = error_dialog.install_excepthook(workspace.log_file)

        def boom():
            raise ZeroDivisionError("clip length was zero")

        QTimer.singleShot(0, boom)
        qtbot.waitUntil(lambda: reporter.last_dialog is not None, timeout=5000)
        box = reporter.last_dialog
        assert "clip length was zero" in box.text()
        assert str(workspace.log_file) in box.informativeText()
        handler.flush()
        log_text = workspace.log_file.read_text()
        assert "ZeroDivisionError: clip length was zero" in log_text and "Traceback" in log_text
        assert window.isVisible()  # the app keeps running
        box.close()

        worker = threading.Thread(target=lambda: 1 / 0, name="bad-worker")
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: reporter.last_dialog is not box, timeout=5000)
        assert "ZeroDivisionError" in reporter.last_dialog.text()
        reporter.last_dialog.close()
    finally:
        sys.excepthook, threading.excepthook = old_hook, old_thread_hook
        logging.getLogger().removeHandler(handler)
        handler.close()


def test_keyboard_shortcuts(window, qtbot):
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"
    assert window.models_action.shortcut().toString() == "Ctrl+M"
    window.activateWindow()
    qtbot.waitActive(window)
    qtbot.keyClick(window, "3", modifier=Qt.ControlModifier)
    assert window.tabs.currentIndex() == 2
