"""The Generate tab drives the real synthesis core (joe voice) with a fake audio output."""

from __future__ import annotations

import soundfile
import pytest
from PySide6.QtCore import Qt

from voicelab.core.synthesis.history import History
from voicelab.core.synthesis.presets import PresetStore
from voicelab.ui.audio_out import FakeAudioOutput
from voicelab.ui.generate_tab import GenerateTab
from voicelab.ui.workers import JobManager

TEXT = "Hello there. This is a test."


def _make_tab(workspace, output):
    jobs = JobManager()
    tab = GenerateTab(workspace, jobs, audio_output=output)
    tab.resize(1200, 760)
    tab.show()
    tab.activateWindow()
    return jobs, tab


@pytest.fixture
def fake_output():
    return FakeAudioOutput(speed=20.0)


@pytest.fixture
def tab(qtbot, workspace, fake_output):
    jobs, widget = _make_tab(workspace, fake_output)
    qtbot.waitExposed(widget)
    yield widget
    jobs.shutdown()
    widget.shutdown()
    widget.close()
    widget.deleteLater()


def _generate_with_keys(qtbot, tab, text=TEXT):
    # Shortcuts reach only the active window, as on a desktop.
    tab.activateWindow()
    qtbot.waitUntil(tab.isActiveWindow, timeout=3_000)
    tab.text_edit.setFocus()
    qtbot.keyClicks(tab.text_edit, text)
    assert tab.char_count.text() == f"{len(text)} characters"
    qtbot.keyClick(tab.text_edit, Qt.Key_Return, Qt.ControlModifier)
    job = tab.generate_job
    assert job is not None, "Ctrl+Enter did not start a generation"
    assert tab.text_edit.toPlainText() == text  # the shortcut did not type a newline
    with qtbot.waitSignal(job.finished, timeout=20_000):
        pass
    qtbot.waitUntil(lambda: tab.generate_job is None)
    return job


def test_generate_play_export_delete(tab, qtbot, workspace, fake_output, tmp_path):
    job = _generate_with_keys(qtbot, tab)
    entry, samples, rate = job.result

    # The history list (and the core's history on disk) holds the clip; the waveform shows it.
    assert tab.history_list.count() == 1
    assert tab.history_list.currentItem().text().startswith(TEXT)
    assert [e.id for e in History.open(workspace).list()] == [entry.id]
    assert tab.waveform.has_data() and tab.waveform.sample_count == len(samples) > rate // 2
    assert tab.play_button.isEnabled() and tab.export_button.isEnabled()
    assert not tab.output_label.isVisible()

    # Export to FLAC without the dialog and read it back.
    target = tmp_path / "out" / "clip.flac"
    target.parent.mkdir()
    export_job = tab.export_clip(target)
    with qtbot.waitSignal(export_job.finished, timeout=10_000):
        pass
    data, flac_rate = soundfile.read(str(target))
    info = soundfile.info(str(target))
    assert info.format == "FLAC" and flac_rate == rate and len(data) == len(samples)

    # Play with Space (focus outside the editor): the fake output got the whole clip and the
    # cursor moves, then playback ends by itself and the button reads Play again.
    tab.history_list.setFocus()
    qtbot.keyClick(tab.history_list, Qt.Key_Space)
    assert len(fake_output.played) == 1
    assert tab.play_button.text() == "Stop"
    qtbot.waitUntil(lambda: (tab.waveform.cursor_position() or 0) > 0, timeout=5_000)
    qtbot.waitUntil(lambda: tab.play_button.text() == "Play", timeout=10_000)

    # Space inside the editor types a space and plays nothing.
    tab.text_edit.setFocus()
    qtbot.keyClick(tab.text_edit, Qt.Key_Space)
    assert tab.text_edit.toPlainText().endswith(" ") and len(fake_output.played) == 1

    # Replay from the history.
    tab.history_play.click()
    played, played_rate = fake_output.played[-1]
    assert len(fake_output.played) == 2 and len(played) == len(samples) and played_rate == rate

    # Delete from the history: gone from the list, the index and the disk.
    assert tab.delete_entry(tab.selected_entry(), confirm=False)
    assert tab.history_list.count() == 0
    assert not entry.path.exists() and History.open(workspace).list() == []
    assert not tab.waveform.has_data() and not tab.play_button.isEnabled()


def test_sliders_save_preset(tab, qtbot, workspace):
    slider, label = tab._sliders["speed"]
    slider.setValue(150)
    assert label.text() == "1.50×"
    qtbot.waitUntil(lambda: "Default" in PresetStore.open(workspace), timeout=3_000)
    assert PresetStore.open(workspace).get("Default").speed == 1.5
    variation, variation_label = tab._sliders["variation"]
    assert "voice default" in variation_label.text()
    variation.setValue(40)
    tab.save_preset()
    saved = PresetStore.open(workspace).get("Default")
    assert saved.variation == 0.4 and saved.rhythm_variation is None


def test_unavailable_output_disables_play(qtbot, workspace):
    reason = "Playback is unavailable: no audio output device was found."
    output = FakeAudioOutput(available=False, unavailable_reason=reason)
    jobs, tab = _make_tab(workspace, output)
    try:
        qtbot.waitExposed(tab)
        job = _generate_with_keys(qtbot, tab, "No speakers here.")
        assert tab.history_list.count() == 1 and tab.waveform.has_data()
        assert not tab.play_button.isEnabled() and tab.play_button.toolTip() == reason
        assert not tab.history_play.isEnabled()
        assert tab.output_label.isVisible() and reason in tab.output_label.text()
        assert tab.export_button.isEnabled()
        assert not tab.play() and output.played == []
        assert job.outcome == "finished"
    finally:
        jobs.shutdown()
        tab.shutdown()
        tab.close()
        tab.deleteLater()
