"""Where recordings are cut: synthetic word lists (and tone "words"), no Whisper needed."""

from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
import pytest

from tests.support.dataset_audio import tone_words
from voicelab.core.dataset.asr import Segment, Transcript, Word
from voicelab.core.dataset.boundaries import QuietMap
from voicelab.core.dataset.slicing import (
    Cut,
    SliceOptions,
    is_sentence_end,
    join_words,
    slice_regions,
    slice_transcript,
)

OPTIONS = SliceOptions()


def words_for(text: str, start: float = 0.5, length: float = 0.3, gap: float = 0.05,
              pauses: dict[int, float] | None = None) -> list[Word]:
    """One Word per token of `text`, `length` long, `gap` apart; `pauses[i]` after word i."""
    found, at = [], start
    for index, token in enumerate(text.split()):
        found.append(Word(" " + token, round(at, 3), round(at + length, 3)))
        at += length + (pauses or {}).get(index, gap)
    return found


def transcript_of(words: list[Word], duration: float | None = None, **segment) -> Transcript:
    end = words[-1].end if words else 0.0
    segments = [Segment("".join(w.text for w in words), words[0].start if words else 0, end,
                        list(words), segment.get("avg_logprob", -0.2),
                        segment.get("no_speech_prob", 0.01))]
    return Transcript(segments, "en", 1.0, duration if duration is not None else end + 1.0)


def check_invariants(cuts: list[Cut], words: list[Word], options: SliceOptions = OPTIONS,
                     duration: float | None = None) -> None:
    """What must hold for any slicing: lengths, order, no overlap, no word cut in two."""
    previous_end = 0.0
    for cut in cuts:
        assert options.min_seconds - 1e-6 <= cut.duration <= options.max_seconds + 1e-6, cut
        assert cut.start >= previous_end - 1e-6, "clips overlap"
        assert cut.start >= 0 and (duration is None or cut.end <= duration + 1e-6)
        previous_end = cut.end
        for word in words:  # every word is wholly inside or wholly outside
            inside = cut.start - 1e-6 <= word.start and word.end <= cut.end + 1e-6
            outside = word.end <= cut.start + 1e-6 or word.start >= cut.end - 1e-6
            assert inside or outside, f"{word} is cut by {cut.start:.3f}–{cut.end:.3f}"
        for word in cut.words:
            assert cut.start - 1e-6 <= word.start and word.end <= cut.end + 1e-6


# --------------------------------------------------------------------------- sentences and pauses


def test_cuts_at_sentence_ends_with_padding():
    words = words_for("The cat sat on the mat today. It was very happy there again.",
                      pauses={6: 0.8})
    cuts = slice_transcript(transcript_of(words))
    assert [c.text for c in cuts] == ["The cat sat on the mat today.",
                                      "It was very happy there again."]
    assert cuts[0].start == pytest.approx(words[0].start - OPTIONS.padding)
    assert cuts[0].end == pytest.approx(words[6].end + OPTIONS.padding)
    assert cuts[1].start == pytest.approx(words[7].start - OPTIONS.padding)
    check_invariants(cuts, words)


def test_sentence_end_with_a_short_gap_never_overlaps_the_neighbours_words():
    words = words_for("One two three four five. Six seven eight nine ten.", gap=0.06)
    cuts = slice_transcript(transcript_of(words))
    assert len(cuts) == 2
    assert cuts[0].end <= words[5].start + 1e-6
    assert cuts[1].start >= words[4].end - 1e-6
    assert cuts[0].end <= cuts[1].start + 1e-6
    check_invariants(cuts, words)


def test_a_long_pause_ends_a_clip_even_mid_sentence():
    words = words_for("we walked along the shore and then we rested near the rocks",
                      pauses={5: 0.7})
    cuts = slice_transcript(transcript_of(words))
    assert [c.text for c in cuts] == ["we walked along the shore and",
                                      "then we rested near the rocks"]


def test_abbreviations_and_initials_do_not_end_sentences():
    words = words_for("Dr. Smith met Mrs. Jones in the U.S. last year. They talked for a long while.",
                      pauses={9: 0.6})
    cuts = slice_transcript(transcript_of(words))
    assert cuts[0].text == "Dr. Smith met Mrs. Jones in the U.S. last year."


@pytest.mark.parametrize("word, ends", [
    ("day.", True), ("really?", True), ("stop!", True), ("so…", True), ('said."', True),
    ("word", False), ("Dr.", False), ("e.g.", False), ("U.S.", False), ("well,", False),
    ("終わり。", True),
])
def test_is_sentence_end(word, ends):
    assert is_sentence_end(word) is ends


# --------------------------------------------------------------------------- too long


def test_run_on_stretch_is_split_at_its_widest_gaps():
    # 40 words, 0.35 s each: ~16 s without a sentence end; the widest gaps are after words
    # 13 (0.35 s) and 27 (0.4 s), both under the 0.5 s pause that would split anyway.
    text = " ".join(f"w{i}" for i in range(40))
    words = words_for(text, pauses={13: 0.35, 27: 0.4, 5: 0.2, 33: 0.25})
    cuts = slice_transcript(transcript_of(words))
    check_invariants(cuts, words)
    firsts = [c.words[0].text.strip() for c in cuts]
    assert "w28" in firsts  # the widest gap is used first
    assert all(c.duration <= OPTIONS.max_seconds for c in cuts)
    assert sum(len(c.words) for c in cuts) == 40  # nothing lost


def test_uniform_run_on_is_split_into_balanced_pieces():
    words = words_for(" ".join(f"w{i}" for i in range(80)))  # ~28 s, no gaps to prefer
    cuts = slice_transcript(transcript_of(words))
    check_invariants(cuts, words)
    assert len(cuts) >= 3
    assert sum(len(c.words) for c in cuts) == 80
    assert min(c.duration for c in cuts) > 3.0  # balanced, not a 12 s clip plus scraps


def test_split_prefers_a_comma_among_equal_gaps():
    text = " ".join(f"w{i}" for i in range(20)) + ", " + " ".join(f"v{i}" for i in range(20))
    words = words_for(text.replace(" ,", ","))
    cuts = slice_transcript(transcript_of(words), options=SliceOptions(max_seconds=10))
    assert cuts[0].text.endswith("w19,")


def test_a_word_longer_than_the_maximum_is_dropped():
    words = [Word(" Hello", 0.5, 1.0), Word(" there.", 1.05, 1.6),
             Word(" Aaaaah", 3.0, 17.0), Word(" Fine", 18.0, 18.4), Word(" then.", 18.45, 19.2)]
    cuts = slice_transcript(transcript_of(words, duration=20.0))
    assert [c.text for c in cuts] == ["Hello there.", "Fine then."]
    check_invariants(cuts, words)


# --------------------------------------------------------------------------- too short


def test_a_short_sentence_joins_the_closer_neighbour():
    words = (words_for("This is the first sentence here.", start=0.5)
             + words_for("Yes.", start=2.75)
             + words_for("And this is the last one now.", start=4.2))
    cuts = slice_transcript(transcript_of(words))
    assert [c.text for c in cuts] == ["This is the first sentence here. Yes.",
                                      "And this is the last one now."]
    check_invariants(cuts, words)


def test_a_short_utterance_alone_in_silence_is_dropped():
    words = (words_for("This is the first sentence here.", start=0.5)
             + words_for("Yes.", start=5.0)
             + words_for("And this is the last one now.", start=9.0))
    cuts = slice_transcript(transcript_of(words, duration=12.0))
    assert [c.text for c in cuts] == ["This is the first sentence here.",
                                      "And this is the last one now."]


def test_short_pieces_never_merge_past_the_maximum():
    words = []
    at = 0.3
    for n in range(12):  # twelve 0.9 s sentences, 0.3 s apart: merged in pairs or more
        words += words_for(f"Word{n} ok.", start=at, length=0.4, gap=0.1)
        at += 1.2
    cuts = slice_transcript(transcript_of(words), options=SliceOptions(max_seconds=3.0))
    check_invariants(cuts, words, SliceOptions(max_seconds=3.0))
    assert sum(len(c.words) for c in cuts) == len(words)


def test_custom_minimum_and_maximum():
    words = words_for(" ".join(f"w{i}" for i in range(30)))  # ~10.5 s
    options = SliceOptions(min_seconds=2.0, max_seconds=4.0)
    cuts = slice_transcript(transcript_of(words), options=options)
    check_invariants(cuts, words, options)
    assert len(cuts) >= 3


# --------------------------------------------------------------------------- edges


def test_empty_transcript_gives_no_cuts():
    assert slice_transcript(Transcript([], "en", 1.0, 10.0)) == []
    assert slice_transcript(Transcript([Segment("", 0, 0, [])], "en", 1.0, 10.0)) == []


def test_bounds_stay_inside_the_audio():
    words = words_for("Right from the start to the very end.", start=0.0, length=0.35)
    duration = words[-1].end + 0.02
    cuts = slice_transcript(transcript_of(words, duration=duration))
    assert len(cuts) == 1
    assert cuts[0].start == 0.0
    assert cuts[0].end == pytest.approx(duration)


def test_overlapping_and_backwards_word_times_are_tidied():
    words = [Word(" one", 0.5, 0.9), Word(" two", 0.8, 1.2), Word(" three", 1.3, 1.1),
             Word(" four.", 1.4, 1.9)]
    cuts = slice_transcript(transcript_of(words))
    assert len(cuts) == 1 and cuts[0].text == "one two three four."
    times = [(w.start, w.end) for w in cuts[0].words]
    assert all(a <= b for a, b in times)
    assert all(times[i][1] <= times[i + 1][0] + 1e-9 for i in range(len(times) - 1))


def test_each_clip_gets_the_confidence_of_its_own_words():
    """One decoded segment (a batched 30 s chunk) cut into two clips: each clip's log-prob
    is the mean of its own words' log-probabilities, not the segment's figure, so the clip
    with the doubtful word stands out; no-speech is the worst of the segments it came from."""
    sure = [dataclasses.replace(w, probability=0.9) for w in words_for("Alpha beta gamma.", start=0.5)]
    unsure = [dataclasses.replace(w, probability=p) for w, p in
              zip(words_for("Delta epsilon zeta.", start=sure[-1].end + 0.8), (0.9, 0.1, 0.9))]
    second = Segment("b", 3.0, 5.0, words_for("Eta theta iota.", start=unsure[-1].end + 0.8), -0.6, 0.4)
    segments = [Segment("a", 0.5, 3.0, sure + unsure, -0.2, 0.1), second]
    cuts = slice_transcript(Transcript(segments, "en", 1.0, 8.0))
    assert [c.text for c in cuts] == ["Alpha beta gamma.", "Delta epsilon zeta.", "Eta theta iota."]
    assert cuts[0].avg_logprob == pytest.approx(math.log(0.9), abs=1e-4)
    assert cuts[1].avg_logprob == pytest.approx((2 * math.log(0.9) + math.log(0.1)) / 3, abs=1e-4)
    assert cuts[2].avg_logprob == pytest.approx(0.0)  # words without probabilities count as sure
    assert [c.no_speech_prob for c in cuts] == [pytest.approx(0.1), pytest.approx(0.1), pytest.approx(0.4)]
    assert cuts[0].language == "en"
    assert [w.probability for w in cuts[1].words] == [0.9, 0.1, 0.9]  # kept for review


def test_a_window_cut_moves_into_its_recording():
    cut = slice_transcript(transcript_of(words_for("One two three.")))[0]
    moved = cut.shifted(600.0)
    assert (moved.start, moved.end) == pytest.approx((cut.start + 600.0, cut.end + 600.0))
    assert [w.start for w in moved.words] == pytest.approx([w.start + 600.0 for w in cut.words])
    assert moved.text == cut.text and cut.start < 600.0  # the original is left as it was


def test_join_words_keeps_whisper_spacing_and_cjk():
    assert join_words([Word(" Hello", 0, 1), Word(",", 1, 1), Word(" world.", 1, 2)]) == "Hello, world."
    assert join_words([Word("こんにちは", 0, 1), Word("世界", 1, 2)]) == "こんにちは世界"
    assert join_words([Word("Hello", 0, 1), Word("world", 1, 2)]) == "Hello world"


def test_random_transcripts_keep_every_invariant():
    rng = random.Random(7)
    for _ in range(150):
        words, at = [], rng.uniform(0, 1)
        for index in range(rng.randint(1, 90)):
            length = rng.uniform(0.05, 0.8)
            token = "w" + str(index) + rng.choice(["", "", "", ",", ".", "?"])
            words.append(Word(" " + token, round(at, 3), round(at + length, 3)))
            at += length + rng.choice([0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.7, 1.5, 3.0])
        options = SliceOptions(min_seconds=rng.choice([0.5, 1.0, 2.0]),
                               max_seconds=rng.choice([5.0, 8.0, 12.0]))
        duration = at + rng.uniform(0, 1)
        cuts = slice_transcript(transcript_of(words, duration=duration), options=options)
        check_invariants(cuts, words, options, duration)
        kept = [w.text for c in cuts for w in c.words]
        assert kept == [w.text for w in words if w.text in set(kept)]  # order kept, no repeats


# --------------------------------------------------------------------------- with the audio


def test_cuts_land_in_the_silence_when_word_times_are_off():
    # True speech: two "sentences" of tones with a 0.8 s silence between them. Whisper-like
    # times: the last word of the first sentence runs 0.4 s into the silence and the first
    # word of the second starts 0.4 s early, leaving no gap between them at all.
    first = [(0.5 + 0.4 * i, 0.8 + 0.4 * i) for i in range(6)]  # ends 2.8
    second = [(3.6 + 0.4 * i, 3.9 + 0.4 * i) for i in range(6)]
    audio = tone_words(first + second, duration=6.5)
    texts = ["a", "b", "c", "d", "e", "f."] + ["g", "h", "i", "j", "k", "l."]
    words = [Word(" " + t, s, e) for t, (s, e) in zip(texts, first + second)]
    words[5] = Word(" f.", words[5].start, 3.2)
    words[6] = Word(" g", 3.2, words[6].end)
    cuts = slice_transcript(transcript_of(words, duration=6.5), audio, 16000)
    assert len(cuts) == 2
    # The first clip ends in the real silence (2.8–3.6 s), padded by at most 0.15 s ...
    assert 2.8 < cuts[0].end <= 2.8 + OPTIONS.padding + 0.02
    # ... and the second starts just before the real speech, not at the word time.
    assert 3.6 - OPTIONS.padding - 0.02 <= cuts[1].start < 3.6
    for cut in cuts:
        level = QuietMap(audio, 16000)
        assert any(s <= cut.start <= e for s, e in level.runs)
        assert any(s <= cut.end <= e for s, e in level.runs)


@pytest.mark.parametrize("noise_db", [-60, -40])
def test_cuts_in_noise_still_find_the_pauses(noise_db):
    spans = [(0.5 + 0.4 * i, 0.8 + 0.4 * i) for i in range(8)]
    spans += [(4.2 + 0.4 * i, 4.5 + 0.4 * i) for i in range(8)]
    audio = tone_words(spans, duration=8.0, noise_db=noise_db)
    texts = [f"w{i}" for i in range(16)]
    words = [Word(" " + t, s, e) for t, (s, e) in zip(texts, spans)]
    cuts = slice_transcript(transcript_of(words, duration=8.0), audio, 16000)
    assert len(cuts) == 2  # the 0.6 s pause splits; the 0.1 s gaps inside do not
    assert 3.6 < cuts[0].end <= 3.6 + OPTIONS.padding + 0.02
    assert 4.2 - OPTIONS.padding - 0.02 <= cuts[1].start < 4.2
    check_invariants(cuts, words, duration=8.0)


def test_quiet_map_finds_silences():
    audio = tone_words([(0.5, 1.5), (2.0, 3.0)], duration=3.5)
    runs = QuietMap(audio, 16000).runs
    assert any(abs(s - 0.0) < 0.02 and abs(e - 0.5) < 0.02 for s, e in runs)
    assert any(abs(s - 1.5) < 0.02 and abs(e - 2.0) < 0.02 for s, e in runs)
    assert QuietMap(np.zeros(0, np.float32), 16000).runs == []


# --------------------------------------------------------------------------- VAD regions


def test_regions_become_clips_without_text():
    regions = [(0.5, 2.0), (2.3, 3.5), (5.0, 9.0), (9.2, 9.5), (12.0, 12.4)]
    cuts = slice_regions(regions, duration=14.0)
    assert all(c.text == "" and c.words == [] for c in cuts)
    assert [(round(c.start, 2), round(c.end, 2)) for c in cuts] == [(0.35, 3.65), (4.85, 9.65)]


def test_no_regions_no_clips():
    assert slice_regions([], duration=5.0) == []
