"""A first run as a new user meets it: a fresh workspace, no model downloaded, no network.

The import transcribes with the tiny.en that ships with VoiceLab, the dataset is made only
once the user names it, the better model is one click away with its size, a language the
model cannot hear is said before anything starts, and the Whisper setting reads the same in
the Dataset tab and the Settings dialog.
"""

from __future__ import annotations

import pytest
import yaml
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QPushButton

from tests.support.dataset_audio import SENTENCES, recording, write_recording
from tests.support.drops import drop
from tests.support.hf_server import serve
from tests.support.speech import wer
from voicelab.core.dataset.store import list_datasets
from voicelab.core.models import ModelManager

OFFER = "Get base.en, 141.1 MB: fewer transcription errors"


def advice_buttons(panel):
    layout = panel.advice_buttons
    return {layout.itemAt(i).widget().text(): layout.itemAt(i).widget() for i in range(layout.count())}


def wait_for_advice(qtbot, panel, words):
    qtbot.waitUntil(lambda: words in panel.advice_label.text() and panel.advice_row.isVisible(),
                    timeout=10_000)


@pytest.fixture
def window(open_window, qtbot, monkeypatch):
    from huggingface_hub import constants

    # As on a machine without internet: any download would be refused. (The library's own
    # switch, restored after; the variable would stick once read at its import.)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    win = open_window()
    qtbot.waitExposed(win)
    return win


@pytest.mark.slow
def test_first_import_transcribes_with_no_download_once_the_dataset_is_named(window, qtbot, tmp_path):
    tab = window.dataset_tab
    assert tab.panel.model_combo.currentText() == "tiny.en"
    wait_for_advice(qtbot, tab.panel, "Transcribing with tiny.en, included with VoiceLab.")
    assert list(advice_buttons(tab.panel)) == [OFFER]

    folder = tmp_path / "Anna"
    write_recording(folder / "take.flac", recording(SENTENCES[:2]), rate=44100)
    assert drop(window, [folder])
    qtbot.waitUntil(lambda: tab.name_dialog is not None and tab.name_dialog.isVisible())
    assert tab.name_dialog.textValue() == "Anna"  # proposed from the folder, not yet made
    assert list_datasets(window.workspace) == [] and tab.job is None
    tab.name_dialog.setTextValue("Anna's voice")
    tab.name_dialog.accept()

    assert tab.job is not None and tab.dataset.name == "Anna's voice"
    with qtbot.waitSignal(tab.job.ended, timeout=120_000):
        pass
    dataset = tab.dataset
    assert [s.state for s in dataset.sources] == ["done"]
    assert wer(" ".join(SENTENCES[:2]), " ".join(c.text for c in dataset.clips)) < 0.35
    assert dataset.options["pipeline"]["asr"]["model"] == "tiny.en"
    assert not tab.banner.isVisible()


def test_cancelling_the_name_makes_nothing(window, qtbot, tmp_path):
    tab = window.dataset_tab
    take = tmp_path / "first take.wav"
    write_recording(take, recording(SENTENCES[:1]))
    assert drop(tab, [take])
    qtbot.waitUntil(lambda: tab.name_dialog is not None and tab.name_dialog.isVisible())
    assert tab.name_dialog.textValue() == "first take"
    assert drop(tab, [take])  # a second drop while asking opens no second dialog
    assert len([w for w in tab.findChildren(type(tab.name_dialog)) if w.isVisible()]) == 1
    tab.name_dialog.reject()
    assert tab.job is None and tab.dataset is None
    assert list_datasets(window.workspace) == [] and not any(window.workspace.datasets.iterdir())
    assert tab.pages.currentIndex() == 0  # the first-run guide stays


def test_another_language_is_refused_before_anything_is_made(window, qtbot, tmp_path):
    tab = window.dataset_tab
    panel = tab.panel
    panel.language_combo.setCurrentIndex(panel.language_combo.findData("de"))
    wait_for_advice(qtbot, panel, "tiny.en understands English only, so it cannot transcribe German")
    assert list(advice_buttons(panel)) == ["Get base, 141.1 MB: transcribes German"]
    take = tmp_path / "hallo.wav"
    write_recording(take, recording(SENTENCES[:1]))
    assert drop(tab, [take])
    assert tab.banner.isVisible() and tab.banner.text().startswith("Nothing was imported")
    assert "cannot transcribe German" in panel.advice_label.text() and panel.advice_row.isVisible()
    # One button, though the advice was shown twice (read in the background, then on the drop).
    qtbot.waitUntil(lambda: [b.text() for b in panel.advice_row.findChildren(QPushButton)
                             if b.isVisible()] == ["Get base, 141.1 MB: transcribes German"])
    assert tab.name_dialog is None and tab.job is None
    assert list_datasets(window.workspace) == []
    assert window.workspace.settings.asr_language == "de"  # the panel's choice is the setting


def test_the_better_model_in_one_click_becomes_the_setting_everywhere(open_window, qtbot, hub):
    window = open_window()
    tab = window.dataset_tab
    entry = ModelManager(window.workspace).get("whisper:base.en")
    serve(hub, entry, size=200_000)
    wait_for_advice(qtbot, tab.panel, "included with VoiceLab")
    qtbot.mouseClick(advice_buttons(tab.panel)[OFFER], Qt.LeftButton)
    job = tab.asr_choice.download_job
    assert job is not None and "Downloading base.en" in tab.panel.advice_label.text()
    assert not advice_buttons(tab.panel)[OFFER].isEnabled()  # no second download
    with qtbot.waitSignal(job.ended, timeout=30_000):
        pass
    assert job.outcome == "finished"
    qtbot.waitUntil(lambda: not tab.panel.advice_row.isVisible(), timeout=10_000)
    assert tab.panel.model_combo.currentText() == "base.en"
    saved = yaml.safe_load(window.workspace.settings_path.read_text(encoding="utf-8"))
    assert saved["asr_model"] == "base.en"
    dialog = window.open_settings()
    assert dialog.asr_model.currentText() == "base.en"
    dialog.reject()


def test_settings_and_the_dataset_tab_show_one_setting(window, qtbot):
    tab = window.dataset_tab
    tab.panel.model_combo.setCurrentText("small.en")
    dialog = window.open_settings()
    assert dialog.asr_model.currentText() == "small.en"
    assert dialog.language.currentText() == "Detect"
    dialog.asr_model.setCurrentText("tiny.en")
    dialog.language.setCurrentIndex(dialog.language.findData("fr"))
    assert dialog.language.currentText() == "French (fr)"
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.Save), Qt.LeftButton)
    assert tab.panel.model_combo.currentText() == "tiny.en"
    assert tab.panel.language_combo.currentText() == "French"
    # Both now say what the file says, and the tab says tiny.en cannot hear French.
    saved = yaml.safe_load(window.workspace.settings_path.read_text(encoding="utf-8"))
    assert (saved["asr_model"], saved["asr_language"]) == ("tiny.en", "fr")
    wait_for_advice(qtbot, tab.panel, "cannot transcribe French")


def test_opening_a_dataset_keeps_the_setting(window, qtbot, workspace):
    """A dataset made with another model does not change what the panel (and Settings) say."""
    from voicelab.core.dataset.store import Dataset, dataset_folder

    made = Dataset.create(dataset_folder(workspace, "Old"), "Old")
    made.set_options(pipeline={"asr": {"model": "small"}, "mode": "vad"})
    tab = window.dataset_tab
    tab.reload_datasets(select="Old")
    assert tab.dataset.name == "Old" and tab.panel.mode_combo.currentData() == "vad"
    assert tab.panel.model_combo.currentText() == workspace.settings.asr_model == "tiny.en"
