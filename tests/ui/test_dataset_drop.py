"""Drop real recordings on the Dataset tab: clips arrive from tiny.en, the window stays
responsive, an inline edit lands in the manifest, and Cancel keeps what was done."""

from __future__ import annotations

import gc
import time

import pytest
from PySide6.QtCore import Qt, QTimer

from tests.support.dataset_audio import SENTENCES, recording, write_recording
from tests.support.drops import drop, name_the_dataset
from tests.support.speech import wer
from voicelab.ui.audio_out import FakeAudioOutput
from voicelab.ui.dataset_tab import DatasetTab
from voicelab.ui.widgets.clip_table import TEXT
from voicelab.ui.workers import JobManager

pytestmark = pytest.mark.slow


@pytest.fixture
def tab(qtbot, workspace, tiny_en):
    # As the app does once its window is up (voicelab.ui.app): what is loaded so far stays
    # out of the garbage collector's full passes. Without it, the hundreds of thousands of
    # objects earlier tests left in this process make each full pass stall for 200-350 ms.
    gc.collect()
    gc.freeze()
    jobs = JobManager()
    widget = DatasetTab(workspace, jobs, audio_output=FakeAudioOutput())
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    yield widget
    jobs.shutdown()
    gc.unfreeze()


class StallMeter:
    """The longest gap between ticks of a 10 ms UI timer: how long the event loop froze."""

    def __init__(self, describe=lambda: ""):
        self.worst = 0.0
        self.where = ""
        self._describe = describe
        self._last = time.perf_counter()
        self.timer = QTimer(interval=10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self):
        now = time.perf_counter()
        if now - self._last > self.worst:
            self.worst, self.where = now - self._last, self._describe()
        self._last = now


def test_drop_transcribe_edit_and_stay_responsive(tab, tmp_path, qtbot):
    folder = tmp_path / "recordings"
    write_recording(folder / "first.flac", recording(SENTENCES[:3]), rate=44100, channels=2)
    write_recording(folder / "second.mp3", recording(SENTENCES[3:]), rate=22050)
    (folder / "notes.txt").write_text("not audio: skipped quietly, a folder may hold notes")
    (folder / "broken.wav").write_bytes(b"RIFF and then nothing useful")

    assert drop(tab, [folder])
    name_the_dataset(qtbot, tab)  # the folder's name, proposed
    assert tab.job is not None and tab.panel.running_row.isVisibleTo(tab)
    job = tab.job
    meter = StallMeter(lambda: job.message)
    with qtbot.waitSignal(tab.job.ended, timeout=120_000):
        pass
    meter.timer.stop()
    dataset = tab.dataset
    assert dataset.name == "recordings" and tab.dataset_combo.currentText() == "recordings"
    heard = " ".join(c.text for c in dataset.clips)
    # tiny.en's int8 output depends on the CPU's instruction set: WER 0.06 on one machine,
    # 0.15 on CI's ("Lyacow" for "lighthouse"). A broken drop (a lost file or clip, a wrong
    # rate or channel mix) loses whole sentences or turns them to noise, so the bound is on
    # words lost as well as on words misheard.
    assert wer(" ".join(SENTENCES), heard) < 0.3, heard
    assert abs(len(heard.split()) - len(" ".join(SENTENCES).split())) <= 3, heard
    assert tab.model.rowCount() == len(dataset.clips) >= 4
    assert "broken.wav" in tab.banner.text()  # the bad file is named, the rest went on
    # a frozen window, not a target (a busy machine alone delays a timer by tens of ms)
    assert meter.worst < 1.0, f"the window froze for {meter.worst * 1000:.0f} ms ({meter.where!r})"
    print(f"worst UI stall while transcribing: {meter.worst * 1000:.1f} ms")

    tab.proxy.setData(tab.proxy.index(0, TEXT), "The old lighthouse stood alone on the rocky shore!")
    rows = (dataset.path / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == f"{dataset.clips[0].id}|The old lighthouse stood alone on the rocky shore!"


def test_cancel_keeps_finished_recordings_and_resumes(tab, tmp_path, qtbot):
    folder = tmp_path / "takes"
    for index in range(3):
        write_recording(folder / f"take{index}.wav", recording(SENTENCES[2 * index: 2 * index + 2]))
    tab.add_paths([folder])
    job = name_the_dataset(qtbot, tab)
    def first_done():
        return any(s.state == "done" for s in tab.dataset.sources)

    qtbot.waitUntil(first_done, timeout=60_000)
    tab.cancel_job()
    started = time.perf_counter()
    with qtbot.waitSignal(job.ended, timeout=10_000):
        pass
    assert time.perf_counter() - started < 3.0
    assert "Cancelled" in tab.banner.text()
    kept = {c.id for c in tab.dataset.clips}

    resumed = tab.add_paths([folder])  # the same folder again: only what is unfinished
    with qtbot.waitSignal(resumed.ended, timeout=120_000):
        pass
    assert all(s.state == "done" for s in tab.dataset.sources) and len(tab.dataset.sources) == 3
    ids = [c.id for c in tab.dataset.clips]
    assert len(ids) == len(set(ids)) and kept <= set(ids)
    assert not tab.panel.process_button.isVisibleTo(tab)


def test_retranscribe_export_import_and_window_drop(tab, tmp_path, qtbot, workspace):
    folder = tmp_path / "one"
    write_recording(folder / "one.wav", recording(SENTENCES[:2]))
    tab.add_paths([folder])
    with qtbot.waitSignal(name_the_dataset(qtbot, tab).ended, timeout=60_000):
        pass
    dataset = tab.dataset
    first = dataset.clips[0]
    tab.proxy.setData(tab.proxy.index(0, TEXT), "something else entirely")
    tab.select_clip(first.id)
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key_R)
    assert tab.job is not None
    with qtbot.waitSignal(tab.job.ended, timeout=60_000):
        pass
    # tiny.en on a 3 s clip varies with the CPU ("black house did" for "lighthouse stood"
    # on one machine); the point is that Whisper's words replaced the typed ones.
    assert wer(SENTENCES[0], dataset.clip(first.id).text) < 0.5
    tab.editor.stack.undo()
    assert dataset.clip(first.id).text == "something else entirely"

    with qtbot.waitSignal(tab.export_to(tmp_path / "export").finished, timeout=30_000):
        pass
    rows = (tmp_path / "export" / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == len(dataset.clips) and (tmp_path / "export" / "wavs").is_dir()
    with qtbot.waitSignal(tab.import_from(tmp_path / "export").finished, timeout=30_000):
        pass
    assert tab.dataset.name == "export" and len(tab.dataset.clips) == len(rows)

    from voicelab.ui.main_window import MainWindow

    window = MainWindow(workspace, audio_output=FakeAudioOutput())
    try:
        window.tabs.setCurrentWidget(window.generate_tab)
        assert drop(window, [folder / "one.wav"])
        assert window.tabs.currentWidget() is window.dataset_tab and window.dataset_tab.job is not None
        with qtbot.waitSignal(window.dataset_tab.job.ended, timeout=60_000):
            pass
    finally:
        window.jobs.shutdown()
        window.close()
