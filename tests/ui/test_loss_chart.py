"""The loss chart draws what the events say: steps, validation points, preview WER."""

from __future__ import annotations

import numpy as np
import pytest

from voicelab.core.training.run import events
from voicelab.ui.widgets.loss_chart import LossChart
from voicelab.ui.widgets.smoothing import smooth


def step(n, mel):
    return events.step(step=n, epoch=n // 10, losses={"loss_g": 30 - n / 10, "loss_d": 3.0, "mel": mel},
                       lr=2e-4, steps_per_s=1.0, eta_s=10.0)


def test_smoothing_is_debiased_and_keeps_gaps():
    values = np.array([10.0, 10.0, np.nan, 10.0])
    assert np.allclose(smooth(values, 0.9)[[0, 1, 3]], 10.0) and np.isnan(smooth(values, 0.9)[2])
    assert np.array_equal(smooth(values, 0.0), values, equal_nan=True)


def test_points_arrive_and_redraw_from_history(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.show()
    log = [events.started(config={}, device="cpu", devices=1, parameters=1, step=0, epoch=0,
                          resumed_from=None, train_utterances=10, validation_utterances=1,
                          steps_per_epoch=10)]
    log += [step(n, 5.0 - n / 20) for n in range(1, 31)]
    log.append(events.validation(step=30, epoch=3, losses={"mel": 3.2}))
    log.append(events.preview(step=30, epoch=3, previews=[{"path": "a.wav", "text": "a", "heard": "a", "wer": 0.25}]))
    for event in log:
        chart.add_event(event)
    def drawn(key):
        x = chart.curves[key].getData()[0]
        return 0 if x is None else len(x)

    qtbot.waitUntil(lambda: drawn("mel") == 30, timeout=2000)
    x, y = chart.curves["mel"].getData()
    assert x[-1] == 30 and y[-1] < y[0]
    assert list(chart.val_points.getData()[1]) == [3.2]
    assert list(chart.wer_curve.getData()[1]) == [25.0]
    assert not chart.curves["kl"].isVisible()
    chart.series_boxes["kl"].setChecked(True)
    chart.axis_combo.setCurrentText("epochs")
    chart.redraw()
    assert drawn("kl") == 30
    assert chart.curves["mel"].getData()[0][-1] == 3
    chart.show_readout(29)
    assert "step 30" in chart.hover.text() and "mel" in chart.hover.text()

    # A resumed run rewinds: steps past the resume point are dropped on reload.
    log.append(events.started(config={}, device="cpu", devices=1, parameters=1, step=20, epoch=2,
                              resumed_from="x.ckpt", train_utterances=10, validation_utterances=1,
                              steps_per_epoch=10))
    log += [step(n, 1.0) for n in range(21, 26)]
    chart.load(events.training_history(log))
    assert chart.point_count() == 25


def test_likeness_and_naturalness_share_the_step_axis_and_replay_from_the_log(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.show()
    log = [step(n, 5.0 - n / 20) for n in range(1, 21)]
    log.append(events.preview(step=0, epoch=0, likeness=0.0, previews=[
        {"path": "a.wav", "text": "a", "heard": "a", "wer": 0.0, "naturalness": 3.6}]))
    log.append(events.preview(step=10, epoch=1, likeness=-0.2, previews=[
        {"path": "a.wav", "text": "a", "heard": "x", "wer": 0.9, "naturalness": 2.2}]))
    log.append(events.preview(step=20, epoch=2, likeness=1.3, previews=[  # no DNSMOS this round
        {"path": "a.wav", "text": "a", "heard": "a", "wer": 0.1}]))
    for event in log:
        chart.add_event(event)
    chart.redraw()

    def drawn():
        x, likeness = chart.likeness_curve.getData()
        naturalness = chart.naturalness_curve.getData()[1]
        return list(x), list(likeness), [round(v, 2) if np.isfinite(v) else None for v in naturalness]

    assert drawn() == ([0, 10, 20], [0.0, -0.2, 1.3], [3.6, 2.2, None])
    assert list(chart.wer_curve.getData()[1]) == [0.0, 90.0, 10.0]  # the WER plot as before
    assert chart.score_plot.isVisible()
    low, high = chart.score_plot.getPlotItem().getViewBox().viewRange()[1]
    assert low < -0.2 and high > 1.3  # the excursions past both anchors stay in view
    assert chart.naturalness_view.viewRange()[1][0] < 1.0 < 5.0 < chart.naturalness_view.viewRange()[1][1]

    chart.axis_combo.setCurrentText("epochs")
    chart.redraw()
    assert list(chart.likeness_curve.getData()[0]) == [0, 1, 2]

    chart.load(events.training_history(log))  # a run reopened: the same points from its log
    assert drawn()[1] == [0.0, -0.2, 1.3]
    chart.clear()
    chart.redraw()
    assert not chart.score_plot.isVisible()


def test_a_run_without_likeness_or_naturalness_shows_no_score_plot(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.show()
    chart.add_event(events.preview(step=5, epoch=0, previews=[{"path": "a.wav", "text": "a", "heard": "a",
                                                               "wer": 0.5}]))
    chart.redraw()
    assert chart.wer_plot.isVisible() and not chart.score_plot.isVisible()


def fine_tune_log(steps=200):
    """A fine-tune's log at its real magnitudes: a generator total in the hundreds (most of it
    KL), the discriminator near 3, the mel loss under one; validations and preview rounds."""
    log = []
    for n in range(1, steps + 1):
        decay = np.exp(-n / 60)
        total = 160 + 280 * decay
        log.append(events.step(step=n, epoch=n // 10, lr=2e-4, steps_per_s=1.0, eta_s=10.0, losses={
            "loss_g": total, "kl": 0.85 * total, "loss_d": 2.4 + 3 * np.exp(-n / 20),
            "mel": 0.43 + 0.38 * np.exp(-n / 50) + 0.01 * np.sin(n)}))
        if n % 50 == 0:
            log.append(events.validation(step=n, epoch=n // 10, losses={"mel": 0.47 + 0.38 * np.exp(-n / 50)}))
            log.append(events.preview(step=n, epoch=n // 10, likeness=n / steps, previews=[
                {"path": "a.wav", "text": "a", "heard": "a", "wer": 0.5 - n / 500, "naturalness": 3.0}]))
    return log


def test_the_curves_people_watch_are_readable_without_toggling(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.resize(780, 520)
    chart.show()
    qtbot.waitExposed(chart)
    chart.load(events.training_history(fine_tune_log()))
    chart.grab()  # a paint: pyqtgraph fits the views to their data just before one

    shown = {key for key, curve in chart.curves.items() if curve.isVisible()}
    assert shown == {"mel"} and not chart.series_boxes["loss_g"].isChecked()

    def share_of_height(plot, values):
        """How much of the plot's height the values span (1: all of it)."""
        low, high = plot.getViewBox().viewRange()[1]
        return (np.nanmax(values) - np.nanmin(values)) / (high - low)

    mel = chart.curves["mel"].getData()[1]
    assert len(mel) == 200 and share_of_height(chart.loss_plot, mel) > 0.6
    expected = [0.47 + 0.38 * np.exp(-s / 50) for s in (50, 100, 150, 200)]
    assert list(chart.val_points.getData()[1]) == pytest.approx(expected)
    assert chart.wer_plot.isVisible() and share_of_height(chart.wer_plot, chart.wer_curve.getData()[1]) > 0.6
    assert chart.score_plot.isVisible() and len(chart.likeness_curve.getData()[1]) == 4

    # The generator total is one tick away, and with the log scale both are in view, the
    # mel loss over more than the sliver a linear axis leaves it (0.4 of ~440).
    chart.series_boxes["loss_g"].setChecked(True)
    chart.log_box.setChecked(True)
    chart.redraw()
    chart.grab()
    log_mel, log_total = chart.curves["mel"].getData()[1], chart.curves["loss_g"].getData()[1]
    low, high = chart.loss_plot.getViewBox().viewRange()[1]
    assert low <= np.nanmin(log_mel) and np.nanmax(log_total) <= high
    assert share_of_height(chart.loss_plot, log_mel) > 0.05


def test_a_short_run_is_ticked_at_whole_steps(qtbot):
    """Six steps: pyqtgraph alone would tick 1.5, 2.5 … on every plot's step axis."""
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.resize(900, 500)
    chart.show()
    for n in range(1, 7):
        chart.add_event(step(n, 1.0 - n / 20))
    chart.add_event(events.preview(step=6, epoch=0, likeness=0.1, previews=[
        {"path": "a.wav", "text": "a", "heard": "a", "wer": 0.5, "naturalness": 3.0}]))
    chart.redraw()
    for plot in (chart.loss_plot, chart.wer_plot, chart.score_plot):
        low, high = plot.getViewBox().viewRange()[0]
        axis = plot.getAxis("bottom")
        values = [v for _spacing, level in axis.tickValues(low, high, axis.width()) for v in level]
        assert values and all(float(v).is_integer() for v in values), values


def test_the_step_0_round_is_in_view_though_it_has_no_loss(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.show()
    chart.add_event(events.preview(step=0, epoch=0, likeness=0.0, previews=[
        {"path": "a.wav", "text": "a", "heard": "b", "wer": 1.0, "naturalness": 2.0}]))
    for n in range(1, 7):
        chart.add_event(step(n, 1.0 - n / 20))
    chart.redraw()
    views = [plot.getViewBox() for plot in (chart.loss_plot, chart.wer_plot, chart.score_plot)]
    qtbot.waitUntil(lambda: all(view.viewRange()[0][1] >= 6 for view in views), timeout=2000)
    assert all(view.viewRange()[0][0] <= 0 for view in views), [view.viewRange()[0] for view in views]
