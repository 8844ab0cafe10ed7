"""The Generate tab plays a clip from its first sentence while the rest is synthesized.

Real synthesis (joe voice) and a recording fake output. The second sentence is held back
until the first has reached the output (or, for cancel, until the test has cancelled), so
"playback started while the job was still running" is a fact of the run, not a race.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile

from voicelab.core.synthesis import engine
from voicelab.core.synthesis.history import History
from voicelab.ui.audio_out import FakeAudioOutput
from voicelab.ui.generate_tab import GenerateTab
from voicelab.ui.workers import JobManager

TEXT = "The first sentence is short. Here comes a second one. And this is the third."
WAIT_S = 15


class WatchingOutput(FakeAudioOutput):
    """A fake output that notes, at every append, whether the generation job still ran."""

    def __init__(self) -> None:
        super().__init__(speed=1.0)
        self.tab = None
        self.running_at_append = []
        self.first_append = threading.Event()

    def append(self, samples):
        super().append(samples)
        job = self.tab.generate_job if self.tab is not None else None
        self.running_at_append.append(job is not None and job.is_running())
        self.first_append.set()


@pytest.fixture
def output():
    return WatchingOutput()


@pytest.fixture
def tab(qtbot, workspace, output):
    jobs = JobManager()
    widget = GenerateTab(workspace, jobs, audio_output=output)
    output.tab = widget
    widget.resize(1200, 760)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    jobs.shutdown()
    widget.shutdown()
    widget.close()
    widget.deleteLater()


@pytest.fixture
def sentences(monkeypatch):
    """Every sentence the engine speaks; the second waits for `sentences.release`."""

    class Gate:
        spoken = []
        release = threading.Event()

    original = engine._speak_sentence

    def gated(model, sentence, config, cancel):
        Gate.spoken.append(sentence)
        if len(Gate.spoken) == 2:
            Gate.release.wait(WAIT_S)
        return original(model, sentence, config, cancel)

    Gate.spoken = []
    monkeypatch.setattr(engine, "_speak_sentence", gated)
    return Gate


def _appends(output):
    return [frames for call, _time, frames in output.log if call == "append"]


def _calls(output):
    return [call for call, _time, _frames in output.log]


def test_playback_starts_with_the_first_sentence(tab, qtbot, output, sentences, workspace, tmp_path):
    sentences.release = output.first_append  # sentence 2 is made only once sentence 1 is heard
    tab.text_edit.setPlainText(TEXT)
    assert tab.play_live_check.isChecked()  # on by default
    job = tab.generate()

    qtbot.waitUntil(lambda: bool(_appends(output)), timeout=WAIT_S * 1000)
    assert output.running_at_append[0], "the first sentence was queued only after the job ended"
    assert tab.play_button.text() == "Stop" and tab.play_button.isEnabled()
    assert tab.waveform.sample_count == sum(_appends(output)) > 0  # it shows what is queued
    qtbot.waitUntil(lambda: (tab.waveform.cursor_position() or 0) > 0, timeout=5_000)

    with qtbot.waitSignal(job.finished, timeout=WAIT_S * 1000):
        pass
    qtbot.waitUntil(lambda: tab.generate_job is None)
    entry, samples, rate = job.result
    assert len(sentences.spoken) == 3

    # One stream, one append per sentence, finished after the last; never stopped or restarted.
    assert _calls(output) == ["play_stream", "append", "append", "append", "finish"]
    assert len(output.played) == 1
    streamed, streamed_rate = output.played[0]
    assert streamed_rate == rate == entry.sample_rate
    # What was heard is the clip the history keeps: the same samples, not merely close.
    assert np.array_equal(streamed, samples)
    stored, _ = soundfile.read(str(entry.path), dtype="float32")
    assert np.array_equal(streamed, stored)
    assert [e.id for e in History.open(workspace).list()] == [entry.id]
    # The waveform grew to the whole clip; the list shows the new clip; Export is ready.
    assert tab.waveform.sample_count == len(samples) > _appends(output)[0]
    assert tab.history_panel.selected_entry().id == entry.id
    assert tab.export_button.isEnabled()

    # An export at the clip's rate holds the streamed samples too.
    target = tmp_path / "clip.flac"
    export_job = tab.export_clip(target)
    with qtbot.waitSignal(export_job.finished, timeout=10_000):
        pass
    exported, exported_rate = soundfile.read(str(target), dtype="float32")
    assert exported_rate == rate and np.array_equal(exported, streamed)


def test_stop_silences_but_the_clip_is_still_made(tab, qtbot, output, sentences):
    sentences.release = output.first_append
    tab.text_edit.setPlainText(TEXT)
    job = tab.generate()
    qtbot.waitUntil(lambda: bool(_appends(output)), timeout=WAIT_S * 1000)
    tab.play_button.click()  # Stop
    assert tab.play_button.text() == "Play" and not output.is_playing()
    with qtbot.waitSignal(job.finished, timeout=WAIT_S * 1000):
        pass
    qtbot.waitUntil(lambda: tab.generate_job is None)
    _entry, samples, _rate = job.result

    # Nothing more reached the output after Stop, but the whole clip is shown and kept.
    assert _calls(output) == ["play_stream", "append", "stop"]
    assert tab.waveform.sample_count == len(samples)
    assert tab.play_button.text() == "Play" and tab.play_button.isEnabled()

    # Play now plays the finished clip from the start, in one go.
    tab.play_button.click()
    assert len(output.played) == 2 and np.array_equal(output.played[1][0], samples)
    assert _calls(output)[-3:] == ["play_stream", "append", "finish"]


def test_cancel_stops_synthesis_and_playback(tab, qtbot, output, sentences, workspace):
    sentences.release = threading.Event()  # sentence 2 waits for the test to cancel
    tab.text_edit.setPlainText(TEXT)
    job = tab.generate()
    qtbot.waitUntil(lambda: bool(_appends(output)), timeout=WAIT_S * 1000)
    # Sentence 1 can be heard before the worker has begun sentence 2: a Cancel in between
    # stopped it before sentence 2 (one sentence spoken; seen once in a full run).
    qtbot.waitUntil(lambda: len(sentences.spoken) == 2, timeout=WAIT_S * 1000)
    assert tab.generate_button.text() == "Cancel"
    tab.generate_button.click()
    assert _calls(output)[-1] == "stop"  # silent at once, before the job has stopped
    sentences.release.set()
    with qtbot.waitSignal(job.cancelled, timeout=WAIT_S * 1000):
        pass
    qtbot.waitUntil(lambda: tab.generate_job is None)

    # Stopped inside sentence 2: sentence 3 was never started, nothing was kept or shown.
    assert len(sentences.spoken) == 2
    assert job.outcome == "cancelled"
    assert History.open(workspace).list() == [] and tab.history_panel.list.count() == 0
    assert not tab.waveform.has_data() and not tab.play_button.isEnabled()
    assert _calls(output) == ["play_stream", "append", "stop"]
    assert tab.status_label.text() == "Generation cancelled."


def test_play_while_generating_off_plays_nothing(tab, qtbot, output, sentences):
    sentences.release.set()
    tab.play_live_check.setChecked(False)
    tab.text_edit.setPlainText(TEXT)
    job = tab.generate()
    with qtbot.waitSignal(job.finished, timeout=WAIT_S * 1000):
        pass
    qtbot.waitUntil(lambda: tab.generate_job is None)
    assert output.played == [] and output.log == []
    assert tab.waveform.sample_count == len(job.result[1])
