"""Per-clip confidence that finds the clips with wrong words.

Twenty-four sentences joe reads, one clip each, through the real pipeline with tiny.en. Five
of them are damaged the way real takes are (a burst of noise over part of it, or a stretch
played backwards, as a cough or a glitch would garble it), and tiny.en mishears some clean
ones by itself, so about a third of the clips come back with word errors, as in the walk
that found the old Confidence column useless (one figure per 30 s window, copied onto
every clip in it). The test measures how many clips with errors land in the flagged set.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.dataset_audio import (
    MORE_SENTENCES,
    RATE,
    SENTENCES,
    sentence_audio,
    tiny_model_path,
    write_recording,
)
from tests.support.speech import wer
from voicelab.core.dataset.asr import ASROptions
from voicelab.core.dataset.flags import DOUBTFUL_WORD, doubtful_words
from voicelab.core.dataset.pipeline import PipelineOptions, add_recordings
from voicelab.core.dataset.store import Dataset

EXTRA = (
    "The farmer counted his sheep at the end of the day.",
    "My sister painted the fence a bright shade of blue.",
    "We watched the sunset from the top of the hill.",
    "The library closes early on Sunday afternoons.",
    "He forgot his umbrella on the crowded train.",
    "Fresh bread smells wonderful in the morning.",
    "The museum has a large collection of old maps.",
    "Please send the letter before the post office closes.",
    "The river flooded the fields after the storm.",
    "Our neighbor plays the piano every evening.",
    "A small boat drifted slowly toward the island.",
    "The teacher wrote three words on the board.",
)
SPOKEN = SENTENCES + MORE_SENTENCES + EXTRA
DAMAGED = range(2, len(SPOKEN), 5)  # every fifth sentence, from the third


def damaged(audio: np.ndarray, index: int, rng: np.random.Generator) -> np.ndarray:
    audio = audio.copy()
    start = int(len(audio) * rng.uniform(0.25, 0.55))
    end = start + len(audio) // 5
    if index % 2:
        noise = rng.standard_normal(end - start).astype(np.float32) * 0.12
        audio[start:end] = audio[start:end] * 0.1 + noise
    else:
        audio[start:end] = audio[start:end][::-1].copy()
    return audio


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """(clip, the sentence it holds, its word error rate) for every sentence's clip.

    The pause between sentences is longer than a clip may bridge, so each sentence is one
    clip; should the slicer split one (a long gap the damage made), its clip is the part
    holding most of the sentence and the sentence counts as having errors."""
    rng = np.random.default_rng(7)
    lead, pause = 0.5, 1.2
    pieces, spans, at = [np.zeros(int(lead * RATE), np.float32)], [], lead
    for index, sentence in enumerate(SPOKEN):
        audio = sentence_audio(sentence)
        pieces += [damaged(audio, index, rng) if index in DAMAGED else audio,
                   np.zeros(int(pause * RATE), np.float32)]
        spans.append((at, at + len(audio) / RATE))
        at += len(audio) / RATE + pause
    folder = tmp_path_factory.mktemp("confidence")
    path = write_recording(folder / "takes.wav", np.concatenate(pieces))
    dataset = Dataset.create(folder / "ds", "ds")
    add_recordings(dataset, [path], PipelineOptions(asr=ASROptions(model_path=tiny_model_path(),
                                                                   language="en")))
    found = []
    for sentence, (start, end) in zip(SPOKEN, spans):
        inside = [c for c in dataset.clips if c.start < end and c.end > start]
        assert inside, f"no clip holds {sentence!r}"
        clip = max(inside, key=lambda c: min(c.end, end) - max(c.start, start))
        heard = " ".join(c.text for c in inside)
        found.append((clip, sentence, wer(sentence, heard)))
    assert len({id(clip) for clip, _, _ in found}) == len(SPOKEN), "a clip holds two sentences"
    return found


def test_clips_with_word_errors_land_in_the_flagged_set(reviewed):
    wrong = [clip for clip, _, error in reviewed if error > 0]
    right = [clip for clip, _, error in reviewed if error == 0]
    flagged = [clip for clip, _, _ in reviewed if "low_confidence" in clip.flags]
    caught = [clip for clip in wrong if "low_confidence" in clip.flags]
    false_alarms = len(flagged) - len(caught)
    print(f"\n{len(wrong)} of {len(reviewed)} clips have word errors; {len(flagged)} flagged "
          f"for low confidence; {len(caught)} of the {len(wrong)} with errors among them "
          f"({len(caught) / max(1, len(wrong)) * 100:.0f} %), {false_alarms} flagged clips "
          "without errors")
    assert len(wrong) >= 4, "tiny.en heard almost everything: the damage is too mild to measure"
    assert len(caught) >= 0.4 * len(wrong)  # 50-89 % in ten runs; 69 % of 39 over 96 clips
    # A flag that marks everything finds nothing. 5 sentences are damaged on purpose, tiny.en
    # mishears more (6-12 clips with errors over ten runs, as joe's noise differs per call),
    # and one full run flagged 15: 9 of its 10 clips with errors, 6 without.
    assert len(flagged) <= 0.75 * len(reviewed)
    error_rate_flagged = len(caught) / max(1, len(flagged))
    error_rate_rest = (len(wrong) - len(caught)) / max(1, len(reviewed) - len(flagged))
    # A flag at random gives 1.0; ten runs of this test gave 1.7 (7 of 11 flagged had
    # errors, 5 of 13 unflagged) to 9 and more, as joe's noise moves the damage each call.
    assert error_rate_flagged >= 1.5 * error_rate_rest
    # The clips are each their own: not one figure copied over a transcription window.
    assert len({clip.confidence for clip, _, _ in reviewed}) >= len(reviewed) - 2
    assert np.mean([c.confidence for c in wrong]) < np.mean([c.confidence for c in right])


def test_the_doubtful_words_are_kept_for_review(reviewed):
    for clip, _, _ in reviewed:
        assert clip.words and all(len(row) == 4 and 0.0 <= row[3] <= 1.0 for row in clip.words)
        doubtful = doubtful_words(clip)
        assert [clip.words[i][0] for i, _, _ in doubtful] == [text for _, text, _ in doubtful]
        assert all(p < DOUBTFUL_WORD for _, _, p in doubtful)
        # The confidence is the words' geometric mean, less the no-speech chance.
        mean = float(np.exp(np.mean(np.log(np.maximum([row[3] for row in clip.words], 1e-6)))))
        assert clip.confidence == pytest.approx(mean * (1 - (clip.no_speech_prob or 0.0)), abs=0.01)
    # joe samples new noise on every call, so which words of the 4-5 damaged clips Whisper
    # doubts changes from run to run (1 of 4 in one full run of three here). What the review
    # needs holds in every run: a damaged clip that came back wrong catches the eye, by its
    # highlighted doubtful words or by its low-confidence flag, and some show doubtful words.
    damaged_clips = [clip for index, (clip, _, error) in enumerate(reviewed) if index in DAMAGED and error > 0]
    noticed = [clip for clip in damaged_clips if doubtful_words(clip) or "low_confidence" in clip.flags]
    assert len(noticed) >= len(damaged_clips) // 2
    assert not damaged_clips or any(doubtful_words(clip) for clip in damaged_clips)
