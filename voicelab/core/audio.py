"""Reading, converting and writing audio files, for every part of VoiceLab.

One place decodes whatever a user drops on the app (WAV, FLAC, OGG, MP3 through
libsndfile; M4A/AAC, Opus, WebM and the audio track of MP4/MKV through PyAV/FFmpeg) into
the one shape the rest of the core works with: float32 mono samples at a chosen rate,
resampled with soxr at high quality. A file that cannot be used raises `AudioError` whose
text names the file and says why (empty, truncated, not audio, unreadable), because that
text ends up in a dialog in front of the user.

Writes go through `atomic_open`, so an export that fails halfway never leaves a half file
where a good one was. Nothing here imports piper or Qt: the dataset pipeline uses it too.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

from voicelab.core.errors import VoiceLabError
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

_BLOCK_FRAMES = 1 << 20  # decode in blocks so a long stereo file never sits in memory twice
_RESAMPLE_QUALITY = "HQ"


class AudioError(VoiceLabError):
    """An audio file could not be read or written; the message names the file and why."""


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, read from its header without decoding the audio."""

    path: Path
    duration: float  # seconds
    sample_rate: int
    channels: int
    format: str  # container/codec as the decoder names it, e.g. "WAV PCM_16" or "mov,mp4 aac"


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


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels of a (frames, channels) array; 1-D input is returned as is."""
    samples = np.asarray(samples)
    if samples.ndim == 1:
        return samples.astype(np.float32, copy=False)
    if samples.ndim != 2:
        raise ValueError(f"audio must be 1-D or (frames, channels), got shape {samples.shape}")
    if samples.shape[1] == 1:
        return samples[:, 0].astype(np.float32, copy=False)
    return samples.mean(axis=1, dtype=np.float32)


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
    try:
        rate, blocks = _soundfile_blocks(file)
    except _NotForSoundfile:
        rate, blocks = _pyav_blocks(file)
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
    file = _check_readable(path)
    import soundfile

    try:
        found = soundfile.info(str(file))
    except Exception:  # libsndfile does not know it: ask FFmpeg
        return _info_pyav(file)
    if found.frames <= 0 and found.format == "OGG":
        return _info_pyav(file)  # truncated Ogg reports no frames; FFmpeg says why
    return AudioInfo(
        path=file,
        duration=found.frames / found.samplerate if found.samplerate else 0.0,
        sample_rate=int(found.samplerate),
        channels=int(found.channels),
        format=f"{found.format} {found.subtype}",
    )


class _NotForSoundfile(Exception):
    """libsndfile cannot open this file; PyAV should try."""


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


# libsndfile's log line for a WAV whose data chunk is longer than the file: "data : 352800 (should be 176378)"
_SHORT_DATA_CHUNK = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
_UNKNOWN_LENGTHS = {0, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFF - 1}  # streaming writers leave these


def _soundfile_blocks(file: Path) -> tuple[int, Iterator[np.ndarray]]:
    import soundfile

    try:
        handle = soundfile.SoundFile(str(file))
    except Exception as exc:
        raise _NotForSoundfile() from exc
    try:
        rate = int(handle.samplerate)
        _reject_short_data_chunk(file, handle.extra_info, handle.channels, rate)
        if handle.format == "OGG" and handle.frames <= 0:
            raise _NotForSoundfile()  # truncated Ogg: let FFmpeg try (and name the reason)
    except BaseException:
        handle.close()
        raise
    return rate, _soundfile_read(file, handle, rate)


def _soundfile_read(file: Path, handle, rate: int) -> Iterator[np.ndarray]:
    with handle:
        declared = handle.frames
        major = handle.format
        got = 0
        try:
            while True:
                block = handle.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    break
                got += block.shape[0]
                yield to_mono(block)
        except GeneratorExit:
            raise
        except Exception as exc:
            raise AudioError(
                f"{file} is damaged or truncated: decoding stopped after {got / rate if rate else 0:.1f} s "
                f"({_first_line(exc)})."
            ) from None
    if major == "MP3" and declared > 0 and got < 0.95 * declared - rate * 0.1:
        raise AudioError(
            f"{file} is truncated: its header promises {declared / rate:.1f} s of audio but "
            f"only {got / rate:.1f} s could be decoded."
        )
    if got == 0 and major == "OGG":  # FFmpeg may read what libsndfile could not
        pyav_rate, blocks = _pyav_blocks(file)
        if pyav_rate == rate:
            yield from blocks


def _reject_short_data_chunk(file: Path, log: str, channels: int, rate: int) -> None:
    match = _SHORT_DATA_CHUNK.search(log or "")
    if not match:
        return
    declared, actual = int(match.group(1)), int(match.group(2))
    if declared in _UNKNOWN_LENGTHS or declared <= actual:
        return
    bytes_per_second = None
    width = re.search(r"Bit Width\s*:\s*(\d+)", log)
    if width and channels and rate:
        bytes_per_second = int(width.group(1)) // 8 * channels * rate
    if bytes_per_second:
        detail = (f"its header promises {declared / bytes_per_second:.1f} s of audio but the file "
                  f"holds only {actual / bytes_per_second:.1f} s")
    else:
        detail = f"its header promises {declared} bytes of audio but the file holds {actual}"
    raise AudioError(f"{file} is truncated: {detail}. Export or copy it again.")


def _open_pyav(file: Path):
    import av

    try:
        return av.open(str(file), metadata_errors="ignore")
    except av.error.EOFError:
        raise AudioError(f"{file} is truncated: it ends before any audio.") from None
    except av.error.InvalidDataError:
        raise AudioError(
            f"{file} is not an audio file VoiceLab can read (or it is damaged or truncated)."
        ) from None
    except PermissionError:
        raise AudioError(f"{file} cannot be read: permission denied.") from None
    except (av.error.FFmpegError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or _first_line(exc)
        raise AudioError(
            f"{file} could not be opened as audio (FFmpeg: {reason}); it may be damaged or truncated."
        ) from None


def _audio_stream(file: Path, container):
    streams = list(container.streams.audio)
    if not streams:
        if container.streams.video:
            raise AudioError(f"{file} has no audio track: it holds only video or a picture.")
        raise AudioError(f"{file} has no audio track.")
    return streams[0]


def _pyav_blocks(file: Path) -> tuple[int, Iterator[np.ndarray]]:
    container = _open_pyav(file)
    try:
        stream = _audio_stream(file, container)
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        if rate <= 0:
            raise AudioError(f"{file} does not say its sample rate; it may be damaged.")
    except BaseException:
        container.close()
        raise
    return rate, _pyav_read(file, container, stream, rate)


def _pyav_read(file: Path, container, stream, rate: int) -> Iterator[np.ndarray]:
    import av

    with container:
        declared = _declared_seconds(container, stream)
        got = 0
        # Planar float keeps the channel layout and rate; mixing down and resampling are ours,
        # so both decode paths give the same result for the same audio.
        converter = av.AudioResampler(format="fltp", rate=rate)
        try:
            for frame in itertools.chain(_decode(container, stream), [None]):
                for converted in converter.resample(frame):
                    block = converted.to_ndarray().mean(axis=0, dtype=np.float32)
                    got += block.shape[0]
                    yield block
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            if not got:
                raise AudioError(
                    f"{file} could not be decoded ({_first_line(exc)}); it is damaged or not audio."
                ) from None
            raise AudioError(
                f"{file} is damaged or truncated: decoding stopped after {got / rate:.1f} s "
                f"({_first_line(exc)})."
            ) from None
    if declared is not None and declared > 0.5 and got / rate < 0.9 * declared - 0.1:
        raise AudioError(
            f"{file} is truncated: its header promises {declared:.1f} s of audio but only "
            f"{got / rate:.1f} s could be decoded."
        )


def _decode(container, stream) -> Iterator:
    for packet in container.demux(stream):
        yield from packet.decode()


def _declared_seconds(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        import av

        return container.duration / av.time_base
    return None


def _info_pyav(file: Path) -> AudioInfo:
    container = _open_pyav(file)
    with container:
        stream = _audio_stream(file, container)
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        channels = int(stream.codec_context.channels or 0)
        duration = _declared_seconds(container, stream)
        if duration is None:  # some WebM/Matroska files carry no duration: add up packets
            total = 0
            for packet in container.demux(stream):
                if packet.duration:
                    total += packet.duration
            duration = float(total * stream.time_base) if stream.time_base else 0.0
        codec = stream.codec_context.name
        return AudioInfo(path=file, duration=duration, sample_rate=rate, channels=channels,
                         format=f"{container.format.name} {codec}")


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
        raise AudioError(f"Cannot write {target}: {_first_line(exc)}.") from None
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


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else exc.__class__.__name__
