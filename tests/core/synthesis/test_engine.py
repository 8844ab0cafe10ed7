"""Streaming synthesis with the real joe voice, checked by ear (tiny.en) and by clock order."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest

from tests.support.speech import transcribe, wer, words
from voicelab.core.errors import Cancelled
from voicelab.core.progress import CancelToken
from voicelab.core.synthesis.engine import (
    SynthesisOptions,
    stream_speech,
    synthesize,
    timed_synthesis,
)
from voicelab.core.synthesis.errors import TextError
from voicelab.core.synthesis.voices import default_voice, load_voice
from voicelab.core.text.normalize import normalize_text

PARAGRAPH = (
    "The old lighthouse stood on a rocky island far from the shore. "
    "Every night the keeper climbed the narrow stairs to light the lamp. "
    "Ships passing in the dark could see the bright beam across the water. "
    "One winter a terrible storm broke many windows in the village. "
    "The keeper stayed awake until morning and kept the light burning."
)


@pytest.fixture(scope="module")
def joe():
    return load_voice(default_voice())


def test_a_paragraph_is_understood_by_whisper(joe):
    speech = synthesize(joe, PARAGRAPH, SynthesisOptions(sentence_pause=0.2))
    assert len(speech.sentences) == 5
    assert speech.sample_rate == 22050
    assert 12 < speech.duration < 40
    heard = transcribe(speech.samples, speech.sample_rate)
    assert wer(PARAGRAPH, heard) < 0.10, heard


def test_normalized_numbers_and_abbreviations_are_spoken(joe):
    text = "Dr. Brown paid $3.50 for 12 apples in 1999."
    speech = synthesize(joe, text)
    heard = transcribe(speech.samples, speech.sample_rate)
    # Whisper writes numbers as digits; normalizing both sides compares the words said.
    assert wer(normalize_text(text), normalize_text(heard)) <= 0.2, heard


def test_first_sentence_arrives_before_the_rest_are_made(joe):
    events = []

    def progress(done, total, message):
        events.append(("progress", done, total, time.perf_counter()))

    start = time.perf_counter()
    for sentence in stream_speech(joe, PARAGRAPH, progress=progress):
        events.append(("audio", sentence.index, sentence.total, time.perf_counter()))
    end = time.perf_counter()

    kinds = [(kind, n) for kind, n, _, _ in events]
    # Each sentence is handed over right after it is made, before the next one starts.
    assert kinds == [("progress", 0)] + [pair for i in range(5) for pair in
                                         (("progress", i + 1), ("audio", i))]
    first_audio = next(t for kind, n, _, t in events if kind == "audio")
    assert first_audio - start < 0.5 * (end - start)


def test_cancel_between_sentences_stops_early(joe):
    token = CancelToken()
    received = []
    with pytest.raises(Cancelled):
        for sentence in stream_speech(joe, PARAGRAPH, cancel=token):
            received.append(sentence.index)
            token.cancel()
    assert received == [0]


def test_cancel_stops_inside_a_sentence(joe):
    sentence = ("This single sentence is deliberately long and slow, so that it takes a while "
                "to synthesize, and it keeps going with more and more words for quite some time.")
    slow = SynthesisOptions(speed=0.4)
    started = time.perf_counter()
    synthesize(joe, sentence, slow)
    full = time.perf_counter() - started

    token = CancelToken()
    timer = threading.Timer(full * 0.15, token.cancel)
    started = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(Cancelled):
            synthesize(joe, sentence, slow, cancel=token)
        stopped = time.perf_counter() - started
    finally:
        timer.cancel()
        timer.join()
    assert stopped < full * 0.6, (stopped, full)


def test_options_change_the_audio(joe):
    text = "Speed and volume should both be audible in the result."
    fast = synthesize(joe, text, SynthesisOptions(speed=1.5, noise_w=0.0))
    slow = synthesize(joe, text, SynthesisOptions(speed=0.75, noise_w=0.0))
    assert 1.6 < slow.duration / fast.duration < 2.4
    quiet = synthesize(joe, text, SynthesisOptions(volume=0.5))
    assert np.max(np.abs(quiet.samples)) == pytest.approx(0.5, abs=0.01)


def test_pause_between_sentences_is_silence_before_the_next(joe):
    chunks = list(stream_speech(joe, "First part. Second part.", SynthesisOptions(sentence_pause=0.5)))
    assert [c.pause_samples for c in chunks] == [0, 11025]
    assert not np.any(chunks[1].samples[:11025])
    assert np.any(chunks[1].samples[11025:])


def test_timing_reports_first_audio_and_real_time_factor(joe):
    speech, timing = timed_synthesis(joe, PARAGRAPH)
    assert 0 < timing.first_audio_s < timing.total_s
    assert timing.audio_s == pytest.approx(speech.duration)
    assert 0 < timing.real_time_factor < 1  # faster than real time even on two cores


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("  ?! ... ", "nothing to speak"),
    ("Say 你好 please", "你"),
    ("Party time 🎉", "PARTY POPPER"),
])
def test_text_errors_are_raised_before_any_audio(joe, text, message):
    with pytest.raises(TextError, match=message):
        stream_speech(joe, text)  # raised by the call itself, not by the first next()


class _VoiceWithout:
    """The joe voice with some phonemes taken out of its map, as a narrower voice would be."""

    def __init__(self, model, removed):
        self._model = model
        id_map = {k: v for k, v in model.config.phoneme_id_map.items() if k not in removed}
        self.config = dataclasses.replace(model.config, phoneme_id_map=id_map)
        self.source = model.source

    def phonemize(self, text):
        return self._model.phonemize(text)

    def phonemes_to_ids(self, phonemes):
        return self._model.phonemes_to_ids(phonemes)

    def ids_to_audio(self, ids, config, cancel=None):
        return self._model.ids_to_audio(ids, config, cancel)


def test_phonemes_missing_from_the_voice_are_named_with_their_words(joe):
    narrow = _VoiceWithout(joe, {"ð"})
    with pytest.raises(TextError, match=r"no sound for 'ð' in 'the'"):
        synthesize(narrow, "Look at the cat.")
    assert synthesize(narrow, "A cat sat.").duration > 0.3


def test_the_wer_helper_counts_word_edits():
    assert words("Don't stop-now, OK?") == ["don't", "stop", "now", "ok"]
    assert wer("the cat sat", "the cat sat") == 0
    assert wer("the cat sat", "the bat sat down") == pytest.approx(2 / 3)  # 1 sub + 1 ins
    assert wer("the cat sat", "cat") == pytest.approx(2 / 3)  # 2 deletions
    assert wer("", "") == 0 and wer("", "words") == 1
