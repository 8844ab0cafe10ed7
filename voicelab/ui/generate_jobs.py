"""The Generate tab's background work: each function is the body of one job.

Called on a worker thread by `workers.Job` as `func(*args, progress=..., cancel=...)`; the
synthesis and export modules (piper, onnxruntime, the encoders) are imported when a job
runs, so opening the app never loads them. The UI thread gets samples ready to play and
never reads or writes a clip itself.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np

from voicelab.core.audio import read_audio
from voicelab.core.synthesis.history import History, HistoryEntry
from voicelab.core.synthesis.presets import Preset
from voicelab.core.workspace import Workspace
from voicelab.ui.widgets.export_dialog import ExportChoice


def speak(workspace: Workspace, text: str, preset: Preset, history: History, *,
          progress, cancel, emit) -> tuple[HistoryEntry, np.ndarray, int]:
    """Worker side: emit each sentence as it is made (as the history will keep it), then
    read the clip back, so the UI thread never touches the disk."""
    from voicelab.core.synthesis.generate import generate_clip  # piper/onnxruntime: not at start-up

    def sentence_made(sentence) -> None:
        emit(dataclasses.replace(sentence, samples=as_stored(sentence.samples, sentence.sample_rate)))

    entry = generate_clip(workspace, text, preset, on_sentence=sentence_made, progress=progress,
                          cancel=cancel, history=history)
    samples, rate = read_audio(entry.path)
    return entry, samples, rate


def as_stored(samples: np.ndarray, rate: int) -> np.ndarray:
    """The samples as they read back from the history's 16-bit WAV file.

    Streaming these makes what was heard, the saved clip and its exports the same samples,
    not merely close (the history stores WAV, PCM_16; a test checks they stay equal)."""
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(samples, -1.0, 1.0), rate, format="WAV", subtype="PCM_16")
    buffer.seek(0)
    stored, _rate = soundfile.read(buffer, dtype="float32")
    return stored


def write_export(entry: HistoryEntry, choice: ExportChoice, *, progress, cancel) -> Path:
    path = choice.path
    progress(0, 1, f"Exporting {Path(path).name}")
    from voicelab.core.synthesis.export import export_entry

    result = export_entry(entry, path, output_rate=choice.sample_rate, mp3_kbps=choice.mp3_kbps)
    progress(1, 1, f"Exported {Path(path).name}")
    return result
