"""The Training form on a laptop screen: its fields scroll, Train stays in view, and messages
that arrive after a change never move the field under the pointer."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication

from voicelab.selftest.tiny import SENTENCES, build_dataset
from voicelab.ui.widgets.train_form import TrainForm

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning",
                                        "ignore::DeprecationWarning")

LONG = ("This base (16000 Hz) matches none of VoiceLab's qualities (x_low, low, medium, high); for "
        "'medium' (22050 Hz) it has 16000 Hz instead of 22050 Hz; hidden_channels 96 instead of 192; "
        "filter_channels 384 instead of 768. Choose a base of quality medium (a rhasspy/piper-"
        "checkpoints voice folder ends in its quality) or train without a base.")


def shown_whole(widget, window) -> bool:
    """The widget lies inside the window and nothing (a scroll area's edge) hides any of it."""
    rect = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    return (window.rect().contains(rect) and widget.isVisible()
            and widget.visibleRegion().boundingRect() == widget.rect())


def test_with_advanced_open_at_1200x780_the_fields_scroll_and_train_stays_in_view(qtbot, open_window,
                                                                                  workspace):
    build_dataset(workspace.root / "datasets" / "joe", sentences=SENTENCES[:3], validation=1)
    window = open_window()
    window.resize(1200, 780)
    tab, form = window.training_tab, window.training_tab.form
    form.apply_settings({"base": None})  # from scratch: no base to inspect (seconds) meanwhile
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.pages.currentIndex() == 1 and form.dataset_combo.count() == 1)

    qtbot.mouseClick(form.advanced_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: form.scroll.verticalScrollBar().value() > 0)  # Advanced scrolled into view

    assert window.size().height() == 780  # the form asks for no taller window
    bar = form.scroll.verticalScrollBar()
    assert bar.isVisible() and bar.maximum() > 0  # the fields scroll…
    assert shown_whole(form.train_button, window)  # …and Train stays in view under them
    assert shown_whole(form.advanced.precision_combo, window)  # what just opened is in view
    where = form.train_button.mapTo(window, QPoint(0, 0))
    bar.setValue(bar.maximum())  # down to the last field
    QApplication.processEvents()
    assert shown_whole(form.advanced.seed_spin, window) and shown_whole(form.train_button, window)
    assert form.train_button.mapTo(window, QPoint(0, 0)) == where
    assert form.dataset_combo.visibleRegion().boundingRect() != form.dataset_combo.rect()  # scrolled


@pytest.fixture
def form(qtbot):
    widget = TrainForm()
    qtbot.addWidget(widget)
    widget.resize(420, 900)  # tall enough that nothing scrolls: every move would show
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def positions(form):
    QApplication.processEvents()  # let the layout settle, as the event loop would
    return {name: getattr(form, name).mapTo(form, QPoint(0, 0))
            for name in ("quality_combo", "limit_spin", "lr_edit", "name_edit", "advanced_button",
                         "train_button")}


def test_the_base_check_download_and_problems_never_move_the_fields(form):
    before = positions(form)
    for change in (lambda: form.set_base_status("Checking en_US-joe-medium.onnx…"),
                   lambda: form.set_base_status("✓ Joe (US English), medium quality: ready to "
                                                "fine-tune; a short warm-up runs first", ok=True,
                                                details=["File: joe.onnx", "22050 Hz, one speaker"]),
                   lambda: form.show_download(10, 100, "Downloading Lessac (US English, medium)"),
                   lambda: form.hide_download(),
                   lambda: form.set_base_status(LONG, ok=False),
                   lambda: form.show_problem(LONG),
                   lambda: form.show_problem(""),
                   lambda: form.set_base_status("")):
        change()
        assert positions(form) == before


def test_a_long_message_is_cut_to_its_space_and_whole_in_its_tooltip(form):
    form.set_base_status(LONG, ok=False)
    form.show_problem(LONG)
    QApplication.processEvents()
    for label in (form.base_status, form.problem_label):
        assert label.text() == LONG and label.is_cut() and label.shown_text().endswith("…")
        assert LONG in label.toolTip()
        lines = label.fontMetrics().boundingRect(QRect(0, 0, label.contentsRect().width(), 10_000),
                                                 Qt.TextWordWrap, label.shown_text()).height()
        assert lines <= label.contentsRect().height()  # all of what is shown fits its space
    form.set_base_status("✓ Short and whole", ok=True, details=["File: joe.onnx"])
    assert not form.base_status.is_cut() and form.base_status.toolTip() == "File: joe.onnx"


def test_details_show_only_when_asked(qtbot, form):
    form.set_base_status("✓ Joe (US English), medium quality: ready to fine-tune", ok=True,
                         details=["File: joe.onnx", "22050 Hz, one speaker"])
    assert form.details_button.isVisible() and not form.base_details.isVisible()
    qtbot.mouseClick(form.details_button, Qt.LeftButton)
    assert form.base_details.isVisible() and form.base_details.text() == "File: joe.onnx\n22050 Hz, one speaker"
    before = positions(form)
    form.set_base_status("Checking lessac.ckpt…")  # another base: its details wait to be asked for
    assert not form.details_button.isVisible() and not form.base_details.isVisible()
    form.set_base_status("✓ Lessac (US English, medium): ready to fine-tune", ok=True, details=["File: l.ckpt"])
    assert form.details_button.isVisible() and not form.base_details.isVisible()
    assert positions(form) != before  # folded away with the old base's details


def test_the_batch_probe_makes_its_space_when_clicked_and_its_answer_moves_nothing(form):
    form.set_batch_status("Finding the largest batch size that fits the GPU…")  # on the click
    before = positions(form)
    form.set_batch_status("No CUDA GPU: batch size is a question of GPU memory; on a CPU keep the "
                          "batch small (8–16) and expect hours per epoch of a real dataset.", ok=False)
    assert positions(form) == before
    form.set_batch_status("")
    assert positions(form) == before


def test_an_empty_learning_rate_follows_the_base_and_a_typed_one_is_kept(form):
    from voicelab.core.training.run.config import FINETUNE_LEARNING_RATE, SCRATCH_LEARNING_RATE, config_from_dict

    assert form.lr_edit.text() == "" and "2e-5" in form.lr_edit.placeholderText()
    settings = dict(form.settings(), dataset="/d")
    assert settings["learning_rate"] is None
    assert config_from_dict({**settings, "base": "/joe.onnx"}).learning_rate == FINETUNE_LEARNING_RATE
    assert config_from_dict({**settings, "base": None}).learning_rate == SCRATCH_LEARNING_RATE
    form.lr_edit.setText("5e-5")
    assert config_from_dict(dict(form.settings(), dataset="/d")).learning_rate == 5e-5
