"""Review by confidence in the Dataset tab: each clip's own figure, sorted by a header click,
its doubtful words highlighted in the text, and how much of the speech is in clips."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor

from voicelab.core.dataset.records import NewClip
from voicelab.core.dataset.store import Dataset, dataset_folder
from voicelab.ui.audio_out import FakeAudioOutput
from voicelab.ui.dataset_tab import DatasetTab
from voicelab.ui.widgets.clip_table import (
    CONFIDENCE,
    DOUBTFUL_COLOR,
    ID,
    MARKED_ROLE,
    TEXT,
    DoubtfulWordsDelegate,
)
from voicelab.ui.workers import JobManager

RATE = 22050
#: (text, each word's probability): the second clip has two doubtful words, one repeated.
CLIPS = [
    ("The lighthouse stood alone.", (0.95, 0.9, 0.92, 0.97)),
    ("The keeper the stairs climbed.", (0.9, 0.31, 0.88, 0.2, 0.93)),
    ("A lamp and a book.", (0.8, 0.7, 0.9, 0.85, 0.75)),
]


def word_rows(text, probabilities, start):
    return [[word, round(start + 0.4 * i, 3), round(start + 0.4 * i + 0.3, 3), p]
            for i, (word, p) in enumerate(zip(text.split(), probabilities))]


@pytest.fixture
def dataset(workspace, tmp_path):
    ds = Dataset.create(dataset_folder(workspace, "Joe"), "Joe")
    audio = (0.3 * np.sin(2 * np.pi * 200 * np.arange(RATE * 10) / RATE)).astype(np.float32)
    original = tmp_path / "take.wav"
    soundfile.write(original, audio, RATE)
    source, _ = ds.add_source(original)
    ds.write_work_audio(source, audio)
    cuts = [NewClip(3.0 * i + 0.2, 3.0 * i + 2.6, text, word_rows(text, p, 3.0 * i + 0.3),
                    avg_logprob=float(np.mean(np.log(p))), no_speech_prob=0.0)
            for i, (text, p) in enumerate(CLIPS)]
    ds.replace_source_clips(source.id, cuts, state="done", facts={"voiced": 12.0, "covered": 4.0})
    return ds


@pytest.fixture
def tab(qtbot, workspace, dataset):
    jobs = JobManager()
    widget = DatasetTab(workspace, jobs, audio_output=FakeAudioOutput())
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    yield widget
    jobs.shutdown()


def test_each_clip_shows_its_own_confidence_and_sorts_by_it(tab, qtbot):
    shown = [tab.proxy.index(row, CONFIDENCE).data() for row in range(3)]
    expected = [math.exp(np.mean(np.log(p))) for _, p in CLIPS]
    assert shown == [f"{value * 100:.0f} %" for value in expected]
    assert "low confidence" in tab.proxy.index(1, 4).data()  # 59 %: flagged for review
    header = tab.table.horizontalHeader()
    middle = QPoint(header.sectionViewportPosition(CONFIDENCE) + header.sectionSize(CONFIDENCE) // 2,
                    header.height() // 2)
    by_id = {tab.model.clip_at(i).id: expected[i] for i in range(3)}
    seen = []
    for _ in range(2):  # a click sorts by confidence, a second click the other way round
        qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=middle)
        seen.append([by_id[tab.proxy.index(row, ID).data()] for row in range(3)])
    assert sorted([seen[0], seen[1]]) == [sorted(expected), sorted(expected, reverse=True)]


def test_doubtful_words_are_highlighted_in_the_text(tab, qtbot):
    row = tab.model.row_of(tab.dataset.clips[1].id)
    marked = tab.model.index(row, TEXT).data(MARKED_ROLE)
    mark = f'<span style="background-color:{DOUBTFUL_COLOR}">'
    assert marked == f"The {mark}keeper</span> the {mark}stairs</span> climbed."  # not the other "the"
    assert tab.model.index(tab.model.row_of(tab.dataset.clips[0].id), TEXT).data(MARKED_ROLE) is None
    tip = tab.model.index(row, TEXT).data(Qt.ToolTipRole)
    assert tip == "Whisper was least sure of: “stairs” 20 %, “keeper” 31 %"
    assert isinstance(tab.table.itemDelegateForColumn(TEXT), DoubtfulWordsDelegate)

    # What the user sees: the highlight colour in the second row's text cell, in no other.
    def highlighted(clip_row: int) -> bool:
        proxy_row = tab.proxy.mapFromSource(tab.model.index(clip_row, TEXT)).row()
        rect = tab.table.visualRect(tab.proxy.index(proxy_row, TEXT))
        image = tab.table.viewport().grab(rect).toImage()
        want = QColor(DOUBTFUL_COLOR).rgb()
        return any(image.pixel(x, y) == want for x in range(image.width()) for y in range(image.height()))

    qtbot.waitExposed(tab.table)
    assert highlighted(row)
    assert not highlighted(tab.model.row_of(tab.dataset.clips[0].id))

    # An edited text keeps the marks of the words it still has.
    assert tab.proxy.setData(tab.proxy.mapFromSource(tab.model.index(row, TEXT)), "The keeper climbed.")
    assert tab.model.index(row, TEXT).data(MARKED_ROLE) == f"The {mark}keeper</span> climbed."


def test_the_summary_says_how_much_speech_is_in_clips(tab):
    text = tab.summary_label.text()
    assert "Speech in clips: 33 % of the 12.0 s found in the recordings" in text
    assert "take.wav: its clips hold 33 % of the 12.0 s of speech" in text
