"""The Export clip dialog: a name made from the text, free in the folder and editable; the
format, the sample rate and an MP3's bitrate; and the file the Generate tab writes with them."""

from __future__ import annotations

import av
import pytest
import soundfile
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from voicelab.core.synthesis.generate import generate_clip
from voicelab.core.synthesis.presets import Preset
from voicelab.ui.audio_out import FakeAudioOutput
from voicelab.ui.generate_tab import GenerateTab
from voicelab.ui.widgets.export_dialog import ExportDialog
from voicelab.ui.workers import JobManager

TEXT = "Hello from my own voice!"


@pytest.fixture
def make_dialog(qtbot, tmp_path):
    def make(**options):
        dialog = ExportDialog(TEXT, 22050, tmp_path, **options)
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog
    return make


def _pick(combo, data) -> None:
    combo.setCurrentIndex(combo.findData(data))


def _offered(combo) -> list:
    return [combo.itemData(i) for i in range(combo.count()) if combo.model().item(i).isEnabled()]


def test_the_name_comes_from_the_text_is_free_in_the_folder_and_can_be_edited(make_dialog, qtbot,
                                                                             tmp_path):
    (tmp_path / "hello-from-my-own-voice.mp3").write_bytes(b"")
    dialog = make_dialog(format="mp3")
    ok = dialog.buttons.button(QDialogButtonBox.Ok)
    assert dialog.name_edit.text() == "hello-from-my-own-voice-2.mp3"
    assert (dialog.note.text(), ok.text(), ok.isEnabled()) == ("", "Export", True)

    # Still the proposal: another format proposes again, free for its own ending.
    _pick(dialog.format_combo, "wav")
    assert dialog.name_edit.text() == "hello-from-my-own-voice.wav"

    # Edited: the words stay, only the ending follows the format.
    dialog.name_edit.clear()
    qtbot.keyClicks(dialog.name_edit, "greeting")
    _pick(dialog.format_combo, "flac")
    assert dialog.name_edit.text() == "greeting.flac"
    assert dialog.choice().path == tmp_path / "greeting.flac"

    # A typed ending picks the format; a name that is taken says Export replaces the file.
    dialog.name_edit.clear()
    qtbot.keyClicks(dialog.name_edit, "hello-from-my-own-voice.mp3")
    assert dialog.format() == "mp3"
    assert "already in this folder" in dialog.note.text() and ok.text() == "Replace"

    # A name that cannot be a file says why, and Export waits.
    dialog.name_edit.setText("notes/hello.mp3")
    assert not ok.isEnabled() and "path" in dialog.note.text()
    dialog.name_edit.setText("hello")
    assert ok.isEnabled() and dialog.choice().path == tmp_path / "hello.mp3"
    dialog.folder_edit.setText(str(tmp_path / "missing"))
    assert not ok.isEnabled() and "does not exist" in dialog.note.text()


def test_mp3_offers_only_the_bitrates_its_sample_rate_can_carry(make_dialog):
    dialog = make_dialog(format="mp3")
    bitrate = dialog.bitrate_combo
    assert dialog.form.isRowVisible(bitrate) and bitrate.currentData() == 128
    assert _offered(bitrate) == [64, 128]  # 22050 Hz is MPEG-2: at most 160 kbps
    assert "at most 160 kbps" in bitrate.toolTip()
    _pick(dialog.rate_combo, 44100)
    assert _offered(bitrate) == [64, 128, 192, 256]
    _pick(bitrate, 256)
    assert dialog.choice().mp3_kbps == 256 and dialog.choice().sample_rate == 44100
    _pick(dialog.rate_combo, 16000)
    assert bitrate.currentData() == 128  # the most a 16 kHz MP3 carries of those offered
    _pick(dialog.format_combo, "wav")
    assert not dialog.form.isRowVisible(bitrate) and dialog.choice().mp3_kbps is None


def test_the_generate_tab_exports_what_the_dialog_chose(qtbot, workspace, tmp_path):
    jobs = JobManager()
    tab = GenerateTab(workspace, jobs, audio_output=FakeAudioOutput())
    qtbot.addWidget(tab)
    entry = generate_clip(workspace, TEXT, Preset(name="Default"), history=tab.history)
    tab.history_panel.reload()
    tab.export_folder = tmp_path
    seen = []

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        try:
            seen.append(dialog.name_edit.text())
            _pick(dialog.format_combo, "mp3")
            _pick(dialog.rate_combo, 44100)
            _pick(dialog.bitrate_combo, 192)
            dialog.buttons.button(QDialogButtonBox.Ok).click()
        finally:
            if dialog is not None and dialog.isVisible():
                dialog.reject()

    QTimer.singleShot(0, answer)
    job = tab.export_clip(entry=entry)
    try:
        assert job is not None and seen == ["hello-from-my-own-voice.wav"]  # the preset's format
        with qtbot.waitSignal(job.finished, timeout=10_000):
            pass
        written = tmp_path / "hello-from-my-own-voice.mp3"
        assert job.result == written and tab.export_folder == tmp_path
        with av.open(str(written)) as container:
            assert container.streams.audio[0].codec_context.bit_rate == 192_000
        assert soundfile.info(str(written)).samplerate == 44100
    finally:
        jobs.shutdown()
        tab.shutdown()
