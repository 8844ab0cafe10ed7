"""A voice exported as "My test voice" is "My test voice" in the Generate tab, preset included."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.support.voices import exported_voice
from voicelab.ui.audio_out import FakeAudioOutput
from voicelab.ui.generate_tab import GenerateTab
from voicelab.ui.workers import JobManager


def test_the_generate_tab_lists_the_voice_and_its_preset_by_the_name_it_was_given(qtbot, workspace):
    jobs = JobManager()
    tab = GenerateTab(workspace, jobs, audio_output=FakeAudioOutput())
    qtbot.addWidget(tab)
    try:
        tab.show()
        model = exported_voice(workspace, "My test voice")
        tab.voice_exported(model)  # what the Training tab's export tells it

        combo, presets = tab.preset_panel.voice_combo, tab.preset_panel.preset_combo
        assert combo.currentText() == "My test voice" and combo.currentData() == "My_test_voice"
        assert "File: My_test_voice.onnx" in combo.toolTip()  # the safe file name, underneath
        assert combo.itemData(combo.currentIndex(), Qt.ToolTipRole) == "File: My_test_voice.onnx"
        assert presets.currentText() == "My test voice" and tab.preset.voice == "My_test_voice"
        assert "New voice 'My test voice' is ready" in tab.status_label.text()
        assert "My_test_voice" not in [combo.itemText(i) for i in range(combo.count())]
    finally:
        jobs.shutdown()
        tab.shutdown()
