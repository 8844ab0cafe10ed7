"""A run's data: the snapshot of the split, the checks before the first step, piper's cache."""

from __future__ import annotations

import json
import os

import pytest
import soundfile

from voicelab.core.audio import PEAK_CEILING
from voicelab.core.training.run import snapshot
from voicelab.core.training.run.config import config_from_dict
from voicelab.core.training.trainer import datamodule, prepare, prepare_pool
from voicelab.selftest.tiny import SENTENCES, build_dataset, tiny_config


@pytest.fixture
def dataset(tmp_path):
    return build_dataset(tmp_path / "joe")


def make_run(tmp_path, dataset, **overrides):
    config = config_from_dict(tiny_config(dataset, **overrides))
    run_dir = tmp_path / "run"
    facts = snapshot.snapshot_manifests(dataset, run_dir, validation_share=config.validation_share,
                                        seed=config.seed)
    return run_dir, config, facts


def test_snapshot_copies_the_split_and_records_its_hashes(tmp_path, dataset):
    run_dir, _config, facts = make_run(tmp_path, dataset)
    assert (run_dir / "data" / "train.txt").read_text() == (dataset / "train.txt").read_text()
    assert (run_dir / "data" / "validation.txt").read_text() == (dataset / "validation.txt").read_text()
    assert facts["split"]["train"] == 10 and facts["split"]["validation"] == 2
    assert facts["split"]["how"] == "dataset"
    assert len(facts["manifest_sha256"]) == 64
    # Editing the dataset afterwards changes its hash but not the run's copy.
    before = (run_dir / "data" / "train.txt").read_text()
    (dataset / "train.txt").write_text("joe_0000|Something else entirely.\n", encoding="utf-8")
    assert snapshot.manifest_hash(dataset) != facts["manifest_sha256"]
    assert (run_dir / "data" / "train.txt").read_text() == before


def test_a_re_cut_clip_changes_the_manifest_hash(dataset):
    first = snapshot.manifest_hash(dataset)
    wav = dataset / "wavs" / "joe_0003.wav"
    wav.write_bytes(wav.read_bytes() + b"\0\0")
    assert snapshot.manifest_hash(dataset) != first


def test_validation_share_re_splits_deterministically(tmp_path, dataset):
    _, _, facts = make_run(tmp_path, dataset, validation_share=0.25)
    assert facts["split"]["validation"] == 3 and facts["split"]["train"] == 9
    assert "re-split" in facts["split"]["how"]
    again = snapshot.snapshot_manifests(dataset, tmp_path / "run2", validation_share=0.25, seed=1234)
    assert again["split"]["validation_sha256"] == facts["split"]["validation_sha256"]


def test_prepare_caches_every_clip_for_piper(tmp_path, dataset):
    run_dir, config, _ = make_run(tmp_path, dataset, trim_silence=True)
    progress = []
    prepared = prepare.prepare(run_dir, config, progress=lambda d, t, m: progress.append((d, t)))
    assert len(prepared.train) == 10 and len(prepared.validation) == 2
    assert prepared.dropped == [] and prepared.espeak_voice == "en-us"
    assert prepared.seconds > 5
    assert progress and progress[-1][0] == progress[-1][1]
    import torch

    first = prepared.train[0]
    ids = torch.load(run_dir / "cache" / f"{first['stem']}.phonemes.pt")
    spec = torch.load(run_dir / "cache" / f"{first['stem']}.spec.pt")
    audio = torch.load(run_dir / "cache" / f"{first['stem']}.audio.pt")
    assert ids[0].item() == 1 and ids[-1].item() == 2  # piper's BOS ... EOS
    assert spec.shape[0] == 256 // 2 + 1 and spec.shape[1] == first["frames"]
    assert abs(audio.shape[0] / 22050 - first["seconds"]) < 0.01
    stored = json.loads((run_dir / "cache" / "prepared.json").read_text())
    assert stored["key"] == prepared.key and len(stored["train"]) == 10
    voice = json.loads((run_dir / "config.json").read_text())
    assert voice["audio"]["sample_rate"] == 22050 and voice["espeak"]["voice"] == "en-us"


def test_a_complete_cache_is_reused(tmp_path, dataset):
    run_dir, config, _ = make_run(tmp_path, dataset)
    prepare.prepare(run_dir, config)
    marker = run_dir / "cache" / "prepared.json"
    stamp = marker.stat().st_mtime_ns
    again = prepare.prepare(run_dir, config)
    assert marker.stat().st_mtime_ns == stamp and len(again.train) == 10
    # A cache missing a file (a kill mid-preparation) is rebuilt, not trusted.
    os.remove(run_dir / "cache" / f"{again.train[3]['stem']}.spec.pt")
    rebuilt = prepare.prepare(run_dir, config)
    assert (run_dir / "cache" / f"{rebuilt.train[3]['stem']}.spec.pt").is_file()


def test_long_clips_are_dropped_and_listed(tmp_path):
    sentences = list(SENTENCES[:6]) + ["This sentence is rather a lot longer than all of the "
                                       "others, so that it goes past the limit."]
    dataset = build_dataset(tmp_path / "joe", sentences=sentences, validation=1)
    run_dir, config, _ = make_run(tmp_path, dataset, max_seconds=2.5, max_phonemes=400)
    prepared = prepare.prepare(run_dir, config)
    assert [d["id"] for d in prepared.dropped] == ["joe_0006"]
    assert "max_seconds=2.5" in prepared.dropped[0]["reason"]
    run2 = tmp_path / "run2"
    snapshot.snapshot_manifests(dataset, run2, validation_share=None, seed=1)
    by_phonemes = prepare.prepare(run2, config_from_dict(tiny_config(dataset, max_phonemes=60)))
    assert any("max_phonemes=60" in d["reason"] for d in by_phonemes.dropped)


def test_missing_audio_is_dropped_and_listed(tmp_path, dataset):
    os.remove(dataset / "wavs" / "joe_0002.wav")
    run_dir, config, _ = make_run(tmp_path, dataset)
    prepared = prepare.prepare(run_dir, config)
    assert len(prepared.train) == 9
    assert prepared.dropped[0]["id"] == "joe_0002" and "missing" in prepared.dropped[0]["reason"]


def test_a_transcript_without_speech_sounds_stops_preparation(tmp_path):
    dataset = build_dataset(tmp_path / "joe", texts={4: "...", 7: "\u200b"})
    run_dir, config, _ = make_run(tmp_path, dataset)
    with pytest.raises(snapshot.TrainingDataError) as raised:
        prepare.prepare(run_dir, config)
    message = str(raised.value)
    assert "2 transcript(s)" in message
    assert "train.txt line 5 (joe_0004)" in message and "joe_0007" in message
    assert "Write them out in words or exclude those clips" in message


@pytest.mark.parametrize("dataset_rate, wav_rate", [(16000, None), (22050, 16000), (44100, None)])
def test_any_dataset_rate_trains_the_quality_rate(tmp_path, dataset_rate, wav_rate):
    """Clips are resampled to the quality's rate while they are prepared (soxr)."""
    import torch

    dataset = build_dataset(tmp_path / "joe", sample_rate=dataset_rate, wav_rate=wav_rate)
    run_dir, config, _ = make_run(tmp_path, dataset)  # medium = 22050 Hz
    prepared = prepare.prepare(run_dir, config)
    assert prepared.sample_rate == 22050 and len(prepared.train) == 10
    entry = prepared.train[0]
    audio = torch.load(run_dir / "cache" / f"{entry['stem']}.audio.pt", weights_only=True)
    wav_seconds = soundfile.info(str(dataset / "wavs" / f"{entry['id']}.wav")).duration
    assert len(audio) / 22050 <= wav_seconds + 0.01  # trimmed, at the model's rate
    assert entry["seconds"] == pytest.approx(len(audio) / 22050, abs=1e-3)
    assert len(audio) / 22050 > 0.5 * wav_seconds


def rms_db(audio):
    import numpy as np

    samples = np.asarray(audio, dtype=np.float64)
    return 20 * np.log10(np.sqrt(np.mean(samples ** 2)))


def test_clips_are_prepared_at_one_level_whatever_they_were_recorded_at(tmp_path, dataset):
    """A soft recording trains as a loud one: the default recipe was measured on clips at about
    -20 dBFS RMS and broke on the same clips 7 dB quieter (prepare_pool's docstring)."""
    import numpy as np
    import torch

    wavs = sorted((dataset / "wavs").glob("*.wav"))
    loud, _rate = soundfile.read(str(wavs[0]), dtype="float32")
    for index, wav in enumerate(wavs):  # 0, -7 and -14 dB: a soft speaker, a far microphone
        audio, rate = soundfile.read(str(wav), dtype="float32")
        soundfile.write(str(wav), audio * 10 ** (-7 * (index % 3) / 20), rate, subtype="FLOAT")
    quiet = wavs[1].with_name("copy.wav")  # the first clip again, 14 dB down
    soundfile.write(str(quiet), loud * 10 ** (-14 / 20), 22050, subtype="FLOAT")

    def prepared_audio(run_name, **overrides):
        run_dir = tmp_path / run_name
        config = config_from_dict(tiny_config(dataset, **overrides))
        snapshot.snapshot_manifests(dataset, run_dir, validation_share=None, seed=config.seed)
        prepared = prepare.prepare(run_dir, config, shared_store=False)
        return prepared, {e["id"]: torch.load(run_dir / "cache" / f"{e['stem']}.audio.pt")
                          for e in prepared.train + prepared.validation}

    evened, audio = prepared_audio("evened")
    assert len(audio) == 12
    for clip in audio.values():  # at -20 dBFS, or as near as a peak under -1 dBFS allows
        peak = float(clip.abs().max())
        assert peak <= PEAK_CEILING + 1e-6
        assert rms_db(clip) == pytest.approx(-20.0, abs=0.05) or (
            rms_db(clip) < -20 and peak == pytest.approx(PEAK_CEILING, abs=1e-4))
    assert sum(rms_db(clip) == pytest.approx(-20.0, abs=0.05) for clip in audio.values()) >= 6
    kept, own = prepared_audio("own", clip_level_db=None)
    assert max(rms_db(a) for a in own.values()) - min(rms_db(a) for a in own.values()) > 13
    assert kept.key != evened.key  # another level is another cache
    # The same speech 14 dB apart prepares to the same samples.
    first = audio["joe_0000"].numpy()
    again = prepare_pool.process_clip(prepare_pool.ClipJob(0, str(quiet), 22050, False, -20.0))[1]
    assert np.allclose(first, again, atol=1e-5)


def test_an_empty_training_split_is_refused(tmp_path, dataset):
    run_dir, config, _ = make_run(tmp_path, dataset)
    (run_dir / "data" / "train.txt").write_text("", encoding="utf-8")
    with pytest.raises(snapshot.TrainingDataError, match="no training clips"):
        prepare.prepare(run_dir, config)


def test_clips_shorter_than_one_segment_leave_nothing_to_train(tmp_path):
    dataset = build_dataset(tmp_path / "joe", sentences=["Hi.", "Yes.", "No."], validation=0)
    run_dir, config, _ = make_run(tmp_path, dataset, model={**tiny_config(dataset)["model"],
                                                            "segment_size": 64 * 512})
    with pytest.raises(snapshot.TrainingDataError) as raised:
        prepare.prepare(run_dir, config)
    assert "No training clip is usable" in str(raised.value)
    assert "shorter than one training segment" in str(raised.value)


def test_an_unknown_espeak_voice_is_a_clear_error(tmp_path, dataset):
    run_dir, config, _ = make_run(tmp_path, dataset, espeak_voice="xx-nothing")
    with pytest.raises(snapshot.TrainingDataError, match="no voice 'xx-nothing'"):
        prepare.prepare(run_dir, config)


def test_not_a_dataset_folder(tmp_path):
    with pytest.raises(snapshot.TrainingDataError, match="does not exist"):
        snapshot.dataset_info(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(snapshot.TrainingDataError, match="has no train.txt"):
        snapshot.dataset_info(tmp_path / "empty")


def test_datamodule_serves_piper_batches_from_the_run_split(tmp_path, dataset):
    run_dir, config, _ = make_run(tmp_path, dataset)
    prepared = prepare.prepare(run_dir, config)
    module = datamodule.make_datamodule(run_dir, config, prepared)
    module.setup("fit")
    assert len(module.train_dataset) == 10 and len(module.val_dataset) == 2
    batch = next(iter(module.train_dataloader()))
    assert batch.phoneme_ids.shape[0] == 4 and batch.spectrograms.shape[1] == 129
    assert datamodule.steps_per_epoch(prepared, batch_size=4) == len(module.train_dataloader())
