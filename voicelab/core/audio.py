"""Reading, converting and writing audio files, for every part of VoiceLab.

One place decodes whatever a user drops on the app (WAV, FLAC, OGG, MP3 through
libsndfile; M4A/AAC, Opus, WebM and the audio track of MP4/MKV through PyAV/FFmpeg) into
the one shape the rest of the core works with: float32 mono samples at a chosen rate,
resampled with soxr at high quality (the two decoders are in audio_decoders.py). A file
that cannot be used raises `AudioError` whose text names the file and says why (empty,
truncated, not audio, unreadable), because that text ends up in a dialog in front of the
user.

Writes go through `atomic_open`, so an export that fails halfway never leaves a half file
where a good one was. Nothing here imports piper or Qt: the dataset pipeline uses it too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Union

import numpy as np

from voicelab.core.audio_decoders import AudioInfo, decode_blocks, read_header
from voicelab.core.errors import AudioError, first_line
from voicelab.core.fileio import atomic_open

PathLike = Union[str, "os.PathLike[str]"]

#: Formats `write_audio` can produce, keyed by the name used in presets and file dialogs.
WRITE_FORMATS = ("wav", "flac", "ogg", "mp3")
_SOUNDFILE_FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}
#: MPEG audio only defines these rates; anything else must be resampled first.
MP3_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
#: MP3 bitrates offered for export, in kbps; 128 is clear speech at a modest size.
MP3_BITRATES = (64, 128, 192, 256)
DEFAULT_MP3_KBPS = 128
#: File name endings worth offering in an "open audio" dialog.
READ_EXTENSIONS = (
    ".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".mp4", ".m4v",
    ".mkv", ".mka", ".webm", ".aif", ".aiff", ".wma", ".mov",
)

_RESAMPLE_QUALITY = "HQ"


def format_for_path(path: PathLike) -> str:
    """The write format ('wav', 'flac', 'ogg', 'mp3') a file name asks for by its ending."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix == "oga":
        suffix = "ogg"
    if suffix not in WRITE_FORMATS:
        raise AudioError(
            f"Cannot write {Path(path).name}: VoiceLab writes {', '.join(WRITE_FORMATS).upper()} "
            f"files; choose one of those endings."
        )
    return suffix


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample float audio with soxr at high quality; no copy when the rates match."""
    samples = np.asarray(samples, dtype=np.float32)
    if from_rate == to_rate or samples.shape[0] == 0:
        return samples
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} → {to_rate}")
    import soxr

    return soxr.resample(samples, from_rate, to_rate, quality=_RESAMPLE_QUALITY).astype(
        np.float32, copy=False
    )


# --------------------------------------------------------------------------- reading


#: The speech level VoiceLab evens clips out to (dBFS RMS): the Dataset tab's "Even out
#: loudness" and the trainer's prepared clips (TrainConfig.clip_level_db) use this one figure.
SPEECH_LEVEL_DB = -20.0
#: A scaled clip's peak stays under this (-1 dBFS), so evening out never clips a loud syllable.
PEAK_CEILING = 0.891


def normalize_level(samples: np.ndarray, target_db: float, ceiling: float = PEAK_CEILING) -> np.ndarray:
    """`samples` scaled to an RMS of `target_db` dBFS, never letting the peak pass `ceiling`.

    One gain for the whole clip, so the voice's own dynamics stay; silence (RMS under
    -120 dBFS) is returned as it is.
    """
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if rms <= 1e-6 or peak <= 0:
        return samples
    gain = min(10 ** (target_db / 20) / rms, ceiling / peak)
    return (samples * gain).astype(np.float32)


def read_audio(path: PathLike, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Decode any common audio (or video) file to float32 mono samples.

    Returns `(samples, rate)`; `rate` is `sample_rate` when one was asked for (the audio is
    resampled with soxr), else the file's own rate. libsndfile is tried first because it is
    fast and exact for WAV/FLAC/OGG/MP3; anything it does not know goes to PyAV. For a file
    too long to hold in memory, `audio_blocks` gives the same samples a block at a time.
    """
    rate, blocks = audio_blocks(path)
    samples = np.concatenate(list(blocks))
    if sample_rate is not None:
        samples = resample(samples, rate, sample_rate)
        rate = sample_rate
    return samples, rate


def audio_blocks(path: PathLike) -> tuple[int, Iterator[np.ndarray]]:
    """The file's own rate and an iterator of its float32 mono samples in blocks.

    Why blocks: a two-hour recording is 1.3 GB as float32 at 44.1 kHz, twice that in
    stereo, so whoever only passes the audio on (to a work copy, to a resampler) should
    never hold it whole. The iterator raises `AudioError` where `read_audio` would: a file
    damaged or truncated part-way says so when the decoder reaches that point, and a file
    with no samples at all when it ends.
    """
    file = _check_readable(path)
    rate, blocks = decode_blocks(file)
    return rate, _checked(file, rate, blocks)


def resample_blocks(blocks: Iterable[np.ndarray], from_rate: int,
                    to_rate: int) -> Iterator[np.ndarray]:
    """Resample a stream of mono blocks with soxr's streaming resampler (same quality as
    `resample`), so a long recording changes rate without being held whole."""
    if from_rate == to_rate:
        yield from blocks
        return
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} → {to_rate}")
    import soxr

    stream = soxr.ResampleStream(from_rate, to_rate, 1, dtype="float32", quality=_RESAMPLE_QUALITY)
    for block in blocks:
        out = stream.resample_chunk(np.asarray(block, dtype=np.float32))
        if out.shape[0]:
            yield out
    out = stream.resample_chunk(np.zeros(0, np.float32), last=True)
    if out.shape[0]:
        yield out


def _checked(file: Path, rate: int, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """Blocks with non-finite samples repaired; an error at the end when there were none."""
    count = 0
    for block in blocks:
        if not np.all(np.isfinite(block)):
            block = np.nan_to_num(block, nan=0.0, posinf=1.0, neginf=-1.0)
        count += block.shape[0]
        yield block
    if count == 0:
        raise AudioError(f"{file} holds no audio samples; it may be truncated or still being written.")


def info(path: PathLike) -> AudioInfo:
    """Duration, rate and channels from the file's header (no full decode)."""
    return read_header(_check_readable(path))


def _check_readable(path: PathLike) -> Path:
    file = Path(path)
    try:
        stat = file.stat()
    except FileNotFoundError:
        raise AudioError(f"{file} does not exist.") from None
    except PermissionError:
        raise AudioError(f"{file} cannot be read: permission denied.") from None
    except OSError as exc:
        raise AudioError(f"{file} cannot be read: {exc.strerror or exc}.") from None
    if file.is_dir():
        raise AudioError(f"{file} is a folder, not an audio file.")
    if stat.st_size == 0:
        raise AudioError(f"{file} is empty (0 bytes).")
    if not os.access(file, os.R_OK):
        raise AudioError(f"{file} cannot be read: permission denied.")
    return file


# --------------------------------------------------------------------------- writing


def mp3_bitrate_range(sample_rate: int) -> tuple[int, int]:
    """The lowest and highest MP3 bitrate (kbps) at a sample rate: the MPEG version the rate
    belongs to decides (MPEG-1 from 32 kHz, MPEG-2 from 16 kHz, MPEG-2.5 below), so a
    22050 Hz voice cannot be written at 192 kbps unless it is resampled."""
    if sample_rate >= 32000:
        return 32, 320
    if sample_rate >= 16000:
        return 8, 160
    return 8, 64


def write_audio(path: PathLike, samples: np.ndarray, sample_rate: int,
                format: str | None = None, *, mp3_kbps: int | None = None) -> Path:
    """Write mono or (frames, channels) float audio atomically; returns the path.

    `format` is one of WRITE_FORMATS (default: from the file name). WAV and FLAC are
    16-bit PCM, OGG is Vorbis, MP3 is MPEG layer III at a constant `mp3_kbps` (default:
    the encoder's own choice; ignored for the other formats). Samples are clipped to
    [-1, 1] first, because libsndfile wraps out-of-range floats around when it converts to
    integers.
    """
    target = Path(path)
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[0] == 0:
        raise AudioError(f"Cannot write {target.name}: there is no audio to write.")
    blocks = (data[start:start + 65536] for start in range(0, data.shape[0], 65536))
    return write_audio_blocks(target, blocks, sample_rate, format, channels=data.shape[1],
                              mp3_kbps=mp3_kbps)


def write_audio_blocks(path: PathLike, blocks: Iterable[np.ndarray], sample_rate: int,
                       format: str | None = None, *, channels: int = 1,
                       mp3_kbps: int | None = None) -> Path:
    """`write_audio` for audio that arrives in blocks (a long recording converted as it is
    decoded); the file appears, atomically, only once the last block is written, and not
    at all when the blocks raise or hold no samples."""
    target = Path(path)
    fmt = (format or format_for_path(target)).lower()
    if fmt not in _SOUNDFILE_FORMATS:
        raise AudioError(f"Cannot write {target.name}: unknown format '{fmt}'; use one of "
                         f"{', '.join(WRITE_FORMATS)}.")
    if fmt == "mp3" and sample_rate not in MP3_SAMPLE_RATES:
        raise AudioError(
            f"Cannot write {target.name}: MP3 does not support {sample_rate} Hz; choose one of "
            f"{', '.join(str(r) for r in MP3_SAMPLE_RATES)} Hz."
        )
    encoder = _mp3_options(target, int(sample_rate), mp3_kbps) if fmt == "mp3" else {}
    major, subtype = _SOUNDFILE_FORMATS[fmt]
    import soundfile

    try:
        with atomic_open(target, "wb") as handle:
            with soundfile.SoundFile(handle, "w", samplerate=int(sample_rate), channels=channels,
                                     format=major, subtype=subtype, **encoder) as out:
                written = 0
                for block in blocks:
                    block = np.asarray(block, dtype=np.float32)
                    block = block[:, None] if block.ndim == 1 else block
                    out.write(np.clip(np.nan_to_num(block), -1.0, 1.0))
                    written += block.shape[0]
                if not written:
                    raise AudioError(f"Cannot write {target.name}: there is no audio to write.")
    except OSError as exc:
        raise AudioError(f"Cannot write {target}: {exc.strerror or exc}.") from None
    except (RuntimeError, ValueError) as exc:  # libsndfile refused the format or rate
        raise AudioError(f"Cannot write {target}: {first_line(exc)}.") from None
    return target


def _mp3_options(target: Path, sample_rate: int, kbps: int | None) -> dict:
    """libsndfile's settings for a constant MP3 bitrate. It takes a "compression level"
    from 0 (the highest bitrate of the rate's MPEG version) to 1 (the lowest), linear in
    between and truncated, so the level is aimed half a kbps below the bitrate asked for."""
    if kbps is None:
        return {}
    low, high = mp3_bitrate_range(sample_rate)
    if not low <= int(kbps) <= high:
        raise AudioError(
            f"Cannot write {target.name}: MP3 at {sample_rate} Hz carries {low} to {high} kbps, "
            f"not {kbps}; choose a lower bitrate" + (" or 32000 Hz or more." if high < 320 else ".")
        )
    level = (high - int(kbps) - 0.5) / (high - low)
    return {"compression_level": min(1.0, max(0.0, level)), "bitrate_mode": "CONSTANT"}

