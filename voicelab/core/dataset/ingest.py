"""Finding and checking the recordings a user hands to a dataset.

People drop whole folders: phone exports with videos, a stray `notes.txt`, a recording
that was still being copied. Every file is checked on its own and a bad one becomes a
`FileProblem` with the reason (empty, truncated, not audio, silent, unreadable), so one
broken file never stops a batch. Decoding is `voicelab.core.audio`'s (libsndfile, then
PyAV/FFmpeg for M4A/AAC/Opus/WebM and the audio track of MP4/MKV; mono; soxr).

A recording is decoded block by block straight into the dataset's work copy (`decode_to`):
a two-hour file is over a gigabyte as float samples, and nothing downstream needs it whole
(transcription reads the work copy back in windows, see `asr.speech_windows`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicelab.core.audio import READ_EXTENSIONS, audio_blocks, info, resample_blocks, write_audio_blocks
from voicelab.core.errors import AudioError, VoiceLabError
from voicelab.core.fileio import sha256_file
from voicelab.core.progress import CancelToken

#: A recording whose loudest sample is under this (-60 dBFS) holds no usable speech.
SILENT_PEAK = 0.001
#: Shorter than this cannot hold a clip at all.
MIN_SECONDS = 0.3


@dataclass(frozen=True)
class FileProblem:
    """A file that was skipped, and why (the reason is a sentence meant for the user)."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return self.reason if str(self.path) in self.reason else f"{self.path}: {self.reason}"


@dataclass
class Decoded:
    """A recording decoded into a work copy: mono 16-bit WAV at `rate`."""

    path: Path  # the recording
    work: Path  # its decoded copy
    rate: int
    duration: float  # seconds
    peak: float  # loudest sample, 0..1


def find_audio(paths: Iterable[os.PathLike]) -> tuple[list[Path], list[FileProblem]]:
    """The files to import from files and folders (searched recursively), in a stable order.

    Inside folders only known audio/video endings are taken and hidden files are skipped;
    a file named directly is always tried, so "not audio" is reported rather than ignored.
    """
    found: list[Path] = []
    problems: list[FileProblem] = []
    seen = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            inside = _audio_in_folder(path)
            if not inside:
                problems.append(FileProblem(path, f"{path} holds no audio files (looked for "
                                                  f"{', '.join(e.lstrip('.') for e in READ_EXTENSIONS)})."))
            candidates = inside
        elif path.exists() or path.is_symlink():
            candidates = [path]
        else:
            problems.append(FileProblem(path, f"{path} does not exist."))
            continue
        for candidate in candidates:
            key = os.path.normcase(os.path.abspath(candidate))
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found, problems


def _audio_in_folder(folder: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith(".") and Path(name).suffix.lower() in READ_EXTENSIONS:
                files.append(Path(root) / name)
    return files


def header_seconds(path: Path) -> float | None:
    """The duration a file's header promises, for progress totals; None if unknown.

    Raises `AudioError` for a file that cannot be audio at all (empty, unreadable, not
    audio), which catches most bad files before any decoding.
    """
    seconds = info(path).duration
    return seconds if seconds and seconds > 0 else None


def decode_to(path: Path, target: Path, rate: int,
              cancel: CancelToken | None = None) -> Decoded:
    """Decode a whole file into `target` (mono 16-bit WAV at `rate`), a block at a time.

    `AudioError` says why a file is unusable (damaged, truncated, too short, silent); then
    `target` is not written, since the checks run before the atomic write is committed.
    Memory stays at a few blocks whatever the recording's length.
    """
    own_rate, blocks = audio_blocks(path)
    seen = {"frames": 0, "peak": 0.0}

    def measured(stream: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        for block in stream:
            if cancel is not None:
                cancel.raise_if_cancelled()
            if block.shape[0]:
                seen["frames"] += block.shape[0]
                seen["peak"] = max(seen["peak"], float(np.max(np.abs(block))))
            yield block
        _check_usable(path, seen["frames"] / rate, seen["peak"])  # before the file is kept

    write_audio_blocks(target, measured(resample_blocks(blocks, own_rate, rate)), rate, "wav")
    return Decoded(Path(path), Path(target), rate, seen["frames"] / rate, seen["peak"])


def _check_usable(path: Path, seconds: float, peak: float) -> None:
    if seconds < MIN_SECONDS:
        raise AudioError(f"{path} is too short ({seconds:.2f} s) to hold speech.")
    if peak < SILENT_PEAK:
        level = "digital silence" if peak == 0 else f"its loudest sample is {20 * np.log10(peak):.0f} dBFS"
        raise AudioError(f"{path} is silent ({level}); check the recording's input and level.")


def file_sha256(path: Path) -> str:
    """The content hash the store uses to recognise a file it already holds."""
    try:
        return sha256_file(path)
    except PermissionError:
        raise AudioError(f"{path} cannot be read: permission denied.") from None
    except OSError as exc:
        raise AudioError(f"{path} cannot be read: {exc.strerror or exc}.") from None


def problem_from(path: Path, error: VoiceLabError) -> FileProblem:
    """The problem to list for `path`. A file with an ending no audio has (notes.txt) is
    simply "not audio": FFmpeg opens text as a picture and would say "no audio track"."""
    path = Path(path)
    if path.suffix.lower() not in READ_EXTENSIONS and path.is_file():
        ending = path.suffix or "no ending"
        return FileProblem(path, f"{path} is not an audio file ({ending}); VoiceLab reads "
                                 f"{', '.join(e.lstrip('.').upper() for e in READ_EXTENSIONS[:9])} "
                                 "and the audio of video files.")
    return FileProblem(path, str(error))
