"""The Help menu (the offline guide, "Report a problem") and the File menu's actions, driven
through the window's real menu actions."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QMessageBox, QTextBrowser

from voicelab.core.dataset.store import list_datasets
from voicelab.resources import resource_path
from voicelab.ui.help_dialog import UserGuideDialog
from voicelab.ui.widgets.export_dialog import ExportChoice


@pytest.fixture
def window(open_window, qtbot):
    win = open_window()
    qtbot.waitExposed(win)
    return win


def menu_texts(window, title):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == title)
    return [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]


def bound_keys(window):
    """Every key sequence the window answers: menu actions and widget shortcuts."""
    keys = set()
    for action in window.findChildren(QAction):
        keys.update(k.toString() for k in action.shortcuts())
    for shortcut in window.findChildren(QShortcut):
        keys.update(k.toString() for k in shortcut.keys())
    return keys


def test_the_guide_opens_with_f1_and_covers_what_a_user_asks(window, qtbot):
    assert menu_texts(window, "Help") == ["VoiceLab guide", "Report a problem…", "About VoiceLab"]
    assert window.guide_action.shortcut().toString() == "F1"
    window.guide_action.trigger()
    (dialog,) = window.findChildren(UserGuideDialog)
    qtbot.waitExposed(dialog)
    text = dialog.findChild(QTextBrowser).toPlainText()
    for heading in ("Getting started in five steps", "How to record well",
                    "How many minutes of speech give what", "What the scores mean",
                    "Keyboard shortcuts", "Where files live", "When something goes wrong"):
        assert heading in text
    for score in ("WER", "Likeness", "Naturalness"):
        assert score in text
    shown = dialog.browser.toMarkdown()  # numbered as the browser lays the list out
    steps = re.search(r"Getting started in five steps\n(.*?)How to record well", shown, re.S).group(1)
    assert re.findall(r"^(\d)\. ", steps, re.M) == ["1", "2", "3", "4", "5"]
    # This installation's folders, not placeholders.
    assert str(window.workspace.datasets) in text and str(window.workspace.settings_path) in text
    assert "$" not in text
    dialog.close()


def test_every_shortcut_in_the_guide_is_bound(window):
    html = resource_path("user_guide.html").read_text(encoding="utf-8")
    table = html[html.index('name="keys"'):html.index('name="files"')]
    listed = re.findall(r"<tr><td>([^<]+)</td>", table)
    keys = bound_keys(window)
    for cell in listed:
        for key in cell.split(", "):
            assert QKeySequence(key).toString() in keys, f"{key} is in the guide but bound nowhere"
    assert len(listed) >= 12


def test_report_a_problem_opens_the_log_folder(window, qtbot, monkeypatch):
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    window.report_action.trigger()
    assert [Path(url.toLocalFile()) for url in opened] == [window.workspace.logs]
    box = next(b for b in window.findChildren(QMessageBox) if b.objectName() == "reportProblem")
    assert "voicelab.log" in box.text() and str(window.workspace.logs) in box.text()
    box.close()


def test_file_menu_adds_recordings_and_imports_ljspeech(window, qtbot, tmp_path, monkeypatch):
    assert menu_texts(window, "File")[:3] == ["Add recordings…", "Import LJSpeech…", "Export clip…"]
    take = tmp_path / "morning.wav"
    soundfile.write(take, np.zeros(22050, np.float32), 22050)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(take)], ""))
    window.tabs.setCurrentWidget(window.generate_tab)
    window.add_recordings_action.trigger()
    tab = window.dataset_tab
    assert window.tabs.currentWidget() is tab
    qtbot.waitUntil(lambda: tab.name_dialog is not None and tab.name_dialog.isVisible())
    assert tab.name_dialog.textValue() == "morning"
    tab.name_dialog.reject()

    folder = tmp_path / "lj"
    (folder / "wavs").mkdir(parents=True)
    soundfile.write(folder / "wavs" / "a.wav", 0.1 * np.sin(np.arange(22050) / 10).astype(np.float32), 22050)
    (folder / "metadata.csv").write_text("a|Hello there.\n", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    window.import_ljspeech_action.trigger()
    qtbot.waitUntil(lambda: [d.name for d in list_datasets(window.workspace)] == ["lj"], timeout=30_000)
    qtbot.waitUntil(lambda: tab.dataset is not None and tab.dataset.name == "lj", timeout=10_000)
    assert [c.text for c in tab.dataset.clips] == ["Hello there."]


def test_file_menu_exports_the_current_clip(window, qtbot, tmp_path, monkeypatch):
    tab = window.generate_tab
    window.export_clip_action.trigger()  # nothing made yet: the tab says what to do
    assert window.tabs.currentWidget() is tab and "Generate or pick a clip" in tab.status_label.text()

    entry = tab.history.add(0.1 * np.sin(np.arange(22050) / 8).astype(np.float32), 22050,
                            text="Hello from my own voice", voice="builtin:en_US-joe-medium")
    tab.history_panel.reload()
    tab.history_panel.list.setCurrentRow(0)  # picked in the history list, as a click does
    qtbot.waitUntil(lambda: tab.current_entry is not None and tab.current_entry.id == entry.id)
    target = tmp_path / "hello.wav"
    asked = []
    monkeypatch.setattr("voicelab.ui.generate_tab.ask_export",
                        lambda _parent, text, *a: asked.append(text) or ExportChoice(target, None, None))
    window.export_clip_action.trigger()
    assert asked == ["Hello from my own voice"]
    with qtbot.waitSignal(tab.export_job.finished, timeout=30_000):
        pass
    assert target.is_file() and target.stat().st_size > 20_000
