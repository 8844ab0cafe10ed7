"""Saving speech where the user wants it: one clip, or a batch of numbered clips.

One clip: any of WAV, FLAC, OGG (Vorbis) or MP3 at any sample rate (resampled with soxr),
MP3 at a chosen bitrate. Its file is named after what it says ("Hello from my own voice!"
→ `hello-from-my-own-voice.mp3`), so a folder of exports reads like a list of lines, not
of timestamps; `export_name` proposes that name, free in the folder.
(`names.export_name`, kept with the other names: the export dialog needs it without the
synthesis engine). Batch: a text file with one line per clip becomes a folder of numbered clips plus
`metadata.csv` (`file|text`, the layout TTS datasets use). Every line is checked before
the first clip is made, so a bad character on line 90 is reported at once, not after 89
clips. On Cancel the clips already made stay, and the CSV lists exactly those.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicelab.core.audio import format_for_path, read_audio, resample, write_audio
from voicelab.core.errors import Cancelled
from voicelab.core.fileio import atomic_write_text
from voicelab.core.progress import CancelToken, ProgressCallback, no_progress
from voicelab.core.synthesis.engine import SynthesisOptions, sentences_for, synthesize
from voicelab.core.synthesis.errors import SynthesisError, TextError
from voicelab.core.synthesis.history import HistoryEntry
from voicelab.core.synthesis.model import SpeechModel

BATCH_INDEX = "metadata.csv"


def export_audio(samples: np.ndarray, sample_rate: int, path: Path, format: str | None = None,
                 output_rate: int | None = None, mp3_kbps: int | None = None) -> Path:
    """Write audio as `format` (default: from the file ending) at `output_rate` (default: as
    is); an MP3 at `mp3_kbps` (default: the encoder's choice)."""
    fmt = format or format_for_path(path)
    rate = output_rate or sample_rate
    return write_audio(path, resample(samples, sample_rate, rate), rate, fmt, mp3_kbps=mp3_kbps)


def export_entry(entry: HistoryEntry, path: Path, format: str | None = None,
                 output_rate: int | None = None, mp3_kbps: int | None = None) -> Path:
    """Save a clip from the history somewhere else, converted."""
    samples, rate = read_audio(entry.path)
    return export_audio(samples, rate, path, format, output_rate, mp3_kbps)


@dataclass(frozen=True)
class BatchResult:
    folder: Path
    clips: list[Path]
    index_path: Path


def read_batch_lines(path: Path) -> list[str]:
    """The non-blank lines of a UTF-8 text file, stripped; SynthesisError when there are none."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SynthesisError(f"The text file {path} does not exist.") from None
    except UnicodeDecodeError:
        raise SynthesisError(f"{path} is not a UTF-8 text file; save it as UTF-8 and try again.") from None
    except OSError as exc:
        raise SynthesisError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise SynthesisError(f"{path} has no lines of text to speak.")
    return lines


def _write_index(path: Path, rows: Sequence[tuple]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="|", lineterminator="\n")
    writer.writerow(("file", "text"))
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def export_batch(model: SpeechModel, lines: Sequence[str], folder: Path,
                 options: SynthesisOptions = SynthesisOptions(), format: str = "wav",
                 output_rate: int | None = None, mp3_kbps: int | None = None, *,
                 progress: ProgressCallback = no_progress,
                 cancel: CancelToken | None = None) -> BatchResult:
    """Speak each line into `folder/0001.<format>`, … and write `folder/metadata.csv`.

    Existing clips with the same numbers are replaced. Raises `TextError` naming the line
    when any line cannot be spoken, before anything is written.
    """
    for number, line in enumerate(lines, start=1):
        try:
            sentences_for(model, line)
        except TextError as exc:
            raise TextError(f"Line {number}: {exc}") from None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    width = max(4, len(str(len(lines))))
    rate = model.config.sample_rate
    clips: list[Path] = []
    rows: list[tuple] = []
    index_path = folder / BATCH_INDEX
    total = len(lines)
    progress(0, total, f"Clip 1 of {total}")
    try:
        for number, line in enumerate(lines, start=1):
            if cancel is not None:
                cancel.raise_if_cancelled()
            speech = synthesize(model, line, options, cancel=cancel)
            clip = folder / f"{number:0{width}d}.{format}"
            export_audio(speech.samples, rate, clip, format, output_rate, mp3_kbps)
            clips.append(clip)
            rows.append((clip.name, line))
            progress(number, total, f"Clip {number} of {total}")
    except Cancelled:
        _write_index(index_path, rows)
        raise
    _write_index(index_path, rows)
    return BatchResult(folder, clips, index_path)
