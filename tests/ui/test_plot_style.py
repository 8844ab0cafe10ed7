"""The plots wear the app's theme and read in plain numbers (no "seconds (x0.001)")."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QStyleFactory

from voicelab.ui.theme import apply_theme
from voicelab.ui.widgets.loss_chart import LIKENESS_COLOR, LossChart
from voicelab.ui.widgets.waveform import WaveformView


def drawn_ticks(axis):
    """The tick labels the axis paints now (as its paint() gets them)."""
    image = QImage(400, 400, QImage.Format_ARGB32)
    painter = QPainter(image)
    try:
        _axis, _ticks, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _rect, _flags, text in texts]


@pytest.fixture
def app_theme(qapp):
    """Switch the app's theme in a test; the app's own look comes back after."""
    style, palette = qapp.style().name(), qapp.palette()
    yield lambda theme: (apply_theme(qapp, theme), QApplication.processEvents())
    qapp.setStyle(QStyleFactory.create(style))
    qapp.setPalette(palette)


def test_the_chart_follows_the_light_and_the_dark_theme(qtbot, app_theme):
    app_theme("light")
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.show()
    plots = (chart.loss_plot, chart.wer_plot, chart.score_plot)
    base, text = chart.palette().base().color(), chart.palette().text().color()
    assert base.lightness() > 200  # the light theme's fields: white, not pyqtgraph's black
    for plot in plots:
        assert plot.backgroundBrush().color() == base
        assert plot.getAxis("left").textPen().color() == text

    app_theme("dark")
    for plot in plots:
        assert plot.backgroundBrush().color().lightness() < 60
        assert plot.backgroundBrush().color() == chart.palette().base().color()
        assert plot.getAxis("bottom").textPen().color().lightness() > 180
    # An axis with a colour of its own keeps it through the switch.
    assert LIKENESS_COLOR in chart.score_plot.getAxis("left").labelString()

    app_theme("light")
    assert all(plot.backgroundBrush().color().lightness() > 200 for plot in plots)


def test_the_waveform_reads_in_seconds_with_sensible_ticks(qtbot, app_theme):
    app_theme("light")
    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(800, 200)
    view.show()
    qtbot.waitExposed(view)
    axis = view.plot.getAxis("bottom")
    assert view.plot.backgroundBrush().color() == view.palette().base().color()

    rate = 22050
    view.set_audio(np.sin(np.linspace(0, 900, int(0.8 * rate))).astype(np.float32) * 0.5, rate)
    view.grab()
    ticks = drawn_ticks(axis)
    assert axis.labelString().endswith(">seconds </span>") and "x0.001" not in axis.labelString()
    values = [float(tick) for tick in ticks]
    assert len(values) >= 3 and all(0 <= value <= 0.8 for value in values)  # not 0…800
    assert set(values) >= {0.2, 0.4, 0.6}

    view.clear()  # the empty view spans 0–1 s: plain seconds too
    view.grab()
    assert all(0 <= float(tick) <= 1 for tick in drawn_ticks(axis))

    view.set_audio(np.zeros(int(12.5 * rate), dtype=np.float32), rate)  # a long clip: whole seconds
    view.grab()
    values = [float(tick) for tick in drawn_ticks(axis)]
    assert max(values) >= 10 and all(value == int(value) for value in values)


def test_the_loss_axis_reads_the_mel_loss_as_it_is(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.show()
    from voicelab.core.training.run import events

    for n in range(1, 30):
        chart.add_event(events.step(step=n, epoch=0, losses={"mel": 0.8 - n / 100}, lr=2e-4,
                                    steps_per_s=1.0, eta_s=1.0))
    chart.redraw()
    chart.grab()
    values = [float(tick) for tick in drawn_ticks(chart.loss_plot.getAxis("left"))]
    assert values and all(0.4 <= value <= 0.9 for value in values)  # 0.5, 0.6 … not 500, 600
    assert "(x" not in chart.loss_plot.getAxis("left").labelString()
