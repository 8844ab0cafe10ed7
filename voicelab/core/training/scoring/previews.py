"""Previews: the voice in training speaks a few sentences, and Whisper scores what it hears.

A loss curve does not tell a user whether the voice is any good; hearing it does, and a
word error rate turns "can I understand it?" into a number the checkpoint ranking can use.
Every preview round synthesizes the same sentences with the current weights (eval mode, no
gradients, the training RNG untouched so previews do not change the run, a fixed seed so
two rounds differ only by what the model learned), writes each as a WAV under
`previews/step_000120/00.wav`, transcribes it, and records WER against the sentence.

Text goes to phoneme ids exactly as piper's trainer and `infer_torch.py` do it: piper's
espeak-ng bridge (`EspeakPhonemizer`), one list of phonemes per sentence, ids through
`phonemes_to_ids` with the run's phoneme map (piper's default map unless the data's
config says otherwise; by default the run's `config.json` is found above the preview
folder). Each espeak sentence is synthesized alone and the pieces joined,
as piper's inference does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from voicelab.core.progress import CancelToken, ProgressCallback, no_progress

PREVIEW_SCALES = (0.667, 1.0, 0.8)  # noise, length, noise_w: piper's inference defaults
MANIFEST = "previews.json"
_espeak_lock = threading.Lock()
_phonemizer: Any = None


@dataclass(frozen=True)
class Preview:
    """One preview sentence as spoken at one step."""

    path: Path
    text: str
    heard: str | None  # None when no Whisper model was given
    wer: float | None
    #: pitch.PitchStats.to_dict(): median F0, its spread, the share at the frame rate
    pitch: dict | None = None
    #: cosine to the dataset speaker's centroid, and on the run's 0–1 scale (likeness.py)
    similarity: float | None = None
    likeness: float | None = None
    #: DNSMOS overall score, 1–5 (naturalness.py)
    naturalness: float | None = None
    #: F0 of its voiced frames (pitch.f0_track), for the round's pooled numbers; not saved
    f0: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "text": self.text, "heard": self.heard, "wer": self.wer,
                "pitch": self.pitch, "similarity": self.similarity, "likeness": self.likeness,
                "naturalness": self.naturalness}


def _run_voice_config(folder: Path) -> dict | None:
    """The run's voice config (`config.json` with a phoneme map) above a preview folder."""
    from voicelab.core.training.vits.voice_config import find_run_config

    found = find_run_config(folder / "previews.json")
    if found is None:
        return None
    try:
        return json.loads(found.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def default_sentences() -> list[str]:
    """The bundled preview sentences (resources/preview_sentences.txt)."""
    from voicelab.resources import resource_path

    lines = resource_path("preview_sentences.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def mean_wer(previews: Sequence[Preview]) -> float | None:
    return _mean([p.wer for p in previews])


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def round_pitch(previews: Sequence[Preview]) -> dict | None:
    """A round's pitch numbers over its previews' voiced frames together (pitch.pooled, as
    the research and the bench measure a voice), None when no preview was voiced."""
    from voicelab.core.training.scoring.pitch import pooled

    tracked = [p for p in previews if p.f0 is not None]  # tracked previews have their pitch too
    if not tracked:
        return None
    stats = pooled([p.f0 for p in tracked], tracked[0].pitch["frame_rate_hz"])
    return stats.to_dict() if stats.voiced_frames else None


def _hop_of(model: Any) -> int:
    hparams = getattr(model, "hparams", None)
    try:
        return int(hparams["hop_length"]) if hparams is not None and "hop_length" in hparams else 256
    except (TypeError, ValueError, KeyError):
        return 256


def phoneme_ids(text: str, espeak_voice: str, id_map: Mapping[str, Sequence[int]] | None = None
                ) -> list[list[int]]:
    """Phoneme ids per espeak sentence, as piper's trainer makes them."""
    global _phonemizer
    from piper.phoneme_ids import phonemes_to_ids
    from piper.phonemize_espeak import EspeakPhonemizer

    with _espeak_lock:  # espeak-ng has one global state
        if _phonemizer is None:
            _phonemizer = EspeakPhonemizer()
        sentences = _phonemizer.phonemize(espeak_voice, text)
    return [phonemes_to_ids(phonemes, id_map) for phonemes in sentences if phonemes]


def _generator_of(model: Any) -> Any:
    """piper's `SynthesizerTrn`: the `model_g` of a VitsModel, or the generator itself."""
    return getattr(model, "model_g", model)


def _sample_rate_of(model: Any, sample_rate: int | None) -> int:
    if sample_rate is not None:
        return int(sample_rate)
    hparams = getattr(model, "hparams", None)
    if hparams is not None and "sample_rate" in hparams:
        return int(hparams["sample_rate"])
    raise ValueError("the model does not say its sample rate; pass sample_rate")


def synthesize(model: Any, text: str, *, espeak_voice: str = "en-us",
               phoneme_id_map: Mapping[str, Sequence[int]] | None = None,
               speaker_id: int | None = None, seed: int = 0,
               scales: Sequence[float] = PREVIEW_SCALES) -> np.ndarray:
    """`text` spoken with the model's current weights, float32, peak-normalized.

    Leaves the model in the mode it was in (train or eval) and the global RNG as it was.
    """
    import torch

    generator = _generator_of(model)
    parameter = next(generator.parameters())
    device = parameter.device
    modes = [(module, module.training) for module in model.modules()]
    devices = [device.index or 0] if device.type == "cuda" else []
    pieces: list[np.ndarray] = []
    sid = None
    if int(getattr(generator, "n_speakers", 1)) > 1:
        sid = torch.tensor([int(speaker_id or 0)], dtype=torch.long, device=device)
    try:
        model.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            for ids in phoneme_ids(text, espeak_voice, phoneme_id_map):
                x = torch.tensor([ids], dtype=torch.long, device=device)
                lengths = torch.tensor([len(ids)], dtype=torch.long, device=device)
                audio = generator.infer(x, lengths, sid=sid, noise_scale=scales[0],
                                        length_scale=scales[1], noise_scale_w=scales[2])[0]
                pieces.append(audio.detach().float().cpu().numpy().reshape(-1))
    finally:  # each module back as it was: a trainer may keep some parts frozen in eval
        for module, training in modes:
            module.training = training
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    samples = np.concatenate(pieces).astype(np.float32)
    samples = np.nan_to_num(samples)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return samples / max(peak, 0.01)  # as piper's preview audio: louder, never divided by ~0


def write_previews(model: Any, sentences: list[str], out_dir: Path, *, step: int, epoch: int,
                   asr_model_path: Path | None, espeak_voice: str | None = None,
                   phoneme_id_map: Mapping[str, Sequence[int]] | None = None,
                   sample_rate: int | None = None, speaker_id: int | None = None,
                   language: str | None = None, seed: int = 0,
                   progress: ProgressCallback | None = None,
                   cancel: CancelToken | None = None, pitch: bool = True,
                   speaker: Any = None, naturalness: bool = True) -> list[Preview]:
    """Speak each sentence with the model, write `out_dir/NN.wav`, score it.

    `out_dir` is this round's folder. `model` is piper's `VitsModel` (or its generator,
    with `sample_rate`). The espeak voice and phoneme map are the arguments', else those of
    the run's `config.json` found above `out_dir`, else en-us and piper's default map. WAVs
    and the folder's `previews.json` (text, heard, WER per file, plus step and epoch) are
    written atomically. With `asr_model_path` (a faster-whisper model folder) each preview
    is transcribed and gets a WER; without it `heard` and `wer` are None. With `pitch` each
    preview also gets its pitch numbers (`pitch.py`: median F0, spread, frame-rate share),
    so a user sees the frame-rate buzz beside intelligibility. With `speaker` (a
    `likeness.Reference` of the run's dataset) each preview gets its similarity to the
    speaker and its likeness; a reference without a floor takes this round's mean similarity
    as its floor (the step-0 round: likeness 0 is where the run started), which the caller
    then saves. With `naturalness` each preview gets its DNSMOS score (None where speechmos
    is missing).
    """
    from voicelab.core.audio import write_audio
    from voicelab.core.fileio import atomic_write_text

    report = progress or no_progress
    rate = _sample_rate_of(model, sample_rate)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if espeak_voice is None or phoneme_id_map is None:
        run_config = _run_voice_config(folder) or {}
        espeak_voice = espeak_voice or (run_config.get("espeak") or {}).get("voice") or "en-us"
        phoneme_id_map = phoneme_id_map or run_config.get("phoneme_id_map")
    lang = language or espeak_voice.split("-")[0]
    previews: list[Preview] = []
    total = len(sentences)
    for index, sentence in enumerate(sentences):
        if cancel is not None:
            cancel.raise_if_cancelled()
        report(index, total, f"Preview {index + 1} of {total}")
        samples = synthesize(model, sentence, espeak_voice=espeak_voice,
                             phoneme_id_map=phoneme_id_map, speaker_id=speaker_id,
                             seed=seed + index)
        path = folder / f"{index:02d}.wav"
        if samples.size == 0:  # nothing to say (punctuation only): a short silence
            samples = np.zeros(int(rate * 0.1), dtype=np.float32)
        write_audio(path, samples, rate)
        heard: str | None = None
        score: float | None = None
        if asr_model_path is not None:
            from voicelab.core.training.scoring.listen import transcribe
            from voicelab.core.training.scoring.wer import wer

            heard = transcribe(samples, rate, Path(asr_model_path), language=lang)
            score = wer(sentence, heard, lang)
        stats, track = None, None
        if pitch:
            from voicelab.core.training.scoring.pitch import f0_track, stats_of

            track = f0_track(samples, rate)
            stats = stats_of(track, rate / _hop_of(model)).to_dict()
        similarity = None
        if speaker is not None:
            from voicelab.core.training.scoring.likeness import embed

            vector = embed(samples, rate)
            similarity = None if vector is None else round(speaker.cosine(vector), 6)
        previews.append(Preview(path=path, text=sentence, heard=heard, wer=score, pitch=stats,
                                similarity=similarity, f0=track,
                                naturalness=_naturalness(samples, rate) if naturalness else None))
    similarity = _mean([p.similarity for p in previews])
    if speaker is not None and speaker.floor is None and similarity is not None:
        speaker.floor, speaker.floor_step = round(similarity, 6), int(step)
    if speaker is not None:
        previews = [replace(p, likeness=_rounded(speaker.likeness(p.similarity))) for p in previews]
    manifest = {
        "step": int(step), "epoch": int(epoch), "sample_rate": rate,
        "wer": mean_wer(previews), "pitch": round_pitch(previews), "similarity": _rounded(similarity),
        "likeness": round_likeness(previews, speaker),
        "naturalness": _rounded(_mean([p.naturalness for p in previews])),
        "previews": [dict(p.to_dict(), path=p.path.name) for p in previews],
    }
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
    report(total, total, f"Previews for step {step} written")
    return previews


def round_likeness(previews: Sequence[Preview], speaker: Any) -> float | None:
    """A round's likeness: its mean similarity on the run's scale (None without a reference)."""
    if speaker is None:
        return None
    return _rounded(speaker.likeness(_mean([p.similarity for p in previews])))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


_naturalness_missing: list[str] = []


def _naturalness(samples: np.ndarray, rate: int) -> float | None:
    """The clip's DNSMOS score; None (said once in the log) where speechmos cannot run."""
    from voicelab.core.training.scoring.naturalness import NaturalnessUnavailable, naturalness

    try:
        value = naturalness(samples, rate)
    except NaturalnessUnavailable as error:
        if not _naturalness_missing:
            _naturalness_missing.append(str(error))
            import logging

            logging.getLogger(__name__).warning("no naturalness scores: %s", error)
        return None
    return _rounded(value)
