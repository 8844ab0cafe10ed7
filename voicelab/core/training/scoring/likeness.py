"""Speaker likeness: how much a voice in training sounds like the dataset's speaker.

WER says whether a voice can be understood and pitch whether it moves like speech; neither
says whether it is the *person*. Resemblyzer's speaker encoder (a GE2E network whose
weights ship inside its wheel, so this works offline) turns a clip into a 256-number
embedding, and the cosine between two embeddings says how alike two voices sound (a
speaker's own recordings ~0.99 against each other, joe against joe moved 3 semitones 0.70).

Raw cosines mean little to a person and depend on the pair of voices, so a run's likeness
is placed between two anchors measured once per run and kept in `likeness.json`:

* **1 is the dataset's speaker**: held-out clips of the dataset against the centroid of the
  other clips (how alike a recording of the speaker is to the rest, the best a voice can do);
* **0 is where the run started**: the step-0 previews (the base voice before any update)
  against the same centroid.

``likeness = (cos(preview, centroid) - floor) / (ceiling - floor)``; it is left unset (None)
when the anchors are too close to tell apart (a fine-tune of a voice on its own speech).

The encoder's weights are read with `torch.load(weights_only=True)` and their names and
shapes checked before use: a model file is never unpickled blindly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicelab.core.errors import VoiceLabError
from voicelab.core.progress import CancelToken, ProgressCallback, no_progress

REFERENCE_FILE = "likeness.json"
#: Clips of the dataset the reference embeds at most (evenly spread over the dataset).
MAX_CLIPS = 40
#: Share of those held out to measure the ceiling (at least 2, at most 10 clips).
HELD_OUT_SHARE = 0.2
#: Below this distance between ceiling and floor (cosine), likeness is not defined.
MIN_SPAN = 0.02
_ENCODER_RATE = 16000
_lock = threading.Lock()
_encoder: Any = None


class LikenessUnavailable(VoiceLabError):
    """The speaker encoder cannot run here (resemblyzer or webrtcvad missing, weights damaged)."""


@dataclass
class Reference:
    """The two anchors of one run, and the centroid previews are compared with."""

    centroid: list[float]
    ceiling: float  # mean cosine of the held-out clips to the centroid
    clips: int  # clips in the centroid
    held_out: int
    floor: float | None = None  # mean cosine of the step-0 previews; set once
    floor_step: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reference:
        return cls(centroid=[float(v) for v in data["centroid"]], ceiling=float(data["ceiling"]),
                   clips=int(data["clips"]), held_out=int(data["held_out"]),
                   floor=None if data.get("floor") is None else float(data["floor"]),
                   floor_step=None if data.get("floor_step") is None else int(data["floor_step"]))

    def cosine(self, embedding: np.ndarray) -> float:
        return float(np.dot(_unit(embedding), _unit(np.asarray(self.centroid))))

    def likeness(self, cosine: float | None) -> float | None:
        """`cosine` on the run's scale (0 start, 1 the speaker); None before the floor is known."""
        if cosine is None or self.floor is None or self.ceiling - self.floor < MIN_SPAN:
            return None
        return (cosine - self.floor) / (self.ceiling - self.floor)


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float64).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _weights_path() -> Path:
    try:
        import resemblyzer
    except ImportError as error:  # webrtcvad missing makes the import fail too
        raise LikenessUnavailable(
            f"Speaker likeness needs the resemblyzer package ({error}). Install it with "
            "`pip install --no-deps resemblyzer webrtcvad-wheels` (make install does).") from error
    return Path(resemblyzer.__file__).resolve().parent / "pretrained.pt"


def encoder() -> Any:
    """Resemblyzer's `VoiceEncoder` on the CPU, its weights loaded safely; one per process."""
    global _encoder
    with _lock:
        if _encoder is not None:
            return _encoder
        import torch
        from resemblyzer import hparams
        from resemblyzer.voice_encoder import VoiceEncoder

        path = _weights_path()
        try:
            saved = torch.load(str(path), map_location="cpu", weights_only=True)
            state = saved["model_state"]
        except Exception as error:  # unreadable, or not plain tensors: never unpickled
            raise LikenessUnavailable(f"The speaker encoder's weights {path} cannot be read "
                                      f"safely ({type(error).__name__}: {error}). Reinstall "
                                      "resemblyzer.") from error
        model = VoiceEncoder.__new__(VoiceEncoder)  # its __init__ would load the file again
        torch.nn.Module.__init__(model)
        model.lstm = torch.nn.LSTM(hparams.mel_n_channels, hparams.model_hidden_size,
                                   hparams.model_num_layers, batch_first=True)
        model.linear = torch.nn.Linear(hparams.model_hidden_size, hparams.model_embedding_size)
        model.relu = torch.nn.ReLU()
        model.device = torch.device("cpu")
        wanted = model.state_dict()
        if any(key not in state or tuple(state[key].shape) != tuple(value.shape)
               for key, value in wanted.items()):
            raise LikenessUnavailable(f"The speaker encoder's weights {path} do not fit its "
                                      "network. Reinstall resemblyzer.")
        model.load_state_dict({key: state[key] for key in wanted})
        model.eval()
        _encoder = model
        return model


def embed(samples: np.ndarray, sample_rate: int) -> np.ndarray | None:
    """The speaker embedding of float mono audio; None when it holds too little speech."""
    import torch
    from resemblyzer import preprocess_wav

    from voicelab.core.audio import resample

    audio = np.asarray(samples, dtype=np.float32).reshape(-1)
    audio = resample(np.nan_to_num(audio), int(sample_rate), _ENCODER_RATE)
    if audio.size < _ENCODER_RATE // 2:
        return None
    wav = preprocess_wav(audio, source_sr=_ENCODER_RATE)  # level and long pauses, as trained
    if wav.size < _ENCODER_RATE // 2:
        return None
    model = encoder()
    with torch.no_grad():
        return np.asarray(model.embed_utterance(wav), dtype=np.float64)


def _spread(items: Sequence[Any], limit: int) -> list[Any]:
    """At most `limit` items evenly spread over `items` (the same ones for the same input)."""
    if len(items) <= limit:
        return list(items)
    step = len(items) / float(limit)
    return [items[int(i * step)] for i in range(limit)]


def build_reference(clips: Sequence[Any], sample_rate: int, *, load: Any = None,
                    progress: ProgressCallback = no_progress,
                    cancel: CancelToken | None = None) -> Reference | None:
    """The dataset's anchors from its clips (each audio, or anything `load` turns into audio).

    Every fifth clip (at least 2, at most 10) is held out; the centroid is the mean
    embedding of the rest and the ceiling the held-out clips' mean cosine to it. None when
    fewer than 3 clips hold enough speech.
    """
    chosen = _spread(list(clips), MAX_CLIPS)
    embeddings = []
    for index, clip in enumerate(chosen):
        if cancel is not None:
            cancel.raise_if_cancelled()
        progress(index, len(chosen), f"Listening to the dataset's speaker: clip {index + 1} of {len(chosen)}")
        vector = embed(load(clip) if load is not None else clip, sample_rate)
        if vector is not None:
            embeddings.append(_unit(vector))
    progress(len(chosen), len(chosen), "The dataset's speaker is known")
    if len(embeddings) < 3:
        return None
    held = max(2, min(10, round(len(embeddings) * HELD_OUT_SHARE)))
    held = min(held, len(embeddings) - 1)
    held_idx = set(_spread(range(len(embeddings)), held))
    rest = [e for i, e in enumerate(embeddings) if i not in held_idx]
    centroid = _unit(np.mean(rest, axis=0))
    ceiling = float(np.mean([np.dot(embeddings[i], centroid) for i in sorted(held_idx)]))
    return Reference(centroid=[round(float(v), 7) for v in centroid], ceiling=round(ceiling, 6),
                     clips=len(rest), held_out=len(held_idx))


def load_reference(run_dir: Path) -> Reference | None:
    path = Path(run_dir) / REFERENCE_FILE
    try:
        return Reference.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_reference(run_dir: Path, reference: Reference) -> None:
    from voicelab.core.fileio import atomic_write_text

    atomic_write_text(Path(run_dir) / REFERENCE_FILE, json.dumps(reference.to_dict()))
