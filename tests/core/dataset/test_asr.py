"""The transcriber interface: real faster-whisper tiny.en, and openai-whisper's adapter."""

from __future__ import annotations

import threading
import time
import tracemalloc

import numpy as np
import pytest
import soundfile

from tests.support.dataset_audio import (
    MORE_SENTENCES,
    SENTENCES,
    recording,
    sentence_audio,
    tiny_model_path,
)
from tests.support.speech import wer
from voicelab.core.audio import resample
from voicelab.core.dataset import asr, transcribers
from voicelab.core.dataset.asr import ASR_RATE, ASRError, ASROptions, Transcript, pull_cancellable, quiet_pieces
from voicelab.core.dataset.transcribers import load_transcriber
from voicelab.core.errors import Cancelled
from voicelab.core.progress import CancelToken


@pytest.fixture(scope="module")
def speech16k():
    """Three joe sentences with pauses, at 16 kHz (about 10 s)."""
    return resample(recording(SENTENCES[:3], pause=0.6), 22050, ASR_RATE)


@pytest.fixture(scope="module")
def long16k():
    """Twelve sentences (about 40 s, two Whisper windows): long enough to cancel mid-way."""
    return resample(recording(SENTENCES + MORE_SENTENCES, pause=0.5), 22050, ASR_RATE)


def check_transcript(transcript: Transcript, duration: float) -> None:
    words = transcript.words
    assert words, "no words"
    assert transcript.duration == pytest.approx(duration, abs=0.01)
    for word in words:
        assert 0.0 <= word.start <= word.end <= duration + 0.05, word
        assert 0.0 <= word.probability <= 1.0
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    for segment in transcript.segments:
        assert segment.avg_logprob is not None and segment.avg_logprob <= 0.0
        assert segment.no_speech_prob is not None and 0.0 <= segment.no_speech_prob <= 1.0


@pytest.mark.parametrize("batched", [True, False])
def test_faster_whisper_gives_words_with_times(speech16k, batched):
    transcriber = load_transcriber(ASROptions(model_path=tiny_model_path(), batched=batched))
    seen = []
    transcript = transcriber.transcribe(speech16k, progress=lambda d, t, m: seen.append((d, t)))
    check_transcript(transcript, len(speech16k) / ASR_RATE)
    assert transcript.language == "en"
    assert wer(" ".join(SENTENCES[:3]), transcript.text) < 0.2
    assert seen and seen[-1][0] == pytest.approx(seen[-1][1])
    # No word spans the middle of the first pause (0.6 s after the first sentence).
    middle = 0.4 + len(sentence_audio(SENTENCES[0])) / 22050 + 0.3
    assert not [w for w in transcript.words if w.start < middle - 0.15 and w.end > middle + 0.15]
    assert any(w.end < middle for w in transcript.words)
    assert any(w.start > middle for w in transcript.words)


def test_batched_decoding_hears_a_long_recording_to_the_end(long16k):
    """Over one chunk (30 s) the batched pipeline runs; shorter audio, where it has nothing
    to batch, goes to the sequential decoder (see test_dataset_coverage for why)."""
    transcriber = load_transcriber(ASROptions(model_path=tiny_model_path(), batched=True))
    duration = len(long16k) / ASR_RATE
    transcript = transcriber.transcribe(long16k)
    check_transcript(transcript, duration)
    assert wer(" ".join(SENTENCES + MORE_SENTENCES), transcript.text) < 0.2
    assert transcript.words[-1].end > duration - 3.0


def test_speech_windows_read_a_file_in_pauses(tmp_path):
    """A file read back as 16 kHz windows of at most `max_seconds`, cut in its pauses,
    that add up to the whole (here 100 s of a tone with a pause every 7 s, 30 s windows)."""
    rate = 22050
    t = np.arange(rate * 100) / rate
    audio = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    for second in range(7, 100, 7):
        audio[second * rate: second * rate + rate // 2] = 0.0
    path = tmp_path / "long.wav"
    soundfile.write(str(path), audio, rate)
    windows = list(asr.speech_windows(path, max_seconds=30.0, search_seconds=10.0))
    whole = resample(audio, rate, ASR_RATE)
    assert sum(len(w) for _, w in windows) == pytest.approx(len(whole), abs=2)
    assert all(len(w) <= 30 * ASR_RATE for _, w in windows) and len(windows) >= 4
    for (offset, window), (following, _) in zip(windows, windows[1:]):
        assert following == pytest.approx(offset + len(window) / ASR_RATE)
        assert abs(window[-1]) < 0.01  # cut in a pause, not in the tone
        gap = following % 7.0
        assert 0.0 <= gap <= 0.5
    start = int(windows[1][0] * ASR_RATE)
    assert np.allclose(windows[1][1][1000:2000], whole[start + 1000:start + 2000], atol=1e-3)


def test_speech_windows_hold_a_window_not_the_file(tmp_path):
    """Reading 12 minutes in one-minute windows allocates no more at its peak than reading
    4 (generous bound: 1.5 times); whole, the 12 would take three times as much."""
    rate = 22050
    second = (0.3 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)).astype(np.float32)
    second[-rate // 4:] = 0.0

    def peak_reading(minutes: int) -> int:
        path = tmp_path / f"{minutes}.wav"
        soundfile.write(str(path), np.tile(second, minutes * 60), rate)
        tracemalloc.start()
        try:
            total = sum(len(w) for _, w in asr.speech_windows(path, max_seconds=60.0))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert total == pytest.approx(minutes * 60 * ASR_RATE, abs=2)
        return peak

    short, long = peak_reading(4), peak_reading(12)
    assert long < 1.5 * short, f"peak {long / 1e6:.1f} MB for 12 minutes, {short / 1e6:.1f} MB for 4"


def test_the_loaded_model_is_reused_and_replaced():
    path = tiny_model_path()
    first = load_transcriber(ASROptions(model_path=path))
    assert load_transcriber(ASROptions(model_path=path)) is first
    other = load_transcriber(ASROptions(model_path=path, batched=False))
    assert other is not first
    assert first.device == "cpu" and first.compute_type == "int8"  # no GPU here: "auto" → CPU


def test_cancel_stops_within_a_second(long16k):
    transcriber = load_transcriber(ASROptions(model_path=tiny_model_path(), batched=False))
    token = CancelToken()
    started = threading.Event()
    cancelled_at = []

    def cancel_mid_way():
        started.wait(30)
        time.sleep(0.2)  # inside the next Whisper window
        cancelled_at.append(time.monotonic())
        token.cancel()

    timer = threading.Thread(target=cancel_mid_way)
    timer.start()
    with pytest.raises(Cancelled):
        transcriber.transcribe(long16k, cancel=token,
                               progress=lambda done, total, message: started.set())
    stopped = time.monotonic()
    timer.join()
    assert stopped - cancelled_at[0] < 1.0
    finish_background_work()


def test_a_cancelled_token_stops_before_any_work(speech16k):
    transcriber = load_transcriber(ASROptions(model_path=tiny_model_path()))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        transcriber.transcribe(speech16k, cancel=token)


def test_pull_cancellable_returns_at_once_while_the_worker_is_busy():
    token = CancelToken()
    release = threading.Event()

    def slow():
        yield 1
        release.wait(5)  # an engine call that cannot be interrupted
        yield 2

    items = pull_cancellable(slow, token, poll=0.01)
    assert next(items) == 1
    threading.Timer(0.1, token.cancel).start()
    begun = time.monotonic()
    with pytest.raises(Cancelled):
        next(items)
    assert time.monotonic() - begun < 0.5
    release.set()  # let the worker finish (the test's leaked-thread check waits for it)


def test_pull_cancellable_passes_errors_on():
    def broken():
        yield 1
        raise ASRError("engine broke")

    with pytest.raises(ASRError, match="engine broke"):
        list(pull_cancellable(broken, CancelToken()))
    assert list(pull_cancellable(lambda: iter([1, 2]), None)) == [1, 2]


def test_quiet_pieces_cut_long_audio_in_pauses():
    rate = 1000
    audio = np.ones(rate * 100, np.float32)
    for second in (35, 70, 90):  # quiet stretches (90 lies in no search window)
        audio[second * rate: second * rate + 300] = 0.0
    pieces = quiet_pieces(audio, rate, max_seconds=40, search_seconds=10)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(audio)
    assert all(b == c for (_, b), (c, _) in zip(pieces, pieces[1:]))
    assert all(end - start <= 40 * rate for start, end in pieces)
    cuts = [end for _, end in pieces[:-1]]
    assert all(audio[c] == 0.0 for c in cuts)
    assert quiet_pieces(audio[:5 * rate], rate, max_seconds=40) == [(0, 5 * rate)]


# --------------------------------------------------------------------------- model lookup


def test_a_missing_model_says_how_to_download_it(workspace):
    with pytest.raises(ASRError) as error:
        load_transcriber(ASROptions(model="small.en"), workspace)
    message = str(error.value)
    assert "Tools ▸ Models" in message
    assert "voicelab-cli models download whisper:small.en" in message


def test_unknown_model_and_missing_path(workspace, tmp_path):
    with pytest.raises(ASRError, match="not a Whisper model"):
        load_transcriber(ASROptions(model="enormous"), workspace)
    with pytest.raises(ASRError, match="does not exist"):
        load_transcriber(ASROptions(model_path=str(tmp_path / "nowhere")), workspace)
    with pytest.raises(ASRError, match="Unknown speech recognizer"):
        load_transcriber(ASROptions(backend="vosk"), workspace)


def test_openai_weights_missing_says_where(workspace):
    with pytest.raises(ASRError, match="openai-whisper"):
        load_transcriber(ASROptions(backend="openai-whisper", model="tiny.en"), workspace)


def test_options_round_trip_and_settings(workspace):
    options = ASROptions(model="small", language="de", batched=False, model_path="/x")
    assert ASROptions.from_dict(options.to_dict()) == options
    assert ASROptions.from_dict({"model": "tiny", "unknown": 1}).model == "tiny"
    workspace.settings.asr_model = "tiny.en"
    workspace.settings.asr_language = "en"
    made = ASROptions.from_settings(workspace.settings, device="cpu")
    assert (made.model, made.language, made.device) == ("tiny.en", "en", "cpu")


def test_core_asr_modules_import_no_engine_at_import_time():
    import subprocess
    import sys

    code = ("import sys, voicelab.core.dataset.asr, voicelab.core.dataset.pipeline, "
            "voicelab.core.dataset.slicing; "
            "print([m for m in ('faster_whisper', 'torch', 'whisper', 'ctranslate2') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- openai-whisper


@pytest.fixture(scope="module")
def random_whisper():
    """A tiny randomly initialised openai-whisper model that says "hello world." per window.

    Random weights alone emit endless repeats or nothing, so the last logits are steered to
    a fixed short sentence. Everything else is the real package: mel, encoder, decoding
    with its timestamp rules, and word timings from the model's cross-attention (DTW).
    """
    whisper = pytest.importorskip("whisper")
    import torch
    from whisper.model import ModelDimensions, Whisper
    from whisper.tokenizer import get_tokenizer

    torch.manual_seed(0)
    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2,
                           n_audio_layer=2, n_vocab=51864, n_text_ctx=448, n_text_state=64,
                           n_text_head=2, n_text_layer=2)
    model = Whisper(dims).eval()
    # The package leaves the decoder's positional embedding as torch.empty (real weights
    # fill it): uninitialised memory, NaN on some machines, so give it values.
    with torch.no_grad():
        torch.nn.init.normal_(model.decoder.positional_embedding, std=0.02)
    tokenizer = get_tokenizer(False)
    hello, world, dot = (tokenizer.encode(t)[0] for t in (" hello", " world", "."))
    begin = tokenizer.timestamp_begin
    plan = {hello: [(world, 30.0)], world: [(dot, 30.0)], dot: [(begin + 100, 30.0)]}
    forward = model.decoder.forward

    def steered(x, xa, kv_cache=None):
        logits = forward(x, xa, kv_cache=kv_cache)
        for row in range(x.shape[0]):
            last = int(x[row, -1])
            targets = plan.get(last) or ([(hello, 30.0), (tokenizer.eot, 20.0)] if last >= begin else None)
            if targets:
                logits[row, -1, :] = 0.0
                for token, value in targets:
                    logits[row, -1, token] = value
        return logits

    model.decoder.forward = steered
    return whisper, model


def test_openai_whisper_adapter_gives_our_transcript(random_whisper):
    from voicelab.core.dataset.asr_openai import OpenAIWhisperTranscriber

    _, model = random_whisper
    transcriber = OpenAIWhisperTranscriber.from_model(
        model, ASROptions(backend="openai-whisper", beam_size=1))
    audio = np.random.default_rng(0).standard_normal(ASR_RATE * 40).astype(np.float32) * 0.1
    seen = []
    transcript = transcriber.transcribe(audio, progress=lambda d, t, m: seen.append(d))
    assert isinstance(transcript, Transcript)
    assert transcript.language == "en"  # an English-only model
    assert len(transcript.segments) >= 2  # 40 s goes in two pieces of at most 30 s
    check_transcript(transcript, 40.0)
    assert {w.text.strip() for w in transcript.words} <= {"hello", "world."}
    assert any(w.start >= 20.0 for w in transcript.words)  # times moved into the whole audio
    assert seen[-1] == pytest.approx(40.0)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        transcriber.transcribe(audio, cancel=token)


def test_openai_whisper_backend_loads_a_pt_file(random_whisper, tmp_path, workspace):
    whisper, model = random_whisper
    import torch

    path = tmp_path / "random.pt"
    torch.save({"dims": model.dims.__dict__, "model_state_dict": model.state_dict()}, path)
    transcribers.clear_transcriber_cache()
    transcriber = load_transcriber(ASROptions(backend="openai-whisper", model_path=str(path),
                                              device="cpu"), workspace)
    assert transcriber.model.dims.n_text_state == 64
    transcribers.clear_transcriber_cache()


def finish_background_work(timeout: float = 30.0) -> None:
    """Let the engine call a cancel left running end (its result is dropped), so a slow
    machine does not trip the leaked-thread check; the cancel latency is already measured."""
    for thread in threading.enumerate():
        if thread.name in ("voicelab-asr", "voicelab-decode"):
            thread.join(timeout)
