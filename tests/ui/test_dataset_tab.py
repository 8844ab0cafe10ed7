"""The Dataset tab's review tools on a real dataset store: table, edits, undo, playback."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from PySide6.QtCore import Qt

from voicelab.core.dataset.records import NewClip
from voicelab.core.dataset.store import Dataset, dataset_folder
from voicelab.ui.audio_out import FakeAudioOutput
from voicelab.ui.dataset_tab import DatasetTab
from voicelab.ui.widgets.clip_table import TEXT
from voicelab.ui.workers import JobManager

RATE = 22050


def tone(seconds, level=0.3):
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * 200 * t)).astype(np.float32)


@pytest.fixture
def dataset(workspace, tmp_path):
    ds = Dataset.create(dataset_folder(workspace, "Joe"), "Joe")
    audio = np.concatenate([tone(3.0), tone(3.0, 0.001), tone(4.0)])
    original = tmp_path / "take.wav"
    soundfile.write(original, audio, RATE)
    source, _ = ds.add_source(original)
    ds.write_work_audio(source, audio)
    ds.replace_source_clips(source.id, [
        NewClip(0.2, 2.8, "Hello there, this is the first clip.",
                [["Hello", 0.2, 0.6], ["there,", 0.7, 1.0], ["this", 1.2, 1.4], ["is", 1.5, 1.6],
                 ["the", 1.7, 1.8], ["first", 1.9, 2.2], ["clip.", 2.3, 2.7]], avg_logprob=-0.2, no_speech_prob=0.0),
        NewClip(3.2, 5.8, "Thank you for watching", avg_logprob=-0.3, no_speech_prob=0.1),
        NewClip(6.2, 9.5, "And the third one ends here.", avg_logprob=-0.1, no_speech_prob=0.0),
    ])
    ds.mark_source(source.id, "done")
    return ds


@pytest.fixture
def tab(qtbot, workspace, dataset):
    jobs = JobManager()
    output = FakeAudioOutput()
    widget = DatasetTab(workspace, jobs, audio_output=output)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    yield widget
    jobs.shutdown()


def manifest(ds):
    return (ds.path / "metadata.csv").read_text(encoding="utf-8").splitlines()


def test_shows_the_dataset_with_flags_and_summary(tab, dataset):
    assert tab.pages.currentIndex() == 1
    assert tab.dataset_combo.currentText() == "Joe"
    assert tab.model.rowCount() == 3
    assert "hallucination" in tab.model.index(1, 4).data()
    assert "low level" not in tab.summary_label.text()
    assert "3</b> clips" in tab.summary_label.text() and "1</b> flagged" in tab.summary_label.text()
    tab.filter_combo.setCurrentText("Flagged")
    assert tab.proxy.rowCount() == 1
    tab.filter_combo.setCurrentText("All clips")
    tab.search_edit.setText("third")
    assert tab.proxy.rowCount() == 1


def test_inline_edit_saves_and_undoes(tab, dataset, qtbot):
    dataset = tab.dataset  # the tab's own instance of the store
    index = tab.proxy.index(1, TEXT)
    assert tab.proxy.setData(index, "Take it from here.")
    assert manifest(dataset)[1] == "take_0002|Take it from here."
    assert "hallucination" not in tab.model.index(1, 4).data()  # the fixed text is no longer suspect
    qtbot.keyClick(tab.table, Qt.Key_Z, Qt.ControlModifier)
    assert manifest(dataset)[1] == "take_0002|Thank you for watching"
    qtbot.keyClick(tab.table, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert manifest(dataset)[1] == "take_0002|Take it from here."


def test_split_merge_exclude_delete_with_keys_and_undo(tab, dataset, qtbot):
    dataset = tab.dataset  # the tab's own instance of the store
    tab.select_clip("take_0001")
    tab.table.setFocus()
    assert tab.source_view.clip_bounds == (0.2, 2.8)
    qtbot.keyClick(tab.table, Qt.Key_S)
    assert "Click the waveform" in tab.banner.text()
    tab.source_view.mark_split(1.1)
    qtbot.keyClick(tab.table, Qt.Key_S)
    assert [c.text for c in dataset.clips][:2] == ["Hello there,", "this is the first clip."]
    assert tab.model.rowCount() == 4
    tab.select_clip("take_0001")
    qtbot.keyClick(tab.table, Qt.Key_M)
    assert dataset.clips[0].text == "Hello there, this is the first clip." and tab.model.rowCount() == 3
    tab.select_clip("take_0003")
    qtbot.keyClick(tab.table, Qt.Key_E)
    assert dataset.clip("take_0003").excluded and len(manifest(dataset)) == 2
    qtbot.keyClick(tab.table, Qt.Key_Delete)
    assert tab.model.rowCount() == 2 and not dataset.clip_path("take_0003").exists()
    for _ in range(4):
        tab.editor.stack.undo()
    assert [c.id for c in dataset.clips] == ["take_0001", "take_0002", "take_0003"]
    assert dataset.clip_path("take_0003").exists() and len(manifest(dataset)) == 3
    assert abs(soundfile.info(dataset.clip_path("take_0001")).duration - 2.6) < 0.01


def test_dragging_the_edges_moves_the_clip(tab, dataset):
    dataset = tab.dataset  # the tab's own instance of the store
    tab.select_clip("take_0003")
    tab.source_view.region.setRegion((6.0, 9.8))
    tab.source_view.region.sigRegionChangeFinished.emit(tab.source_view.region)
    clip = dataset.clip("take_0003")
    assert (clip.start, clip.end) == (6.0, 9.8) and clip.edited
    assert abs(soundfile.info(dataset.clip_path("take_0003")).duration - 3.8) < 0.01
    tab.editor.stack.undo()
    assert (dataset.clip("take_0003").start, dataset.clip("take_0003").end) == (6.2, 9.5)


def test_space_plays_the_clip_and_the_cursor_moves(tab, dataset, qtbot):
    tab.select_clip("take_0002")
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key_Space)
    assert tab.output.played and abs(len(tab.output.played[-1][0]) / RATE - 2.6) < 0.01
    qtbot.waitUntil(lambda: tab.source_view.cursor_position() is not None, timeout=2000)
    assert tab.source_view.cursor_position() >= 3.2
    qtbot.keyClick(tab.table, Qt.Key_Space)
    assert not tab.output.is_playing()


def test_no_audio_device_disables_play_only(qtbot, workspace, dataset):
    jobs = JobManager()
    widget = DatasetTab(workspace, jobs, audio_output=FakeAudioOutput(
        available=False, unavailable_reason="Playback is unavailable: no audio output device was found."))
    qtbot.addWidget(widget)
    widget.select_clip("take_0001")
    assert not widget.play_button.isEnabled() and widget.split_button.isEnabled()
    assert "no audio output device" in widget.player_note.text()
    jobs.shutdown()


def test_empty_workspace_shows_the_guide(qtbot, workspace):
    jobs = JobManager()
    widget = DatasetTab(workspace, jobs, audio_output=FakeAudioOutput())
    qtbot.addWidget(widget)
    assert widget.pages.currentIndex() == 0 and "Drop recordings" in widget.guide.steps.text()
    jobs.shutdown()


def test_options_panel_builds_pipeline_options(tab, workspace):
    tab.panel.model_combo.setCurrentText("tiny.en")
    tab.panel.mode_combo.setCurrentIndex(tab.panel.mode_combo.findData("vad"))
    assert not tab.panel.model_combo.isEnabled()
    tab.panel.max_spin.setValue(8.0)
    tab.panel.level_box.setChecked(True)
    options = tab.panel.options(workspace.settings)
    assert (options.mode, options.asr.model, options.slicing.max_seconds, options.loudness_db) == \
        ("vad", "tiny.en", 8.0, -20.0)
    tab.panel.set_options(options.to_dict() | {"loudness_db": None, "mode": "transcribe"})
    assert not tab.panel.level_box.isChecked() and tab.panel.model_combo.isEnabled()


def test_a_name_typed_or_taken_from_a_folder_stays_in_the_workspace(qtbot, workspace, tmp_path,
                                                                    monkeypatch):
    errors = []
    for module in ("voicelab.ui.dataset_tab", "voicelab.ui.dataset_transfer"):  # naming, importing
        monkeypatch.setattr(f"{module}.show_error", lambda _parent, title, message, *a: errors.append(message))
    jobs = JobManager()
    widget = DatasetTab(workspace, jobs, audio_output=FakeAudioOutput())
    qtbot.addWidget(widget)
    hidden = tmp_path / ".hidden"  # an LJSpeech folder whose name would hide the dataset
    hidden.mkdir()
    assert widget.new_dataset("../../escaped") is None and widget.new_dataset("....") is None
    assert widget.import_from(hidden) is None
    assert len(errors) == 3 and all("cannot be a dataset name" in e for e in errors)
    assert not (tmp_path / "escaped").exists() and list(workspace.datasets.iterdir()) == []
    jobs.shutdown()
