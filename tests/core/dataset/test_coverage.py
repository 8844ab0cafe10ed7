"""Speech that reaches the clips: the 12.8 s recording that lost 8 s of speech, the second
listen to speech the recognizer skipped, and the coverage figure with its warning.

`tests/data/dropped-speech-12s.flac` is the recording from the report (joe reading eight
short sentences, peaks at 0.7), stored losslessly. Batched faster-whisper decoded it as its
first 4.7 s, every time, and the pipeline made 2 clips of it; the same sentences at a
lower level gave all 8.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.dataset_audio import SENTENCES, recording, tiny_model_path, write_recording
from tests.support.paths import DATA
from tests.support.speech import wer
from voicelab.core.audio import read_audio, resample
from voicelab.core.dataset import asr_faster
from voicelab.core.dataset.asr import ASR_RATE, ASROptions, Segment, Transcript, Word
from voicelab.core.dataset.coverage import (
    coverage_of,
    coverage_summary,
    coverage_warning,
    covered_seconds,
    listen_again,
    unheard,
)
from voicelab.core.dataset.pipeline import PipelineOptions, add_recordings
from voicelab.core.dataset.records import Source
from voicelab.core.dataset.slicing import SliceOptions, join_words
from voicelab.core.dataset.store import Dataset
from voicelab.core.dataset.vad import speech_regions

DROPPED = DATA / "dropped-speech-12s.flac"
SPOKEN = ("The cat sat on the mat. It is a sunny day today. Please open the window. We walk to "
          "the old mill. She reads a book at night. The train leaves at noon. Dogs like to run "
          "and play. Bring me the cup of tea.")


def options(**slicing) -> PipelineOptions:
    return PipelineOptions(asr=ASROptions(model_path=tiny_model_path(), language="en"),
                           slicing=SliceOptions(**slicing))


@pytest.fixture(scope="module")
def dropped16k() -> np.ndarray:
    samples, rate = read_audio(DROPPED)
    return resample(samples, rate, ASR_RATE)


def assert_all_speech_in_clips(dataset: Dataset) -> None:
    clips = dataset.clips
    assert wer(SPOKEN, " ".join(c.text for c in clips)) <= 0.15, [c.text for c in clips]
    assert clips[0].start < 0.5 and clips[-1].end > 12.4  # the last sentence ends at 12.7 s
    source = dataset.sources[0]
    assert source.voiced == pytest.approx(11.1, abs=1.0)  # 12.8 s less the pauses
    assert coverage_of(source) >= 0.95 and coverage_warning(source) is None


def test_the_recording_that_lost_eight_seconds_gives_clips_covering_its_speech(tmp_path):
    dataset = Dataset.create(tmp_path / "ds", "ds")
    report = add_recordings(dataset, [DROPPED], options())
    assert len(dataset.clips) >= 6  # 2 before: "the cat sat on the mat." and the next sentence
    assert_all_speech_in_clips(dataset)
    assert report.warnings == []


def test_speech_the_batched_decoder_skipped_is_heard_again(dropped16k, tmp_path, monkeypatch):
    """The engine's failure itself, reproduced: batched decoding (used here even for audio
    under one chunk) keeps only the first 4.7 s; the second listen hears the rest, and the
    pipeline does it on its own."""
    monkeypatch.setattr(asr_faster, "ONE_CHUNK", 0.0)
    transcriber = asr_faster.FasterWhisperTranscriber(Path(tiny_model_path()), ASROptions(language="en"))
    first = transcriber.transcribe(dropped16k)
    assert max(w.end for w in first.words) < 6.0, "batched decoding no longer skips: update the test"
    voiced = speech_regions(dropped16k)
    assert unheard(voiced, first.words) and unheard(voiced, first.words)[0][1] > 12.0

    again = listen_again(first, dropped16k, voiced, transcriber)
    starts = [w.start for w in again.words]
    assert starts == sorted(starts)
    assert wer(SPOKEN, join_words(again.words)) <= 0.15
    assert join_words(again.words).startswith(join_words(first.words))  # nothing heard twice
    assert unheard(voiced, again.words) == []

    dataset = Dataset.create(tmp_path / "ds", "ds")
    add_recordings(dataset, [DROPPED], options(), transcriber=transcriber)
    assert_all_speech_in_clips(dataset)


def test_clips_that_hold_little_of_the_speech_give_a_warning(tmp_path):
    """Sentences of ~2.5 s, 2.5 s apart, with a 4 s minimum clip length: none can be a clip
    nor join a neighbour across the pause, so the clips hold none of the speech. (1.5 s apart
    was once joined: tiny.en can stretch a sentence's last word into the pause, and joe's
    timing differs per call, so the pause left under the 1 s merge gap.)"""
    path = write_recording(tmp_path / "short.wav", recording(SENTENCES[:4], pause=2.5))
    dataset = Dataset.create(tmp_path / "ds", "ds")
    report = add_recordings(dataset, [path], options(min_seconds=4.0))
    source = dataset.sources[0]
    assert report.files_added == 1 and len(dataset.clips) == 0
    assert source.voiced > 8.0 and source.covered == 0.0
    assert report.warnings == [coverage_warning(source)]
    assert "short.wav" in report.warnings[0] and "0 %" in report.warnings[0]
    assert Dataset.open(dataset.path).sources[0].covered == 0.0  # saved with the source


def test_coverage_counts_speech_inside_clips():
    voiced = [(1.0, 3.0), (4.0, 6.0), (8.0, 9.0)]
    assert covered_seconds(voiced, [(0.5, 2.0), (2.5, 5.0)]) == pytest.approx(2.5)
    assert covered_seconds(voiced, [(0.0, 10.0), (1.0, 2.0)]) == pytest.approx(5.0)  # no double count
    assert covered_seconds(voiced, []) == 0.0


def test_unheard_speech_is_voiced_speech_no_word_is_near():
    words = [Word(" one", 1.0, 1.4), Word(" two", 1.5, 2.0)]
    voiced = [(0.9, 2.1), (2.4, 2.9), (3.3, 5.0), (7.0, 7.5)]
    # 0.9-2.1 is the two words; 2.4-2.9 lies just past their reach and 3.3-5.0 follows it
    # after a short pause (one stretch); 7.0-7.5 is too short to be worth a second listen.
    assert unheard(voiced, words) == [(2.4, 5.0)]
    assert unheard(voiced, words, shortest=3.0) == []


def test_a_word_heard_again_is_put_in_time_order(dropped16k):
    """A segment with words on both sides of a skipped stretch is split around the words
    heard in it, so the slicer reads them in order."""

    class Hears:
        def transcribe(self, samples, *, language=None, cancel=None, progress=None):
            middle = samples.shape[0] / ASR_RATE / 2
            return Transcript([Segment(" middle", middle - 0.2, middle + 0.2,
                                       [Word(" middle", middle - 0.2, middle + 0.2, 0.9)], -0.1, 0.0)],
                              "en", 1.0, samples.shape[0] / ASR_RATE)

    around = Segment(" before after", 0.0, 9.0, [Word(" before", 0.0, 0.5), Word(" after", 8.5, 9.0)])
    audio = dropped16k[: 10 * ASR_RATE]
    again = listen_again(Transcript([around], "en", 1.0, 10.0), audio, [(0.0, 9.0)], Hears())
    assert join_words(again.words) == "before middle after"
    assert [len(s.words) for s in again.segments] == [1, 1, 1]


def test_the_figure_and_warning_read_well():
    done = Source("a", "sources/a.wav", "/x/a.wav", "0", voiced=100.0, covered=97.0)
    lossy = Source("b", "sources/b.wav", "/x/b.wav", "1", voiced=12.0, covered=4.0)
    tiny = Source("c", "sources/c.wav", "/x/c.wav", "2", voiced=2.0, covered=0.5)  # 1.5 s missing
    old = Source("d", "sources/d.wav", "/x/d.wav", "3")  # processed before coverage was measured
    assert coverage_warning(done) is None and coverage_warning(tiny) is None
    assert coverage_warning(old) is None and coverage_of(old) is None
    assert coverage_warning(lossy).startswith("b.wav: its clips hold 33 % of the 12.0 s")
    assert coverage_summary([done, lossy, tiny, old]) == (
        "Speech in clips: 89 % of the 1.9 min found in the recordings")
    assert coverage_summary([old]) is None
