"""The two decoders behind `audio.read_audio` and `audio.info`: libsndfile, then PyAV/FFmpeg.

Each turns a file into its own rate and float32 mono blocks, and each says in its own
way that a file is damaged or truncated; here those ways become one `AudioError` text
naming the file and why. audio.py checks the path first and the samples after, so these
functions take a file that exists and can be read. soundfile and av are imported inside
the functions: importing the audio module costs neither.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicelab.core.errors import AudioError, first_line

_BLOCK_FRAMES = 1 << 20  # decode in blocks so a long stereo file never sits in memory twice


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, read from its header without decoding the audio."""

    path: Path
    duration: float  # seconds
    sample_rate: int
    channels: int
    format: str  # container/codec as the decoder names it, e.g. "WAV PCM_16" or "mov,mp4 aac"


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


def decode_blocks(file: Path) -> tuple[int, Iterator[np.ndarray]]:
    """The file's own rate and its float32 mono samples in blocks: libsndfile when it
    knows the file (fast and exact for WAV/FLAC/OGG/MP3), else PyAV."""
    try:
        return _soundfile_blocks(file)
    except _NotForSoundfile:
        return _pyav_blocks(file)


def read_header(file: Path) -> AudioInfo:
    """Duration, rate and channels from the file's header (no full decode)."""
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
                f"({first_line(exc)})."
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
        reason = getattr(exc, "strerror", None) or first_line(exc)
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
                    f"{file} could not be decoded ({first_line(exc)}); it is damaged or not audio."
                ) from None
            raise AudioError(
                f"{file} is damaged or truncated: decoding stopped after {got / rate:.1f} s "
                f"({first_line(exc)})."
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
