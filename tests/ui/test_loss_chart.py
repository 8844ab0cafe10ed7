"""The loss chart draws what the events say: steps, validation points, preview WER."""

from __future__ import annotations

import numpy as np

from voicelab.core.training import events
from voicelab.ui.widgets.loss_chart import LossChart, smooth


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
