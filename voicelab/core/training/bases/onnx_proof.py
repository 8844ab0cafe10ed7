"""The proof that a voice rebuilt from its .onnx is the voice: both speak, the waves agree.

A conversion can go wrong silently (a weight placed in the wrong layer still has the right
shape, a folded constant un-folded with the wrong sign), and a base that is subtly not the
voice would waste a whole fine-tune. So every conversion is checked end to end: the
rebuilt PyTorch generator and onnxruntime on the original file speak the same phonemes with
zero noise (scales 0, 1, 0: deterministic durations and latents) and must give the same
number of samples with a correlation of at least `onnx_voice.MIN_CORRELATION`. On joe this
costs about a second and gives 0.9999999997.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicelab.core.training.vits.voice_config import sample_phoneme_ids


@dataclass
class Proof:
    """Rebuilt generator against onnxruntime, one sentence, zero noise."""

    correlation: float
    max_abs_diff: float
    samples: int
    onnx_samples: int

    def to_dict(self) -> dict[str, Any]:
        return {"correlation": self.correlation, "max_abs_diff": self.max_abs_diff,
                "samples": self.samples, "onnx_samples": self.onnx_samples}


def prove_conversion(generator: Any, path: Path, config: Mapping[str, Any], arch: Mapping[str, Any]
                     ) -> Proof:
    """Speak one sentence with zero noise through both; compare the waveforms."""
    import onnxruntime
    import torch

    ids = sample_phoneme_ids(config, int(arch["num_symbols"]))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = {"input": np.array([ids], dtype=np.int64), "input_lengths": np.array([len(ids)], dtype=np.int64),
             "scales": np.array([0.0, 1.0, 0.0], dtype=np.float32)}
    multi = int(arch["num_speakers"]) > 1
    if multi:
        feeds["sid"] = np.array([0], dtype=np.int64)
    expected = session.run(None, feeds)[0].reshape(-1).astype(np.float64)
    modes = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            sid = torch.tensor([0], dtype=torch.long) if multi else None
            audio = generator.infer(torch.tensor([ids], dtype=torch.long),
                                    torch.tensor([len(ids)], dtype=torch.long), sid=sid,
                                    noise_scale=0.0, length_scale=1.0, noise_scale_w=0.0)[0]
    finally:
        generator.train(modes)
    actual = audio.reshape(-1).double().cpu().numpy()
    if actual.size != expected.size or actual.size < 2:
        return Proof(0.0, float("inf"), int(actual.size), int(expected.size))
    correlation = float(np.corrcoef(actual, expected)[0, 1]) if actual.std() > 0 and expected.std() > 0 else 0.0
    return Proof(correlation=correlation, max_abs_diff=float(np.max(np.abs(actual - expected))),
                 samples=int(actual.size), onnx_samples=int(expected.size))
