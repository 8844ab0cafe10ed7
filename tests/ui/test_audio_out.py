"""Playback streams without audio hardware: the real output's callback, and the fake.

`SoundDeviceOutput._callback` is what PortAudio's thread calls; it is driven here by hand
with the buffers PortAudio would pass, so underrun, order and the end of a stream are
checked on a machine with no sound card.
"""

from __future__ import annotations

import numpy as np
import pytest

from voicelab.ui.audio_out import AudioOutputError, FakeAudioOutput, PlaybackQueue, SoundDeviceOutput


def _sounddevice():
    try:
        import sounddevice
    except (ImportError, OSError) as exc:  # OSError: no PortAudio library
        pytest.skip(f"sounddevice is not usable here: {exc}")
    return sounddevice


def _device_output(rate=1000):
    """A SoundDeviceOutput with a queue as `play_stream` makes it, but no device opened."""
    out = SoundDeviceOutput()
    out._queue = PlaybackQueue(rate)
    return out


def _buffer(frames=4):
    return np.full((frames, 1), 9.0, dtype=np.float32)  # PortAudio's buffer, not yet written


def test_callback_plays_silence_on_underrun_until_finish():
    sd = _sounddevice()
    out = _device_output()
    buf = _buffer()

    out._callback(buf, 4, None, None)  # nothing queued yet: silence, the stream goes on
    assert buf[:, 0].tolist() == [0, 0, 0, 0]

    out.append(np.arange(1, 7, dtype=np.float32))
    out._callback(buf, 4, None, None)
    assert buf[:, 0].tolist() == [1, 2, 3, 4]
    out.append(np.array([7, 8, 9], dtype=np.float32))
    out._callback(buf, 4, None, None)  # the rest of one append, then the next, in order
    assert buf[:, 0].tolist() == [5, 6, 7, 8]
    out._callback(buf, 4, None, None)  # ran dry mid-buffer: audio, then silence; not the end
    assert buf[:, 0].tolist() == [9, 0, 0, 0]
    out._callback(buf, 4, None, None)
    assert buf[:, 0].tolist() == [0, 0, 0, 0]
    assert out._queue.played_s() == pytest.approx(9 / 1000)  # silence does not move the cursor

    out.append(np.array([10, 11], dtype=np.float32))
    out.finish()
    with pytest.raises(sd.CallbackStop):  # the last buffer: PortAudio plays it, then stops
        out._callback(buf, 4, None, None)
    assert buf[:, 0].tolist() == [10, 11, 0, 0]


def test_callback_ends_on_the_buffer_that_takes_the_last_frames():
    sd = _sounddevice()
    out = _device_output()
    buf = _buffer()
    out.append(np.array([1, 2, 3, 4, 5, 6, 7, 8], dtype=np.float32))
    out.finish()
    out._callback(buf, 4, None, None)  # finished, but audio is left: keep going
    assert buf[:, 0].tolist() == [1, 2, 3, 4]
    with pytest.raises(sd.CallbackStop):
        out._callback(buf, 4, None, None)
    assert buf[:, 0].tolist() == [5, 6, 7, 8]


def test_finish_with_nothing_queued_ends_at_once():
    sd = _sounddevice()
    out = _device_output()
    out.finish()
    buf = _buffer()
    with pytest.raises(sd.CallbackStop):
        out._callback(buf, 4, None, None)
    assert not buf.any()


def test_queue_copies_mixes_down_and_refuses_audio_after_finish():
    queue = PlaybackQueue(8000)
    data = np.array([0.5, -0.5], dtype=np.float32)
    queue.append(data)
    data[:] = 0  # the caller reuses its array: the queued audio must not change
    queue.append(np.array([[0.2, 0.4], [1.0, 0.0]], dtype=np.float32))  # stereo → mono
    out = np.empty(4, dtype=np.float32)
    assert not queue.read_into(out)
    assert out.tolist() == pytest.approx([0.5, -0.5, 0.3, 0.5])
    queue.finish()
    with pytest.raises(RuntimeError):
        queue.append(np.ones(2))


def test_device_output_without_a_stream():
    out = SoundDeviceOutput()
    out.append(np.ones(10))  # no stream open: ignored, as after Stop
    out.finish()
    assert out.position_s() == 0.0 and not out.is_playing()
    if not out.available:  # this machine: no device; the reason reaches the user
        assert out.unavailable_reason.startswith("Playback is unavailable")
        with pytest.raises(AudioOutputError):
            out.play_stream(22050)


def test_fake_output_position_waits_for_audio_and_ends_after_finish():
    now = [0.0]
    fake = FakeAudioOutput(speed=1.0, clock=lambda: now[0])
    fake.play_stream(10)
    assert fake.is_playing() and fake.position_s() == 0.0  # open, nothing queued yet
    fake.append(np.ones(10))  # 1 s
    now[0] = 0.5
    assert fake.position_s() == pytest.approx(0.5)
    now[0] = 2.0
    assert fake.position_s() == pytest.approx(1.0) and fake.is_playing()  # underrun: waits
    fake.append(np.ones(10))
    now[0] = 2.5
    assert fake.position_s() == pytest.approx(1.5)
    fake.finish()
    now[0] = 3.5
    assert not fake.is_playing()
    assert len(fake.played) == 1 and len(fake.played[0][0]) == 20 and fake.played[0][1] == 10
    assert [(call, at, frames) for call, at, frames in fake.log] == [
        ("play_stream", 0.0, 0), ("append", 0.0, 10), ("append", 2.0, 10), ("finish", 2.5, 0)]
    with pytest.raises(RuntimeError):
        fake.append(np.ones(2))
    fake.stop()
    assert fake.position_s() == 0.0 and fake.stops == 1


def test_play_is_a_whole_stream():
    fake = FakeAudioOutput(speed=1000.0)
    fake.play(np.ones(5), 100)
    assert [call for call, _at, _frames in fake.log] == ["play_stream", "append", "finish"]
    assert fake.played[0][0].tolist() == [1.0] * 5
    unavailable = FakeAudioOutput(available=False, unavailable_reason="No device.")
    with pytest.raises(AudioOutputError, match="No device"):
        unavailable.play(np.ones(5), 100)
    assert unavailable.played == []
