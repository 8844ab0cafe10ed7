"""Where the tabs meet: what one tab makes, renames or deletes shows in the others at once;
the status bar lists training like any job; reopening the window restores where the user was."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from tests.support.trainer import fake_trainer
from tests.support.voices import add_voice
from voicelab.core.synthesis.presets import Preset
from voicelab.core.training.run.config import TrainConfig
from voicelab.core.training.run.runs import RunLock, write_train_yaml


def combo_texts(combo):
    return [combo.itemText(i) for i in range(combo.count())]


def test_datasets_made_renamed_and_deleted_show_in_training_at_once(qtbot, open_window, workspace,
                                                                    monkeypatch):
    window = open_window()
    form = window.training_tab.form
    assert window.training_tab.pages.currentIndex() == 0  # the first-run guide
    window.dataset_tab.new_dataset("Anna")
    assert combo_texts(form.dataset_combo) == ["Anna"]  # without visiting the tab
    assert window.training_tab.pages.currentIndex() == 1

    menu = window.dataset_tab.dataset_menu
    assert menu.rename_item("Anna studio") == "Anna studio"
    assert combo_texts(form.dataset_combo) == ["Anna studio"]
    assert window.dataset_tab.dataset.name == "Anna studio"
    assert workspace.settings.last_dataset == "Anna studio"

    # Held by a job of this window (a transcription, say): neither rename nor delete.
    errors = []
    monkeypatch.setattr("voicelab.ui.widgets.item_menu.show_error",
                        lambda _parent, title, message, *a: errors.append(message))
    window.dataset_tab._dataset_holder = lambda name: "Preparing dataset 'Anna studio'"
    menu.busy = window.dataset_tab._dataset_holder
    assert menu.delete_item(confirm=False) is False
    assert "Preparing dataset" in errors[-1] and combo_texts(form.dataset_combo) == ["Anna studio"]

    # Held by a trainer (any process): the core refuses and says which run.
    menu.busy = lambda name: None
    run = workspace.root / "runs" / "r1"
    run.mkdir(parents=True)
    write_train_yaml(run, TrainConfig(dataset=str(window.dataset_tab.dataset.path)), {})
    with RunLock(run):
        assert menu.delete_item(confirm=False) is False
    assert "r1, which is running" in errors[-1]
    assert menu.delete_item(confirm=False) is True
    assert combo_texts(form.dataset_combo) == [] and window.dataset_tab.dataset is None
    assert window.dataset_tab.pages.currentIndex() == 0


def test_training_is_a_job_in_the_status_bar_and_cancel_stops_it(qtbot, open_window, workspace):
    window = open_window()
    tab = window.training_tab
    tab.trainer_command = fake_trainer("polite")
    tab._start(workspace.root / "runs" / "fake")
    qtbot.waitUntil(lambda: tab.chart.point_count() == 1, timeout=20_000)
    status = window.job_status
    job = status.shown_job()
    assert job is tab.status_job and job.title == "Training fake"
    assert status.isVisible() and status.cancel_button.isVisible()
    assert status.bar.maximum() == 1000 and status.bar.value() == 100  # step 1 of 10
    assert status.eta.text().endswith(" left")  # "10 s left": a duration, not a clock
    assert window.jobs.holder("run", "fake") is job
    with qtbot.waitSignal(tab.controller.ended, timeout=20_000):
        status.cancel_button.click()  # = Stop: the trainer saves and exits
    assert not tab.is_training() and window.jobs.jobs() == []
    assert not status.isVisible()
    assert any(e["type"] == "stopped" for e in tab.shown_events)


def test_an_exported_voice_arrives_in_generate_with_its_preset_and_can_be_renamed(
        qtbot, open_window, workspace, monkeypatch):
    window = open_window()
    panel = window.generate_tab.preset_panel
    onnx = add_voice(workspace, "anna")
    window.training_tab.voiceExported.emit(onnx)  # what a verified export announces
    assert panel.preset.name == "anna" and panel.preset.voice == "anna"
    assert panel.voice_combo.currentData() == "anna"
    assert "preset 'anna'" in window.generate_tab.status_label.text()
    assert "anna" in combo_texts(panel.preset_combo)

    with qtbot.waitSignal(window.generate_tab.voicesChanged):  # the Training tab lists bases again
        assert panel.voice_menu.rename_item("Anna warm") == "Anna_warm"
    assert panel.preset.voice == "Anna_warm" and panel.voice_combo.currentData() == "Anna_warm"
    assert window.generate_tab.presets.get("anna").voice == "Anna_warm"

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    assert panel.voice_menu.delete_item() is True
    assert not (workspace.voices / "Anna_warm.onnx").exists()
    assert "missing" in panel.voice_combo.currentText()  # the preset says its voice is gone
    assert "Anna_warm" not in [panel.voice_combo.itemData(i) for i in range(panel.voice_combo.count() - 1)]


def test_a_deleted_run_leaves_the_training_tab_and_the_generate_voice_list(qtbot, open_window,
                                                                           workspace, monkeypatch):
    run = workspace.root / "runs" / "old"
    run.mkdir(parents=True)
    write_train_yaml(run, TrainConfig(dataset="/nowhere"), {})

    window = open_window()
    tab = window.training_tab
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.run_model.rowCount() == 1, timeout=10_000)
    assert tab.shown_run == run
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    with qtbot.waitSignal(tab.runsChanged):
        assert tab.run_menu.delete_item() is True
    qtbot.waitUntil(lambda: tab.run_model.rowCount() == 0, timeout=10_000)
    assert not run.exists() and tab.shown_run is None


def test_a_voice_a_generation_uses_cannot_be_deleted_under_it(qtbot, open_window, workspace, monkeypatch):
    window = open_window()
    add_voice(workspace, "anna")
    window.training_tab.voiceExported.emit(workspace.voices / "anna.onnx")
    tab = window.generate_tab
    errors = []
    monkeypatch.setattr("voicelab.ui.widgets.item_menu.show_error",
                        lambda _parent, title, message, *a: errors.append(message))
    tab.text_edit.setPlainText("A long text. " * 40)
    job = tab.generate()
    assert window.jobs.holder("voice", "anna") is job
    assert tab.preset_panel.voice_menu.delete_item(confirm=False) is False
    assert "Generating speech" in errors[-1] and (workspace.voices / "anna.onnx").is_file()
    with qtbot.waitSignal(job.ended, timeout=60_000):
        job.cancel()
    assert tab.preset_panel.voice_menu.delete_item(confirm=False) is True


def test_reopening_the_window_restores_dataset_run_preset_and_tab(qtbot, open_window, workspace):
    window = open_window()
    window.dataset_tab.new_dataset("Anna")
    window.dataset_tab.new_dataset("Bob")
    window.dataset_tab.dataset_combo.setCurrentText("Anna")
    for name in ("r1", "r2"):
        run = workspace.root / "runs" / name
        run.mkdir(parents=True)
        write_train_yaml(run, TrainConfig(dataset="/nowhere"), {})
    presets = window.generate_tab.presets
    presets.create(Preset(name="Slow", speed=0.8))
    presets.create(Preset(name="Fast", speed=1.3))
    panel = window.generate_tab.preset_panel
    panel.select_preset("Slow")
    window.tabs.setCurrentWidget(window.training_tab)
    tab = window.training_tab
    qtbot.waitUntil(lambda: tab.run_model.rowCount() == 2, timeout=10_000)
    tab.run_table.selectRow(tab.run_model.row_of("r2"))
    qtbot.waitUntil(lambda: tab.shown_run is not None and tab.shown_run.name == "r2")
    window.close()

    again = open_window()
    assert again.tabs.currentWidget() is again.training_tab
    assert again.dataset_tab.dataset.name == "Anna"
    assert again.generate_tab.preset_panel.preset.name == "Slow"
    assert again.generate_tab.preset_panel.preset_combo.currentText() == "Slow"
    qtbot.waitUntil(lambda: again.training_tab.shown_run is not None, timeout=10_000)
    assert again.training_tab.shown_run.name == "r2"


def test_an_empty_workspace_says_what_to_do_in_every_tab(open_window):
    window = open_window()
    assert window.dataset_tab.pages.currentIndex() == 0
    assert "Drop recordings" in window.dataset_tab.guide.steps.text()
    assert window.training_tab.pages.currentIndex() == 0
    history = window.generate_tab.history_panel
    assert history.pages.currentWidget() is history.empty_label
    assert "Every clip you generate" in history.empty_label.text()
    assert window.generate_tab.waveform.empty_item.isVisible()
    assert "Ctrl+Enter" in window.generate_tab.text_edit.placeholderText()


def test_a_clip_being_exported_is_not_deleted_under_the_export(qtbot, open_window, tmp_path):
    window = open_window()
    tab = window.generate_tab
    tab.text_edit.setPlainText("One short sentence.")
    with qtbot.waitSignal(tab.generate().ended, timeout=60_000):
        pass
    entry = tab.current_entry
    job = tab.export_clip(path=tmp_path / "clip.ogg")
    assert tab.delete_entry(entry, confirm=False) is False
    assert "Exporting clip" in tab.status_label.text()
    with qtbot.waitSignal(job.ended, timeout=60_000):
        pass
    assert (tmp_path / "clip.ogg").is_file()
    assert tab.delete_entry(entry, confirm=False) is True
    assert tab.history_panel.pages.currentWidget() is tab.history_panel.empty_label
