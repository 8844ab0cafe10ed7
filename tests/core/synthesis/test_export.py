"""Export (four formats, any rate), batch export, and the history of generated clips."""

from __future__ import annotations

import csv
import json

import av
import pytest
import soundfile

from tests.support.speech import transcribe, wer
from voicelab.core.errors import AudioError, Cancelled
from voicelab.core.names import NAME_LENGTH, clip_stem, export_name
from voicelab.core.progress import CancelToken
from voicelab.core.synthesis.engine import SynthesisOptions, synthesize
from voicelab.core.synthesis.errors import HistoryError, SynthesisError, TextError
from voicelab.core.synthesis.export import export_audio, export_batch, export_entry, read_batch_lines
from voicelab.core.synthesis.generate import generate_batch, generate_clip
from voicelab.core.synthesis.history import History
from voicelab.core.synthesis.presets import Preset
from voicelab.core.synthesis.voices import default_voice, load_voice

TEXT = "The same words should come back from every file we write."


@pytest.fixture(scope="module")
def joe():
    return load_voice(default_voice())


@pytest.fixture(scope="module")
def speech(joe):
    return synthesize(joe, TEXT)


@pytest.mark.parametrize("fmt, rate", [("wav", 22050), ("flac", 48000), ("ogg", 44100),
                                       ("mp3", 44100), ("mp3", 16000), ("wav", 8000)])
def test_export_formats_and_rates_read_back(tmp_path, speech, fmt, rate):
    path = export_audio(speech.samples, speech.sample_rate, tmp_path / f"clip.{fmt}", output_rate=rate)
    found = soundfile.info(str(path))
    assert found.samplerate == rate
    assert found.duration == pytest.approx(speech.duration, abs=0.06)


def test_exported_mp3_still_says_the_words(tmp_path, speech):
    path = export_audio(speech.samples, speech.sample_rate, tmp_path / "clip.mp3", output_rate=24000)
    samples, rate = soundfile.read(str(path), dtype="float32")
    assert wer(TEXT, transcribe(samples, rate)) <= 0.2


def _mp3_bitrate(path) -> int:
    """The bitrate the MP3's frames declare, as FFmpeg reads it."""
    with av.open(str(path)) as container:
        return container.streams.audio[0].codec_context.bit_rate


@pytest.mark.parametrize("rate, kbps", [(22050, 64), (22050, 128), (44100, 192), (44100, 256)])
def test_the_mp3_bitrate_chosen_is_the_bitrate_written(tmp_path, speech, rate, kbps):
    path = export_audio(speech.samples, speech.sample_rate, tmp_path / "clip.mp3", output_rate=rate,
                        mp3_kbps=kbps)
    assert _mp3_bitrate(path) == kbps * 1000
    # A constant bitrate: the file is the audio's length at that rate (plus headers and tags).
    assert path.stat().st_size == pytest.approx(speech.duration * kbps * 1000 / 8, rel=0.1, abs=1500)
    assert soundfile.info(str(path)).samplerate == rate


def test_an_mp3_bitrate_the_rate_cannot_carry_says_what_would(tmp_path, speech):
    with pytest.raises(AudioError, match="22050 Hz carries 8 to 160 kbps, not 192.*32000 Hz"):
        export_audio(speech.samples, speech.sample_rate, tmp_path / "clip.mp3", mp3_kbps=192)
    assert not (tmp_path / "clip.mp3").exists()


def test_a_history_clip_exports_at_the_bitrate_asked(workspace, tmp_path):
    entry = generate_clip(workspace, "Short and clear.", Preset(name="Default"))
    small = export_entry(entry, tmp_path / "small.mp3", mp3_kbps=64)
    large = export_entry(entry, tmp_path / "large.mp3", output_rate=44100, mp3_kbps=256)
    assert (_mp3_bitrate(small), _mp3_bitrate(large)) == (64_000, 256_000)
    assert large.stat().st_size > 3 * small.stat().st_size


@pytest.mark.parametrize("text, stem", [
    ("Hello from my own voice!", "hello-from-my-own-voice"),
    ("  Don't   stop -- it's *fine*?  ", "dont-stop-its-fine"),
    ("Café, Grüße & Ærø: 3.5 km/h", "cafe-grusse-ærø-3-5-km-h"),
    ("Привет, мир!", "привет-мир"),
    ("नमस्ते दुनिया", "नमस्ते-दुनिया"),  # the marks of the script stay inside its words
    ("東京へ行く。", "東京へ行く"),
    ("../../etc/passwd", "etc-passwd"),
    ('a/b\\c:d*e?f"g<h>i|j\tk\nl', "a-b-c-d-e-f-g-h-i-j-k-l"),
    ("", "clip"), ("   ", "clip"), ("?!… — ...", "clip"), ("🙂🙂", "clip"),
    ("Con", "con-clip"), ("nul.", "nul-clip"),  # names Windows keeps for devices
])
def test_an_export_is_named_after_what_it_says(text, stem):
    assert clip_stem(text) == stem


def test_a_long_text_gives_a_name_of_whole_words_within_the_limit():
    text = "This sentence is long enough to need cutting somewhere before its end, surely."
    stem = clip_stem(text)
    assert len(stem) <= NAME_LENGTH and text.lower().replace(" ", "-").startswith(stem)
    assert stem == "this-sentence-is-long-enough-to-need-cutting-somewhere"  # "-before" is 61
    assert clip_stem("x" * 200) == "x" * NAME_LENGTH  # one word too long is cut


def test_an_export_name_is_free_in_its_folder(tmp_path):
    text = "Hello from my own voice!"
    assert export_name(text, tmp_path, "mp3") == "hello-from-my-own-voice.mp3"
    (tmp_path / "hello-from-my-own-voice.mp3").write_bytes(b"")
    assert export_name(text, tmp_path, "mp3") == "hello-from-my-own-voice-2.mp3"
    assert export_name(text, tmp_path, "wav") == "hello-from-my-own-voice.wav"  # another ending
    (tmp_path / "hello-from-my-own-voice-2.mp3").write_bytes(b"")
    assert export_name(text, tmp_path, "mp3") == "hello-from-my-own-voice-3.mp3"
    assert export_name("", tmp_path, "flac") == "clip.flac"
    assert export_name(text, tmp_path / "not-there-yet", "mp3") == "hello-from-my-own-voice.mp3"


def test_batch_makes_numbered_clips_and_a_csv(tmp_path, joe):
    lines_file = tmp_path / "lines.txt"
    lines_file.write_text("First line to say.\n\n  Second | with a pipe.  \nThird and last.\n", encoding="utf-8")
    lines = read_batch_lines(lines_file)
    assert lines == ["First line to say.", "Second | with a pipe.", "Third and last."]
    calls = []
    out = tmp_path / "batch"

    result = export_batch(joe, lines, out, SynthesisOptions(), "flac", 16000,
                          progress=lambda d, t, m: calls.append((d, t)))

    assert [c.name for c in result.clips] == ["0001.flac", "0002.flac", "0003.flac"]
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
    for clip in result.clips:
        info = soundfile.info(str(clip))
        assert info.samplerate == 16000 and info.duration > 0.5
    with open(result.index_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="|"))
    assert rows == [["file", "text"], ["0001.flac", "First line to say."],
                    ["0002.flac", "Second | with a pipe."], ["0003.flac", "Third and last."]]


def test_batch_cancel_keeps_finished_clips_listed(tmp_path, joe):
    token = CancelToken()
    out = tmp_path / "batch"
    with pytest.raises(Cancelled):
        export_batch(joe, ["One.", "Two.", "Three."], out, cancel=token,
                     progress=lambda d, t, m: token.cancel() if d == 1 else None)
    assert sorted(p.name for p in out.iterdir()) == ["0001.wav", "metadata.csv"]
    assert (out / "metadata.csv").read_text().splitlines() == ["file|text", "0001.wav|One."]


def test_batch_checks_every_line_before_the_first_clip(tmp_path, joe):
    out = tmp_path / "batch"
    with pytest.raises(TextError, match=r"Line 3: .*cannot speak.*\"你\""):
        export_batch(joe, ["Fine.", "Also fine.", "Not 你 fine."], out)
    assert not out.exists()


@pytest.mark.parametrize("content, message", [(None, "does not exist"), (b"\n \n", "no lines"),
                                              (b"\xff\xfe\x00bad", "not a UTF-8 text file")])
def test_batch_lines_file_errors(tmp_path, content, message):
    path = tmp_path / "lines.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SynthesisError, match=message):
        read_batch_lines(path)


# --------------------------------------------------------------------------- history


def test_generate_clip_keeps_it_in_the_history(workspace):
    preset = Preset(name="Default", sentence_pause=0.3)
    heard = []
    entry = generate_clip(workspace, "Keep this clip. And this sentence too.", preset,
                          on_sentence=lambda s: heard.append(s.index))
    assert heard == [0, 1]
    assert entry.path.parent == workspace.history and entry.path.is_file()
    assert soundfile.info(str(entry.path)).duration == pytest.approx(entry.duration, abs=0.01)
    assert (entry.preset, entry.voice, entry.text) == ("Default", preset.voice,
                                                       "Keep this clip. And this sentence too.")
    record = json.loads((workspace.history / "index.jsonl").read_text().splitlines()[0])
    assert record["id"] == entry.id and record["duration"] == entry.duration

    reopened = History.open(workspace)  # after a restart
    assert [e.id for e in reopened.list()] == [entry.id]
    exported = export_entry(reopened.get(entry.id), workspace.root / "out.ogg", output_rate=44100)
    assert soundfile.info(str(exported)).samplerate == 44100


def test_history_list_delete_and_clear(workspace, speech):
    history = History.open(workspace)
    first = history.add(speech.samples, speech.sample_rate, text="one", voice="v")
    second = history.add(speech.samples, speech.sample_rate, text="two", voice="v", preset="P")
    third = history.add(speech.samples, speech.sample_rate, text="three", voice="v")
    assert [e.text for e in history.list()] == ["three", "two", "one"]  # newest first

    history.delete(second.id)
    assert not second.path.exists()
    assert [e.text for e in History.open(workspace).list()] == ["three", "one"]
    with pytest.raises(HistoryError, match="no clip"):
        history.delete(second.id)

    assert history.clear() == 2
    assert not first.path.exists() and not third.path.exists()
    assert History.open(workspace).list() == []
    assert sorted(p.name for p in workspace.history.iterdir()) == ["index.jsonl"]


def test_damaged_index_lines_are_reported_and_the_file_kept(workspace, speech):
    history = History.open(workspace)
    good = history.add(speech.samples, speech.sample_rate, text="good", voice="v")
    gone = history.add(speech.samples, speech.sample_rate, text="gone", voice="v")
    gone.path.unlink()
    index = workspace.history / "index.jsonl"
    damaged = index.read_text() + "{ this is not json\n"
    index.write_text(damaged)

    reopened = History.open(workspace)

    assert [e.id for e in reopened.list()] == [good.id]
    text = " ".join(reopened.problems)
    assert "1 line(s)" in text and "missing" in text and "index.jsonl.bak" in text
    assert (workspace.history / "index.jsonl.bak").read_text() == damaged


def test_generate_batch_uses_the_presets_format(workspace, tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("Hello there.\nGoodbye now.\n", encoding="utf-8")
    preset = Preset(name="Podcast", format="mp3", sample_rate=44100)
    result = generate_batch(workspace, lines, tmp_path / "clips", preset)
    assert [c.name for c in result.clips] == ["0001.mp3", "0002.mp3"]
    assert soundfile.info(str(result.clips[0])).samplerate == 44100
