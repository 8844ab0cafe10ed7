"""The whole journey a new user walks, through the real widgets of one main window.

Drop recordings made with the joe voice → tiny.en transcribes them → fix one transcript →
train a tiny config while the chart fills → stop → resume → export the voice → it is in
Generate with its own preset → generate → export a clip → close and reopen the window and
find everything where it was. Only the model is small (voicelab/selftest/tiny.py); the
trainer is the real child process, the transcriber the real faster-whisper.

Each step leaves a screenshot in `test-artifacts/e2e/` (or $VOICELAB_E2E_SHOTS), not
committed; run the test under Xvfb with QT_QPA_PLATFORM=xcb to see what a person sees.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import soundfile
from PySide6.QtCore import Qt

from bench.stall import wait_for
from tests.support.dataset_audio import MORE_SENTENCES, SENTENCES, recording, write_recording
from tests.support.drops import drop, name_the_dataset
from tests.support.paths import REPO_ROOT
from tests.support.trainer import trainer_env
from voicelab.core.training.run import runs
from voicelab.selftest.tiny import tiny_config
from voicelab.ui.widgets.clip_table import TEXT

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning",
                                         "ignore::DeprecationWarning")]

CORRECTED = "The old lighthouse stood alone on the rocky shore, corrected by hand."


@pytest.fixture
def shots():
    folder = Path(os.environ.get("VOICELAB_E2E_SHOTS") or REPO_ROOT / "test-artifacts" / "e2e")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()

    def shot(window, name):
        window.repaint()
        path = folder / f"{name}.png"
        assert window.grab().save(str(path)), path
        return path

    shot.folder = folder
    return shot


def test_from_dropped_recordings_to_an_exported_clip_and_back(qtbot, open_window, workspace, tiny_en,
                                                              shots, tmp_path):
    window = open_window(trainer_env())  # the tiny model's hook, this checkout
    shots(window, "01-first-run")

    # 1. Drop a folder of recordings anywhere on the window: a dataset, sliced and transcribed.
    folder = tmp_path / "anna"
    write_recording(folder / "one.wav", recording(SENTENCES[:5]), rate=44100, channels=2)
    write_recording(folder / "two.flac", recording(MORE_SENTENCES[:5]), rate=48000)
    dataset_tab, training_tab = window.dataset_tab, window.training_tab
    assert drop(window, [folder])
    assert window.tabs.currentWidget() is dataset_tab
    job = name_the_dataset(qtbot, dataset_tab)  # accepted as proposed: the folder's name
    assert job is not None and window.job_status.shown_job() is job  # in the status bar
    with qtbot.waitSignal(job.ended, timeout=180_000):
        pass
    dataset = dataset_tab.dataset
    assert dataset.name == "anna" and len(dataset.clips) >= 8
    shots(window, "02-transcribed")

    # 2. Fix one transcript in the table, as a person types it.
    first = dataset.clips[0]
    dataset_tab.proxy.setData(dataset_tab.proxy.index(0, TEXT), CORRECTED)
    assert dataset.clip(first.id).text == CORRECTED and dataset.clip(first.id).edited
    manifest = (dataset.path / "metadata.csv").read_text(encoding="utf-8")
    assert f"{first.id}|{CORRECTED}" in manifest.splitlines()

    # 3. The dataset is in the Training tab already; train a tiny model while the chart fills.
    form = training_tab.form
    assert form.dataset_combo.count() == 1 and form.dataset_combo.currentData() == str(dataset.path)
    window.tabs.setCurrentWidget(training_tab)
    form.apply_settings(tiny_config(dataset.path, max_steps=24, checkpoint_every_steps=6,
                                    batch_size=4))
    qtbot.mouseClick(form.train_button, Qt.LeftButton)
    wait_for(lambda: training_tab.chart.point_count() >= 4, 180)
    run = training_tab.live_run
    status = window.job_status.shown_job()
    assert status is training_tab.status_job and status.title == f"Training {run.name}"
    shots(window, "03-training")

    # 4. Stop (a checkpoint first), then resume from it to the end.
    qtbot.mouseClick(training_tab.stop_button, Qt.LeftButton)
    wait_for(lambda: not training_tab.is_training(), 90)
    stopped = [e for e in training_tab.shown_events if e["type"] == "stopped"]
    assert stopped and Path(stopped[-1]["checkpoint"]).is_file()
    stopped_at = stopped[-1]["step"]
    assert stopped_at < 24 and window.jobs.jobs() == []
    shots(window, "04-stopped")
    wait_for(training_tab.resume_button.isEnabled, 30)
    qtbot.mouseClick(training_tab.resume_button, Qt.LeftButton)
    wait_for(lambda: not training_tab.is_training(), 240)
    steps = list(training_tab.chart.steps)
    assert steps[-1] == 24 and stopped_at in steps and steps == sorted(set(steps))
    assert runs.run_status(run) == "finished"
    qtbot.waitUntil(lambda: training_tab.checkpoints.model.rowCount() > 0, timeout=30_000)
    shots(window, "05-finished")

    # 5. Export the voice: verified in a fresh process, then it is in Generate with a preset.
    with qtbot.waitSignal(training_tab.voiceExported, timeout=240_000) as exported:
        qtbot.mouseClick(training_tab.checkpoints.export_button, Qt.LeftButton)
    onnx = Path(exported.args[0])
    voice_id = onnx.name[: -len(".onnx")]
    generate_tab = window.generate_tab
    panel = generate_tab.preset_panel
    assert panel.preset.voice == voice_id and panel.preset.name == voice_id
    assert panel.voice_combo.currentData() == voice_id
    window.tabs.setCurrentWidget(generate_tab)
    shots(window, "06-voice-in-generate")

    # 6. Generate with it, then export the clip.
    generate_tab.text_edit.setPlainText("Hello from my own voice. It was trained a moment ago.")
    qtbot.mouseClick(generate_tab.generate_button, Qt.LeftButton)
    job = generate_tab.generate_job
    assert job is not None
    with qtbot.waitSignal(job.ended, timeout=120_000):
        pass
    entry = generate_tab.current_entry
    assert entry is not None and entry.preset == voice_id and generate_tab.waveform.has_data()
    assert generate_tab.history_panel.list.count() == 1
    shots(window, "07-generated")
    clip = tmp_path / "out" / "hello.flac"
    with qtbot.waitSignal(generate_tab.export_clip(path=clip).ended, timeout=60_000):
        pass
    audio, rate = soundfile.read(clip)
    assert rate == 22050 and len(audio) == soundfile.info(str(entry.path)).frames

    # 7. Close and reopen: the same dataset, run (chart from disk), preset, clip, tab.
    window.close()
    again = open_window(trainer_env())
    assert again.tabs.currentWidget() is again.generate_tab
    assert again.dataset_tab.dataset.name == "anna"
    assert again.dataset_tab.dataset.clip(first.id).text == CORRECTED
    assert again.generate_tab.preset_panel.preset.name == voice_id
    assert again.generate_tab.history_panel.list.count() == 1
    shots(again, "08-reopened-generate")
    again.tabs.setCurrentWidget(again.training_tab)
    wait_for(lambda: again.training_tab.chart.point_count() == len(steps), 30)
    assert again.training_tab.shown_run == run and list(again.training_tab.chart.steps) == steps
    shots(again, "09-reopened-training")
    again.tabs.setCurrentWidget(again.dataset_tab)
    shots(again, "10-reopened-dataset")
    assert len(list(shots.folder.glob("*.png"))) == 10
