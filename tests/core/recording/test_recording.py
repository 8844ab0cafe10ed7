"""The recording core without Qt: take checks, word matching, prompt sets, the recorder and
its take files, keeping takes in the dataset, and a recording process killed mid-take."""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile

from tests.support.dataset_audio import RATE, SENTENCES, sentence_audio
from tests.support.paths import REPO_ROOT
from voicelab.core.dataset.store import Dataset, dataset_folder
from voicelab.core.recording.audio_in import FakeAudioInput, InputDevice, SoundDeviceInput
from voicelab.core.recording.checks import check_take, judge_room
from voicelab.core.recording.prompts import PromptError, bundled_set, bundled_sets, read_prompt_file
from voicelab.core.recording.recorder import Recorder, Take
from voicelab.core.recording.review import Hearing, review_take
from voicelab.core.recording.takes import TakeFolder, prompt_key
from voicelab.core.recording.words import compare_words

ROOT = REPO_ROOT


def take_audio(text=SENTENCES[0], gain=0.5, lead=0.5, tail=0.5, noise_db=-70.0, seed=0):
    """`text` said by joe at `gain` with silence (a noise floor) before and after, at 22050 Hz."""
    speech = gain * sentence_audio(text)
    audio = np.concatenate([np.zeros(int(lead * RATE), np.float32), speech,
                            np.zeros(int(tail * RATE), np.float32)])
    noise = np.random.default_rng(seed).standard_normal(len(audio)).astype(np.float32)
    return (audio + noise * np.float32(10 ** (noise_db / 20))).astype(np.float32)


# -- checks -----------------------------------------------------------------------------------
def test_a_clean_take_passes_and_is_trimmed_to_its_speech_with_padding():
    check = check_take(take_audio(), RATE)
    assert check.problems == []
    speech = len(sentence_audio(SENTENCES[0])) / RATE
    assert check.speech_start == pytest.approx(0.5, abs=0.08)
    assert check.speech_end == pytest.approx(0.5 + speech, abs=0.08)
    assert check.keep_start == pytest.approx(check.speech_start - 0.2, abs=1e-6)
    assert check.keep_end == pytest.approx(check.speech_end + 0.2, abs=1e-6)
    assert -30 < check.speech_db < -15 and check.snr_db > 40


@pytest.mark.parametrize("audio, code, words", [
    (lambda: take_audio(gain=0.01), "too_quiet", "Too quiet"),
    (lambda: np.clip(take_audio(gain=4.0), -1, 1), "clipped", "Clipped"),
    (lambda: take_audio(noise_db=-30.0), "noisy", "background noise"),
    (lambda: take_audio(lead=0.0), "cut_start", "Cut off at the start"),
    (lambda: take_audio(tail=0.0), "cut_end", "Cut off at the end"),
    (lambda: take_audio(gain=0.0), "no_speech", "No speech"),
])
def test_bad_takes_are_refused_with_what_to_fix(audio, code, words):
    check = check_take(audio(), RATE)
    assert check.refused
    assert code in check.codes()
    assert any(words in p.message for p in check.problems if p.code == code)


def test_some_noise_and_a_quiet_voice_only_flag_a_take():
    check = check_take(take_audio(gain=0.08, noise_db=-52.0), RATE)
    assert not check.refused and check.flagged
    assert set(check.codes()) == {"quiet", "some_noise"}


def test_the_room_check_measures_the_noise_and_notices_a_noise_during_it():
    rng = np.random.default_rng(1)
    quiet = (rng.standard_normal(5 * RATE) * 10 ** (-62 / 20)).astype(np.float32)
    room = judge_room(quiet, RATE)
    assert room.noise_db == pytest.approx(-62, abs=1.5) and room.usable and "Quiet" in room.message
    noisy = judge_room(quiet * 10 ** (22 / 20), RATE)
    assert not noisy.usable and "Noisy room" in noisy.message
    knock = quiet.copy()
    knock[RATE:RATE + 2000] += 0.5
    spoiled = judge_room(knock, RATE)
    assert spoiled.interrupted and "run it again" in spoiled.message


# -- words ------------------------------------------------------------------------------------
def test_word_matching_tolerates_one_slip_but_flags_a_misread_prompt():
    prompt = "The old lighthouse stood alone on the rocky shore."
    slip = compare_words(prompt, "the old lighthouse did alone on the rocky shore.", "en")
    assert slip.missed == [3] and not slip.mismatched
    spelled = compare_words("An old clock struck seven times.", "An old clock struck 7 times.", "en")
    assert spelled.errors == 0
    other = compare_words(prompt, "Every evening the keeper climbed the narrow stairs.", "en")
    assert other.mismatched and "lighthouse" in [other.tokens[i] for i in other.missed]
    added = compare_words("Please take the bus.", "please take the big bus home", "en")
    assert added.extra == ["big", "home"] and added.mismatched
    assert compare_words("Look at the house.", "look at the horse", "en").missed == [3]


# -- prompts ----------------------------------------------------------------------------------
def test_the_bundled_prompt_sets_are_sentences_of_five_to_fifteen_words():
    sets = {s.id: s for s in bundled_sets()}
    assert list(sets)[0] == "en" and {"de", "fr", "es"} <= set(sets)
    assert len(sets["en"]) >= 300
    for prompt_set in sets.values():
        assert len(prompt_set) >= 50 and prompt_set.language == prompt_set.id
        assert "public domain" in prompt_set.source.lower() or "gemeinfrei" in prompt_set.source \
            or "domaine public" in prompt_set.source or "dominio público" in prompt_set.source
        for prompt in prompt_set.prompts:
            count = len(re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)*", prompt))
            assert 5 <= count <= 15, prompt
            assert not re.search(r"[0-9%$&@#/*+=<>|]", prompt), prompt


def test_the_english_prompts_say_every_english_sound_many_times():
    from piper.phonemize_espeak import EspeakPhonemizer

    phonemizer = EspeakPhonemizer()
    counts = collections.Counter()
    for prompt in bundled_set("en").prompts:
        for sentence in phonemizer.phonemize("en-us", prompt):
            line = "".join(sentence)
            counts.update(line)
            counts.update(line[i:i + 2] for i in range(len(line) - 1))
    sounds = ("p b t d k ɡ f v θ ð s z ʃ ʒ h m n ŋ l ɹ w j tʃ dʒ "
              "i ɪ ɛ æ ɑ ɔ ʊ u ʌ ə ɜ ɚ aɪ aʊ ɔɪ eɪ oʊ").split()
    rare = {sound: counts[sound] for sound in sounds if counts[sound] < 10}
    assert not rare, f"sounds said fewer than 10 times: {rare}"


def test_a_persons_prompt_file_is_one_prompt_a_line(tmp_path):
    file = tmp_path / "mine.txt"
    file.write_text("# my prompts\nFirst line here.\n\n  Second | line.  \nFirst line here.\n",
                    encoding="utf-8")
    mine = read_prompt_file(file)
    assert mine.prompts == ("First line here.", "Second line.") and mine.id == "custom"
    (tmp_path / "empty.txt").write_text("# nothing\n\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 au lait.\n".encode("latin-1"))
    for name, words in (("empty.txt", "holds no prompts"), ("latin1.txt", "not UTF-8"),
                        ("missing.txt", "does not exist")):
        with pytest.raises(PromptError, match=words):
            read_prompt_file(tmp_path / name)


# -- the recorder and its files -----------------------------------------------------------------
def record(recorder, microphone, audio, target=None):
    recorder.start_take(target)
    microphone.feed(audio, RATE)
    deadline = time.monotonic() + 30
    while microphone.pending_s() > 0:
        assert time.monotonic() < deadline, "the microphone double stopped feeding"
        time.sleep(0.005)
    return recorder.stop_take()


def test_a_take_streams_to_a_temporary_file_that_becomes_the_take_when_it_stops(tmp_path):
    microphone = FakeAudioInput(speed=8.0)
    recorder = Recorder(microphone)
    recorder.open(0, 48000)
    try:
        target = tmp_path / "take.wav"
        deadline = time.monotonic() + 30
        while recorder.capture.blocks < 20:  # 0.4 s heard: a full pre-roll
            assert time.monotonic() < deadline
            time.sleep(0.005)
        recorder.start_take(target)
        microphone.feed(take_audio(), RATE)
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob(".take.wav.*.tmp")) or microphone.pending_s() > 0:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert not target.exists()  # still recording: only the temporary file
        take = recorder.stop_take()
        assert take.commit() == target and not list(tmp_path.glob("*.tmp"))
        written, rate = soundfile.read(target, dtype="float32")
        assert rate == 48000 and len(written) == len(take.samples)
        assert np.max(np.abs(written - take.samples)) < 1e-3
        assert take.duration >= len(take_audio()) / RATE + 0.25  # the pre-roll came first
        assert recorder.meter().rms_db > -80  # the meter heard the floor since

        aborted = tmp_path / "aborted.wav"
        recorder.start_take(aborted)
        time.sleep(0.05)
        recorder.discard_take()
    finally:
        recorder.close()
    deadline = time.monotonic() + 10
    while list(tmp_path.glob(".aborted*")):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not aborted.exists()


def test_a_take_the_input_dropped_audio_from_is_refused(tmp_path):
    microphone = FakeAudioInput(speed=8.0)
    recorder = Recorder(microphone)
    recorder.open(0, 48000)
    try:
        clean = record(recorder, microphone, take_audio(), tmp_path / "clean.wav")
        assert clean.dropped == 0 and clean.commit().is_file()
        recorder.start_take(tmp_path / "take.wav")
        microphone.overflows += 1  # PortAudio reported an input overflow mid-take
        take = recorder.stop_take()
    finally:
        recorder.close()
    assert take.dropped == 1
    result = review_take(take, SENTENCES[0])
    assert result.refused and result.check.codes()[0] == "dropped"
    assert "Part of the take was lost" in result.messages()[0]


def test_without_a_device_the_input_says_why():
    real = SoundDeviceInput()  # this machine's PortAudio: a device, or the reason there is none
    if real.available:
        assert real.devices() and real.rates(real.devices()[0].index)
    else:
        assert real.unavailable_reason.startswith("Recording is unavailable") and not real.devices()
        with pytest.raises(Exception, match="Recording is unavailable"):
            real.start(lambda block: None, None, 48000)
    double = FakeAudioInput(available=False, unavailable_reason="No microphone here.")
    recorder = Recorder(double)
    assert not recorder.available and recorder.unavailable_reason == "No microphone here."
    with pytest.raises(Exception, match="No microphone here"):
        recorder.open(None, 48000)
    assert FakeAudioInput(devices=[InputDevice(3, "USB", 1, 44100)]).devices()[0].index == 3


# -- keeping takes --------------------------------------------------------------------------------
@pytest.fixture
def dataset(workspace):
    return Dataset.create(dataset_folder(workspace, "Voice"), "Voice")


def manifest(dataset):
    return [row.split("|", 1) for row in (dataset.path / "metadata.csv").read_text("utf-8").splitlines()]


def test_kept_takes_become_clips_with_their_prompts_and_a_retake_replaces_one(dataset):
    takes = TakeFolder(dataset)
    prompts = takes.prompt_set().prompts
    assert takes.prompt_set().id == "en" and takes.first_unrecorded(prompts) == 0
    microphone = FakeAudioInput(speed=8.0)
    recorder = Recorder(microphone)
    recorder.open(0, 44100)
    try:
        for prompt in prompts[:2]:
            result = review_take(record(recorder, microphone, take_audio(prompt),
                                        takes.take_path(prompt)), prompt)
            assert not result.refused and takes.pending(prompt) == result.path
            clip = takes.keep(prompt, result.check, "en")
            assert clip.text == prompt and not clip.edited and takes.pending(prompt) is None
        retake = review_take(record(recorder, microphone, take_audio(prompts[0], gain=0.3),
                                    takes.take_path(prompts[0])), prompts[0])
        takes.keep(prompts[0], retake.check, "en")
    finally:
        recorder.close()
    rows = manifest(dataset)
    assert sorted(text for _id, text in rows) == sorted(prompts[:2])
    assert len(dataset.clips) == 2 and len(dataset.sources) == 3  # the first take's audio stays
    first = takes.kept_clip(prompts[0])
    assert first.source == f"{prompt_key(prompts[0])}_2"
    assert first.duration == pytest.approx(retake.check.keep_end - retake.check.keep_start, abs=0.01)
    source = dataset.source(first.source)
    assert soundfile.info(str(dataset.source_path(source))).samplerate == 44100  # untouched take
    assert soundfile.info(str(dataset.clip_path(first.id))).samplerate == dataset.sample_rate
    assert takes.first_unrecorded(prompts) == 2
    progress = takes.progress(prompts).text()
    assert progress.startswith(f"2 of {len(prompts)} prompts, 0:0") and "about 10 minutes" in progress
    dataset.set_excluded([first.id])  # excluded in the Dataset tab: to be recorded again
    assert takes.first_unrecorded(prompts) == 0


def test_a_crash_inside_keep_is_finished_by_keeping_again(dataset, tmp_path):
    takes = TakeFolder(dataset)
    prompt = takes.prompt_set().prompts[0]
    staged = takes.take_path(prompt)
    soundfile.write(staged, take_audio(prompt), RATE)
    result = review_take(Take(take_audio(prompt), RATE), prompt)
    dataset.add_source(staged)  # …and the process died before the clip was made
    reopened = Dataset.open(dataset.path)
    again = TakeFolder(reopened)
    assert again.pending(prompt) == staged and again.kept_clip(prompt) is None
    clip = again.keep(prompt, result.check, "en")
    assert clip.text == prompt and len(reopened.sources) == 1
    assert manifest(reopened) == [[clip.id, prompt]] and again.pending(prompt) is None
    shutil.copyfile(reopened.source_path(reopened.sources[0]), staged)  # a kept take's file left
    TakeFolder(reopened)  # behind (a crash after keeping it): removed
    assert not staged.exists()


def test_whisper_hears_whether_the_prompt_was_read(dataset, tiny_en, workspace):
    takes = TakeFolder(dataset)
    hearing = Hearing(workspace)
    assert hearing.load() == ""
    prompt = SENTENCES[5]  # one tiny.en hears word for word every time (not all of them are)
    right = review_take(Take(take_audio(prompt), RATE), prompt, hearing=hearing, language="en")
    assert right.words.checked and not right.mismatched and not right.flagged
    wrong = review_take(Take(take_audio(SENTENCES[3]), RATE), prompt, hearing=hearing, language="en")
    assert wrong.mismatched and wrong.flagged and not wrong.refused
    assert any("do not match" in m for m in wrong.messages())
    assert takes.first_unrecorded([prompt]) == 0


def test_without_a_whisper_model_the_words_go_unchecked_and_say_why(workspace):
    workspace.settings.asr_model = "small.en"  # not downloaded in this workspace
    hearing = Hearing(workspace)
    result = review_take(Take(take_audio(), RATE), SENTENCES[0], hearing=hearing, language="en")
    assert not result.words.checked and not result.flagged
    assert result.messages()[0].startswith("Words not checked:")


def test_a_recording_process_killed_mid_take_loses_only_that_take(dataset):
    prompts = TakeFolder(dataset).prompt_set().prompts
    child = subprocess.Popen([sys.executable, "-m", "tests.core.recording.recording_child", str(dataset.path), "2"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=dict(os.environ, PYTHONPATH=str(ROOT)))
    takes = dataset.path / "takes"
    partial = None
    deadline = time.monotonic() + 120
    try:
        while partial is None:
            if child.poll() is not None:
                pytest.fail(f"the recording process ended early: {child.stderr.read().decode()}")
            assert time.monotonic() < deadline, "the recording process never reached its third take"
            found = list(takes.glob(f".{prompt_key(prompts[2])}.wav.*.tmp"))
            if found and found[0].stat().st_size > 20000:
                partial = found[0]
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    reopened = Dataset.open(dataset.path)
    assert [text for _id, text in manifest(reopened)] == list(prompts[:2])
    assert [c.text for c in reopened.clips] == list(prompts[:2])
    folder = TakeFolder(reopened)
    assert folder.pending(prompts[2]) is None and partial.exists()  # the partial: a temp name only
    assert folder.first_unrecorded(prompts) == 2  # reopening goes on with the take that was lost
    old = time.time() - 3600
    os.utime(partial, (old, old))
    TakeFolder(reopened)  # the next session clears what a killed one left
    assert not partial.exists()
