"""Speech recognition behind one small interface, whatever engine does the work.

The pipeline, the slicer and the "re-transcribe this clip" button only need words with
times. `Transcriber.transcribe` gives them as plain dataclasses (`Transcript` → `Segment`
→ `Word`), so the rest of the dataset code never sees faster-whisper's or openai-whisper's
own types, and tests can hand the slicer a transcript made by hand.

Two rules every backend follows, because the dataset tab depends on them:

- Cancel is honoured within about a second. A Whisper window cannot be interrupted once
  the engine runs it, so `pull_cancellable` runs the engine in a worker thread and returns
  as soon as the token is set; the window in flight finishes in the background and is
  thrown away (nothing is written from that thread).
- Very long recordings are fed in pieces cut at quiet points (`quiet_pieces`, and
  `speech_windows` straight from a file), so memory stays flat for an hour-long file and
  progress moves steadily.

`transcribers.load_transcriber` keeps the last model loaded (loading costs seconds), keyed by the
options that change what is loaded.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from voicelab.core.errors import Cancelled, VoiceLabError
from voicelab.core.progress import CancelToken, ProgressCallback

#: Whisper hears 16 kHz mono; every backend takes samples at this rate.
ASR_RATE = 16000
BACKENDS = ("faster-whisper", "openai-whisper")


class ASRError(VoiceLabError):
    """A speech recognizer could not be loaded or failed on some audio."""


@dataclass
class Word:
    """One recognized word; `text` keeps the engine's leading space (" hello")."""

    text: str
    start: float  # seconds from the start of the audio given to `transcribe`
    end: float
    probability: float = 1.0


@dataclass
class Segment:
    """A stretch of speech the engine decoded in one go, with its confidence figures."""

    text: str
    start: float
    end: float
    words: list[Word] = field(default_factory=list)
    avg_logprob: float | None = None
    no_speech_prob: float | None = None


@dataclass
class Transcript:
    segments: list[Segment]
    language: str | None
    language_probability: float | None
    duration: float  # seconds of audio transcribed

    @property
    def words(self) -> list[Word]:
        return [word for segment in self.segments for word in segment.words]

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    def shifted(self, offset: float) -> Transcript:
        """The same transcript with every time moved by `offset` seconds."""
        return Transcript([_shift_segment(s, offset) for s in self.segments], self.language,
                          self.language_probability, self.duration)


def _shift_segment(segment: Segment, offset: float) -> Segment:
    words = [Word(w.text, w.start + offset, w.end + offset, w.probability) for w in segment.words]
    return dataclasses.replace(segment, start=segment.start + offset, end=segment.end + offset,
                               words=words)


class Transcriber(Protocol):
    """What the dataset code needs from a speech recognizer."""

    def transcribe(self, samples: np.ndarray, *, language: str | None = None,
                   cancel: CancelToken | None = None,
                   progress: ProgressCallback | None = None) -> Transcript:
        """Words with times for float32 mono 16 kHz `samples`.

        `language`: an ISO code, "auto" to detect, or None for the transcriber's default.
        `progress(seconds_done, seconds_total, message)` is called as audio is decoded.
        """
        ...


@dataclass(frozen=True)
class ASROptions:
    """Which recognizer to load and how to run it.

    `model` is a size from the catalog ("tiny.en" … "large-v3", "turbo"), looked up in the
    model manager; `model_path` names a model folder (faster-whisper) or .pt file
    (openai-whisper) directly and wins over `model` (tests, and people with their own copy).
    `batched` uses faster-whisper's BatchedInferencePipeline, the default because it was
    about twice as fast on a 2-core CPU (bench/bench_dataset.py, tiny.en int8, beam 5, word
    timestamps, one 155 s recording): 4.3 s for the whole preparation against 9.3 s
    sequentially, WER 2.7 % against 3.2 %. It gains little on recordings under a minute,
    where each file fills only one or two 30 s chunks.
    `batch_size` None: 4 chunks per call on the CPU, 8 on a GPU. A batch's encoder
    attention is most of the memory a long recording needs (tiny.en, 2-core CPU: 565 MB
    above the loaded model with 8 chunks, 360 MB with 4, 160 MB with 2), and on the CPU 4
    ran as fast as 8 (2 was ~5 % slower).
    """

    backend: str = "faster-whisper"
    model: str = "base.en"
    language: str = "auto"
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    compute_type: str | None = None  # None: int8 on CPU, float16 on CUDA
    batched: bool = True
    batch_size: int | None = None  # chunks per batched call; None: by device
    beam_size: int = 5
    model_path: str | None = None

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ASROptions:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})

    @classmethod
    def from_settings(cls, settings, **changes) -> ASROptions:
        """The options the user chose in settings (model size, language, device)."""
        options = cls(model=getattr(settings, "asr_model", None) or cls.model,
                      language=getattr(settings, "asr_language", None) or cls.language,
                      device=getattr(settings, "device", None) or cls.device)
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(options, **changes)


def language_arg(language: str | None) -> str | None:
    """The engine's `language` argument: None means detect."""
    if language is None:
        return None
    language = language.strip().lower()
    return None if language in ("", "auto") else language


# --------------------------------------------------------------------------- models

def resolve_model_path(options: ASROptions, workspace=None) -> Path:
    """Where the model's files are on disk; a user-facing error says how to get them."""
    if options.model_path:
        path = Path(options.model_path).expanduser()
        if not path.exists():
            raise ASRError(f"The speech model {path} does not exist. Choose another model "
                           "file or folder, or download one in Tools ▸ Models.")
        return path
    if options.backend == "openai-whisper":
        return _openai_weights(options.model, workspace)
    from voicelab.core.models import UnknownModelError, whisper_model_path

    try:
        found = whisper_model_path(options.model, workspace)
    except UnknownModelError:
        raise ASRError(f"'{options.model}' is not a Whisper model VoiceLab knows; choose one of "
                       "tiny, base, small, medium (each also as .en), large-v3 or turbo in "
                       "Settings.") from None
    if found is None:
        raise ASRError(f"The Whisper model '{options.model}' is not downloaded yet. Download it "
                       f"in Tools ▸ Models, or run `voicelab-cli models download "
                       f"whisper:{options.model}`, then try again.")
    return found


def _openai_weights(model: str, workspace) -> Path:
    """openai-whisper keeps its own .pt files; VoiceLab looks for them in the workspace."""
    from voicelab.core.workspace import Workspace

    folder = (workspace or Workspace.open()).models / "openai-whisper"
    path = folder / f"{model}.pt"
    if path.is_file():
        return path
    raise ASRError(
        f"openai-whisper's '{model}' weights are not in {folder}. openai-whisper downloads its "
        f"own files: run `python -c \"import whisper; whisper.load_model('{model}', "
        f"download_root=r'{folder}')\"` once, or use the faster-whisper recognizer (the "
        "default), whose models Tools ▸ Models downloads.")


# --------------------------------------------------------------------------- running


def pull_cancellable(make_items: Callable[[], Iterator], cancel: CancelToken | None,
                     poll: float = 0.05, name: str = "voicelab-asr") -> Iterator:
    """Yield what `make_items()` yields, computed in a worker thread, stopping on cancel.

    Why a thread: an engine call (one Whisper window, one batch) cannot be interrupted and
    can take seconds on a CPU. The caller waits on a queue instead, so `Cancelled` is raised
    within `poll` seconds of the token being set; the worker stops after its current item
    and its results are dropped. Without a token the items are pulled in the caller's thread.
    """
    if cancel is None:
        yield from make_items()
        return
    cancel.raise_if_cancelled()
    results: queue.Queue[tuple[str, object]] = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in make_items():
                if stop.is_set():
                    return
                results.put(("item", item))
        except BaseException as exc:  # handed to the caller, who raises it
            results.put(("error", exc))
        else:
            results.put(("done", None))

    # Not a daemon: at exit Python waits for the engine call in flight to end, rather than
    # tearing the interpreter down under a thread that is inside CTranslate2 or PyTorch.
    worker = threading.Thread(target=work, name=name, daemon=False)
    worker.start()
    try:
        while True:
            try:
                kind, value = results.get(timeout=poll)
            except queue.Empty:
                cancel.raise_if_cancelled()
                continue
            if kind == "done":
                break
            if kind == "error":
                raise value  # type: ignore[misc]
            cancel.raise_if_cancelled()
            yield value
    finally:
        stop.set()
        worker.join(timeout=0.05 if cancel.cancelled else 5.0)


def quiet_pieces(samples: np.ndarray, rate: int = ASR_RATE, max_seconds: float = 600.0,
                 search_seconds: float = 30.0) -> list[tuple[int, int]]:
    """(start, end) sample ranges of at most `max_seconds`, cut at the quietest 0.1 s.

    A cut falls within the last `search_seconds` before each limit, where the level is
    lowest, so it almost always lands in a pause rather than inside a word.
    """
    total = int(samples.shape[0])
    limit = int(max_seconds * rate)
    pieces = []
    start = 0
    while total - start > limit:
        cut = start + _quietest_cut(samples[start:start + limit], rate, search_seconds)
        pieces.append((start, cut))
        start = cut
    pieces.append((start, total))
    return pieces


def speech_windows(path: Path, max_seconds: float = 600.0, search_seconds: float = 30.0,
                   ) -> Iterator[tuple[float, np.ndarray]]:
    """(offset in seconds, 16 kHz samples) windows of an audio file, cut as `quiet_pieces`
    cuts, read and resampled a block at a time.

    Why: transcribing a recording must not hold it whole (a two-hour file is 460 MB at
    16 kHz, several times that on the way there); a window of ten minutes is enough for
    the recognizer's batches and keeps memory flat with length.
    """
    from voicelab.core.audio import audio_blocks, resample_blocks

    rate, blocks = audio_blocks(path)
    limit = int(max_seconds * ASR_RATE)
    held: list[np.ndarray] = []
    count = 0
    offset = 0
    for block in resample_blocks(blocks, rate, ASR_RATE):
        held.append(block)
        count += block.shape[0]
        while count > limit:
            audio = np.concatenate(held)
            cut = _quietest_cut(audio[:limit], ASR_RATE, search_seconds)
            yield offset / ASR_RATE, audio[:cut]
            offset += cut
            held, count = [audio[cut:]], audio.shape[0] - cut
    if count:
        yield offset / ASR_RATE, np.concatenate(held)


def _quietest_cut(samples: np.ndarray, rate: int, search_seconds: float) -> int:
    """Where to end a piece that ends at `len(samples)`: the middle of the quietest 0.1 s
    in its last `search_seconds`."""
    frame = int(0.1 * rate)
    hi = samples.shape[0]
    lo = max(0, hi - int(search_seconds * rate))
    window = samples[lo:hi][: (hi - lo) // frame * frame].reshape(-1, frame)
    if not window.size:
        return hi
    energy = np.mean(np.square(window, dtype=np.float64), axis=1)
    return lo + int(np.argmin(energy)) * frame + frame // 2


def check_samples(samples: np.ndarray) -> np.ndarray:
    """Float32 mono, or an error that says what was passed instead."""
    audio = np.asarray(samples, dtype=np.float32)
    if audio.ndim != 1:
        raise ASRError(f"Speech recognition needs mono audio; got an array of shape {audio.shape}.")
    return audio


def raise_if_cancelled(cancel: CancelToken | None) -> None:
    if cancel is not None and cancel.cancelled:
        raise Cancelled()
