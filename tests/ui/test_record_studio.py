"""The recording studio driven like a person would: keys on the window, speech from the joe
voice fed into a microphone double in real-time-sized blocks (four times faster than real
time), Whisper tiny.en hearing the takes, and the dataset on disk checked after."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.support.dataset_audio import MORE_SENTENCES, RATE, SENTENCES, sentence_audio
from voicelab.core.recording.audio_in import FakeAudioInput
from voicelab.core.recording.takes import TakeFolder, prompt_key
from voicelab.ui.audio_out import FakeAudioOutput
from voicelab.ui.dataset_tab import DatasetTab
from voicelab.ui.studio.take_view import MISSED_STYLE
from voicelab.ui.workers import JobManager

# Prompts tiny.en hears word for word every time (it slips on some sentences, and a slip of
# two words would flag a take that was read right).
PROMPTS = [SENTENCES[5], MORE_SENTENCES[1], MORE_SENTENCES[2], SENTENCES[0]]
WAIT_MS = 60_000


def speech(text, gain=0.5, lead=0.5, tail=0.6):
    silence = np.zeros(int(lead * RATE), np.float32)
    return np.concatenate([silence, gain * sentence_audio(text), np.zeros(int(tail * RATE), np.float32)])


@pytest.fixture
def tab(qtbot, workspace):
    jobs = JobManager()
    widget = DatasetTab(workspace, jobs, audio_output=FakeAudioOutput())
    qtbot.addWidget(widget)
    widget.new_dataset("Anna")
    widget.audio_input = FakeAudioInput(speed=4.0)
    yield widget
    if widget.studio is not None:
        widget.studio.close()
    jobs.shutdown()


@pytest.fixture
def prompt_file(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    return path


def open_studio(tab, qtbot, prompt_file=None):
    studio = tab.open_studio()
    qtbot.waitExposed(studio)
    studio.activateWindow()
    qtbot.waitUntil(lambda: studio.isActiveWindow(), timeout=5000)
    if prompt_file is not None:
        studio.use_prompt_file(prompt_file)
    return studio


def key(qtbot, studio, which):
    qtbot.keyClick(studio, which)


def record(qtbot, studio, audio, stop=Qt.Key_Space):
    """Press R, say `audio`, press `stop`; returns the reviewed take."""
    microphone = studio.recorder.input
    if studio.mode != "recording":
        key(qtbot, studio, Qt.Key_R)
    if studio.mode == "room":  # the first take: the room check comes first, then the take
        with qtbot.waitSignal(studio.roomChecked, timeout=WAIT_MS):
            pass
    qtbot.waitUntil(lambda: studio.mode == "recording", timeout=WAIT_MS)
    microphone.feed(audio, RATE)
    qtbot.waitUntil(lambda: microphone.pending_s() == 0, timeout=WAIT_MS)
    with qtbot.waitSignal(studio.takeReviewed, timeout=WAIT_MS) as reviewed:
        key(qtbot, studio, stop)
    return reviewed.args[0]


def manifest(dataset):
    return [row.split("|", 1)[1] for row in
            (dataset.path / "metadata.csv").read_text(encoding="utf-8").splitlines()]


def test_record_keep_retake_and_a_misread_take_flagged(tab, qtbot, prompt_file, tiny_en):
    studio = open_studio(tab, qtbot, prompt_file)
    assert studio.view.counter_label.text() == "Prompt 1 of 4"
    assert PROMPTS[0] in studio.view.prompt_label.text()

    # The first R measures the room (5 s of silence), then the take starts by itself.
    key(qtbot, studio, Qt.Key_R)
    assert studio.mode == "room" and "Room check" in studio.view.status_label.text()
    with qtbot.waitSignal(studio.roomChecked, timeout=WAIT_MS) as room:
        pass
    assert room.args[0].usable and "Room noise -70 dBFS" == studio.setup.room_label.text()
    qtbot.waitUntil(lambda: studio.mode == "recording", timeout=WAIT_MS)
    readings = studio.meter.readings
    studio.recorder.input.feed(speech(PROMPTS[0]), RATE)
    qtbot.waitUntil(lambda: studio.meter.rms_db > -35, timeout=WAIT_MS)  # the meter moves
    assert studio.meter.readings > readings and "Recording" in studio.view.status_label.text()
    qtbot.waitUntil(lambda: studio.recorder.input.pending_s() == 0, timeout=WAIT_MS)
    with qtbot.waitSignal(studio.takeReviewed, timeout=WAIT_MS) as reviewed:
        key(qtbot, studio, Qt.Key_Space)
    good = reviewed.args[0]
    assert not good.refused and not good.flagged and good.words.checked
    assert "Good take" in studio.view.status_label.text() and studio.keep_button.isEnabled()
    with qtbot.waitSignal(studio.takeKept, timeout=WAIT_MS):
        key(qtbot, studio, Qt.Key_Return)
    assert studio.view.counter_label.text() == "Prompt 2 of 4"
    qtbot.waitUntil(lambda: studio.progress_label.text().startswith("1 of 4 prompts"))

    # Prompt 2, read wrong: flagged, the words not heard highlighted; Backspace retakes.
    misread = record(qtbot, studio, speech(SENTENCES[3]))
    assert misread.mismatched and not misread.refused
    assert "Take flagged" in studio.view.status_label.text()
    assert "do not match" in studio.view.status_label.text()
    assert MISSED_STYLE in studio.view.prompt_label.text()
    assert studio.view.heard_label.text().startswith("Heard:")
    key(qtbot, studio, Qt.Key_Backspace)
    assert studio.mode == "recording"
    fixed = record(qtbot, studio, speech(PROMPTS[1]))
    assert not fixed.flagged and MISSED_STYLE not in studio.view.prompt_label.text()
    with qtbot.waitSignal(studio.takeKept, timeout=WAIT_MS) as kept:
        key(qtbot, studio, Qt.Key_Enter)

    dataset = tab.dataset
    assert manifest(dataset) == PROMPTS[:2]
    clip = dataset.clip(kept.args[0])
    assert clip.text == PROMPTS[1] and not clip.edited and clip.source == prompt_key(PROMPTS[1])
    assert not list((dataset.path / "takes").iterdir())  # kept takes leave takes/
    qtbot.waitUntil(lambda: tab.model.rowCount() == 2)  # the Dataset tab shows them at once
    assert studio.progress_label.text().startswith("2 of 4 prompts")

    # P plays the take just reviewed; ← goes back to a kept prompt and plays its clip.
    key(qtbot, studio, Qt.Key_Left)
    qtbot.waitUntil(lambda: studio.player.clip is not None, timeout=WAIT_MS)
    key(qtbot, studio, Qt.Key_P)
    played, rate = studio.output.played[-1]
    assert rate == dataset.sample_rate and abs(len(played) / rate - clip.duration) < 0.05


def test_a_clipped_and_a_too_quiet_take_are_refused_and_cannot_be_kept(tab, qtbot, prompt_file):
    studio = open_studio(tab, qtbot, prompt_file)
    clipped = record(qtbot, studio, np.clip(speech(PROMPTS[0], gain=4.0), -1, 1))
    assert clipped.refused and "clipped" in clipped.check.codes()
    status = studio.view.status_label.text()
    assert "Take refused" in status and "Clipped" in status and "Turn the microphone" in status
    assert studio.meter.clip_lit  # the clip light came on while it was recorded
    assert not studio.keep_button.isEnabled()
    key(qtbot, studio, Qt.Key_Return)
    assert "cannot be kept" in studio.view.status_label.text()

    quiet = record(qtbot, studio, speech(PROMPTS[0], gain=0.01))
    assert quiet.refused and "too_quiet" in quiet.check.codes()
    assert "Too quiet" in studio.view.status_label.text()
    key(qtbot, studio, Qt.Key_Return)
    qtbot.wait(200)
    dataset = tab.dataset
    assert dataset.clips == [] and manifest(dataset) == []
    assert studio.view.counter_label.text() == "Prompt 1 of 4"  # still on the refused prompt
    # The refused take is still on disk (written when it stopped), offered again next time.
    assert TakeFolder(dataset).pending(PROMPTS[0]) is not None


def test_a_window_closed_mid_take_loses_only_that_take_and_reopening_goes_on(tab, qtbot, prompt_file):
    studio = open_studio(tab, qtbot, prompt_file)
    first = record(qtbot, studio, speech(PROMPTS[0]))
    assert not first.refused
    with qtbot.waitSignal(studio.takeKept, timeout=WAIT_MS):
        key(qtbot, studio, Qt.Key_Return)
    key(qtbot, studio, Qt.Key_R)
    assert studio.mode == "recording"
    studio.recorder.input.feed(speech(PROMPTS[1]), RATE)
    takes = tab.dataset.path / "takes"
    qtbot.waitUntil(lambda: bool(list(takes.glob(".*.tmp"))), timeout=WAIT_MS)
    studio.close()
    assert not studio.recorder.is_open and not studio.recorder.input.is_running()
    qtbot.waitUntil(lambda: not list(takes.iterdir()), timeout=WAIT_MS)  # the partial is gone
    assert manifest(tab.dataset) == PROMPTS[:1]

    again = open_studio(tab, qtbot)
    assert again.prompts.prompts == tuple(PROMPTS)  # the dataset keeps its own prompt file
    assert again.view.counter_label.text() == "Prompt 2 of 4"
    key(qtbot, again, Qt.Key_R)
    assert again.mode == "recording"  # the room was measured in the first session
    second = record(qtbot, again, speech(PROMPTS[1]))
    assert not second.refused


def test_without_a_microphone_the_studio_says_why_and_stays_usable(tab, qtbot, prompt_file, workspace):
    studio = open_studio(tab, qtbot, prompt_file)
    record(qtbot, studio, speech(PROMPTS[0]))
    with qtbot.waitSignal(studio.takeKept, timeout=WAIT_MS):
        key(qtbot, studio, Qt.Key_Return)
    studio.close()

    tab.audio_input = FakeAudioInput(available=False, unavailable_reason=(
        "Recording is unavailable: no microphone or other input device was found."))
    studio = open_studio(tab, qtbot)
    banner = studio.banner.text()
    assert studio.banner.isVisible() and "no microphone" in banner and "You can still" in banner
    assert not studio.record_button.isEnabled() and not studio.setup.test_button.isEnabled()
    assert studio.meter.paintEvent is not None and not studio.recorder.is_open
    assert studio.view.counter_label.text() == "Prompt 2 of 4"
    key(qtbot, studio, Qt.Key_R)
    assert studio.mode == "idle" and "no microphone" in studio.view.status_label.text()
    key(qtbot, studio, Qt.Key_Right)
    assert studio.view.counter_label.text() == "Prompt 3 of 4"
    key(qtbot, studio, Qt.Key_Left)
    key(qtbot, studio, Qt.Key_Left)
    assert studio.view.counter_label.text().startswith("Prompt 1 of 4 · kept")
    qtbot.waitUntil(lambda: studio.player.clip is not None, timeout=WAIT_MS)
    key(qtbot, studio, Qt.Key_P)
    assert studio.output.played and len(studio.output.played[-1][0]) > RATE


def test_a_test_recording_plays_back_and_is_not_kept(tab, qtbot):
    studio = open_studio(tab, qtbot)
    assert studio.prompts.id == "en" and len(studio.prompts) >= 300
    key(qtbot, studio, Qt.Key_T)
    assert studio.mode == "test"
    studio.recorder.input.feed(speech(SENTENCES[1]), RATE)
    qtbot.waitUntil(lambda: studio.recorder.input.pending_s() == 0, timeout=WAIT_MS)
    with qtbot.waitSignal(studio.testReviewed, timeout=WAIT_MS) as tested:
        key(qtbot, studio, Qt.Key_T)
    result = tested.args[0]
    assert "Test recording" in studio.view.status_label.text() and "Playing it back" in \
        studio.view.status_label.text()
    played, rate = studio.output.played[-1]
    assert rate == result.rate and len(played) == len(result.samples)
    assert tab.dataset.clips == [] and not list((tab.dataset.path / "takes").iterdir())

    studio.use_prompt_set("de")  # another language's set; the dataset remembers the choice
    assert studio.view.counter_label.text() == f"Prompt 1 of {len(studio.prompts)}"
    assert studio.prompts.language == "de" and TakeFolder(tab.dataset).prompt_set().id == "de"
    assert studio.setup.prompts_combo.currentData() == "de"


def test_a_microphone_that_stops_mid_take_is_reported_and_the_take_dropped(tab, qtbot):
    studio = open_studio(tab, qtbot)
    studio.folder.save_settings(room_noise_db=-70.0)  # measured before: R records at once
    key(qtbot, studio, Qt.Key_R)
    assert studio.mode == "recording"
    studio.recorder.input.stop()  # unplugged
    qtbot.waitUntil(lambda: studio.mode == "idle", timeout=WAIT_MS)
    assert "stopped sending audio" in studio.banner.text() and studio.banner.isVisible()
    assert not studio.record_button.isEnabled() and studio.setup.device_combo.isEnabled()
    assert not list((tab.dataset.path / "takes").glob("*.wav"))
    studio.choose_input(0, 48000)  # chosen again: recording works again
    assert studio.recorder.is_open and studio.record_button.isEnabled()
