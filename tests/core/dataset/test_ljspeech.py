"""Plain LJSpeech folders in and out (no Whisper: the text comes from metadata.csv)."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile

from tests.support.dataset_audio import SENTENCES, sentence_audio, write_recording
from voicelab.core.dataset.ljspeech import export_ljspeech, import_ljspeech, read_metadata
from voicelab.core.dataset.records import DatasetError
from voicelab.core.dataset.store import Dataset
from voicelab.core.errors import Cancelled
from voicelab.core.progress import CancelToken


def lj_folder(folder: Path, rows, rate: int = 22050, header: str = "") -> Path:
    """An LJSpeech folder: a wav per row id (joe saying the sentence), then metadata.csv."""
    for index, row in enumerate(rows):
        clip_id = row.split("|")[0]
        write_recording(folder / "wavs" / f"{clip_id}.wav",
                        sentence_audio(SENTENCES[index % len(SENTENCES)]), rate=rate)
    (folder / "metadata.csv").write_text(header + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return folder


@pytest.fixture
def two_columns(tmp_path):
    rows = [f"LJ001-000{i}|{text}" for i, text in enumerate(SENTENCES[:3], 1)]
    return lj_folder(tmp_path / "lj", rows, header="\ufeff")  # a BOM, as Excel writes it


def test_import_two_columns(two_columns, tmp_path):
    seen = []
    dataset, problems = import_ljspeech(two_columns, tmp_path / "ds", "imported",
                                        progress=lambda d, t, m: seen.append((d, t)))
    assert problems == []
    assert dataset.name == "imported" and dataset.sample_rate == 22050
    assert [c.text for c in dataset.clips] == list(SENTENCES[:3])
    assert all(s.state == "done" for s in dataset.sources)
    for clip, index in zip(dataset.clips, range(3)):
        wav = two_columns / "wavs" / f"LJ001-000{index + 1}.wav"
        assert clip.duration == pytest.approx(soundfile.info(str(wav)).duration, abs=0.01)
        assert soundfile.info(str(dataset.clip_path(clip.id))).samplerate == 22050
    assert seen[-1] == (3, 3)
    rows = (dataset.path / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert [r.split("|", 1)[1] for r in rows] == list(SENTENCES[:3])
    assert sorted(p.name for p in (two_columns / "wavs").iterdir()) == [
        "LJ001-0001.wav", "LJ001-0002.wav", "LJ001-0003.wav"]  # the folder is untouched


def test_import_three_columns_keeps_the_raw_text(tmp_path):
    folder = lj_folder(tmp_path / "lj", ["LJ002-0001|It cost $5 in 1999.|It cost five dollars "
                                         "in nineteen ninety-nine.",
                                         "LJ002-0002||Only the normalized one."])
    dataset, _ = import_ljspeech(folder, tmp_path / "ds", "three")
    assert [c.text for c in dataset.clips] == ["It cost $5 in 1999.", "Only the normalized one."]


def test_import_reports_bad_rows_and_missing_wavs(tmp_path):
    folder = lj_folder(tmp_path / "lj", ["a1|First sentence here.", "a2|Second sentence here."])
    with open(folder / "metadata.csv", "a", encoding="utf-8") as handle:
        handle.write("no separator on this line\n\na3|This wav is missing.\n")
    (folder / "wavs" / "a2.wav").write_bytes(b"not a wav at all")
    dataset, problems = import_ljspeech(folder, tmp_path / "ds", "partial")
    assert [c.text for c in dataset.clips] == ["First sentence here."]
    text = " ".join(str(p) for p in problems)
    assert "line 3" in text and "a3.wav is listed in metadata.csv but missing" in text
    assert "a2.wav" in text


def test_import_uses_the_wavs_rate_unless_told(tmp_path):
    folder = lj_folder(tmp_path / "lj", ["b1|A sixteen kilohertz clip."], rate=16000)
    dataset, _ = import_ljspeech(folder, tmp_path / "ds16", "sixteen")
    assert dataset.sample_rate == 16000
    resampled, _ = import_ljspeech(folder, tmp_path / "ds22", "resampled", sample_rate=22050)
    clip = resampled.clips[0]
    assert soundfile.info(str(resampled.clip_path(clip.id))).samplerate == 22050
    assert clip.duration == pytest.approx(dataset.clips[0].duration, abs=0.01)


def test_import_needs_a_metadata_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no metadata.csv"):
        import_ljspeech(tmp_path / "empty", tmp_path / "ds", "x")
    (tmp_path / "blank").mkdir()
    (tmp_path / "blank" / "metadata.csv").write_text("\n")
    with pytest.raises(DatasetError, match="lists no clips"):
        import_ljspeech(tmp_path / "blank", tmp_path / "ds", "x")
    (tmp_path / "latin1").mkdir()
    (tmp_path / "latin1" / "metadata.csv").write_bytes("a|caf\xe9\n".encode("latin-1"))
    with pytest.raises(DatasetError, match="not UTF-8"):
        read_metadata(tmp_path / "latin1")


def test_export_then_import_round_trips(two_columns, tmp_path):
    dataset, _ = import_ljspeech(two_columns, tmp_path / "ds", "round")
    dataset.set_excluded([dataset.clips[1].id])
    dataset.set_text(dataset.clips[2].id, "It cost $5 | or so.")
    out = export_ljspeech(dataset, tmp_path / "out")
    rows = (out / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 2 and all(r.count("|") == 1 for r in rows)  # excluded left out
    assert rows[1].endswith("|It cost $5 or so.")  # a | in the text cannot break the row
    assert sorted(p.name for p in (out / "wavs").iterdir()) == sorted(
        f"{r.split('|')[0]}.wav" for r in rows)
    again, problems = import_ljspeech(out, tmp_path / "again", "again")
    assert problems == []
    assert [c.text for c in again.clips] == [SENTENCES[0], "It cost $5 or so."]


def test_export_with_the_normalized_column(two_columns, tmp_path):
    dataset, _ = import_ljspeech(two_columns, tmp_path / "ds", "numbers")
    dataset.set_text(dataset.clips[0].id, "It cost $5 in 1999.")
    out = export_ljspeech(dataset, tmp_path / "out", normalized=True)
    first = (out / "metadata.csv").read_text(encoding="utf-8").splitlines()[0].split("|")
    assert len(first) == 3
    assert first[1] == "It cost $5 in 1999."
    assert "five dollars" in first[2] and "nineteen ninety-nine" in first[2]


def test_export_refuses_to_overwrite_and_empty_datasets(two_columns, tmp_path):
    dataset, _ = import_ljspeech(two_columns, tmp_path / "ds", "twice")
    out = export_ljspeech(dataset, tmp_path / "out")
    with pytest.raises(DatasetError, match="already holds"):
        export_ljspeech(dataset, out)
    export_ljspeech(dataset, out, overwrite=True)
    empty = Dataset.create(tmp_path / "empty", "empty")
    with pytest.raises(DatasetError, match="no usable clips"):
        export_ljspeech(empty, tmp_path / "out2")
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        export_ljspeech(dataset, tmp_path / "out3", cancel=token)
    assert not (tmp_path / "out3" / "metadata.csv").exists()
