"""Plots in the app's colours, with plain numbers on their axes.

pyqtgraph draws with its own defaults, not the application's palette: a black background
and grey text whatever the theme, so a chart was a dark box in the light theme. And its axes
scale their numbers by an SI prefix when the label has no unit and the range is under one
(a 0.8 s clip read "seconds (x0.001)" with ticks 0 to 800; a mel loss of 0.4 became 400).
`PlotStyle` fixes both for every plot of a widget: background, axis lines and text from
the widget's palette, applied again whenever the palette changes (Settings › Theme), and no
SI prefix on any axis. An axis whose label has a colour of its own (the likeness and
naturalness axes) keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

SIDES = ("left", "bottom", "right", "top")


def plot_colors(palette: QPalette) -> tuple[QColor, QColor, QColor]:
    """(background, text, axis line) of a plot drawn in this palette."""
    return (palette.color(QPalette.Base), palette.color(QPalette.Text), palette.color(QPalette.Mid))


def plain_numbers(axis: pg.AxisItem) -> None:
    """The axis's numbers as they are: no SI-prefix scaling, whatever the range."""
    axis.enableAutoSIPrefix(False)
    # Disabling computes the scale once more from the range in view (pyqtgraph 0.14), and it
    # would stick: a view of 0-1 s when this runs meant ticks of 0-1000 ever after.
    axis.autoSIPrefixScale, axis.labelUnitPrefix = 1.0, ""
    if axis.labelText:
        axis.setLabel(axis.labelText)  # redraws the label without the "(x0.001)"


class CountAxis(pg.AxisItem):
    """An axis of counts (steps, epochs): ticks on whole numbers only. pyqtgraph halves its
    spacing to fill a short range, so a six-step run read 1.5, 2.5 …"""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        levels = super().tickSpacing(minVal, maxVal, size)
        whole = [(spacing, offset) for spacing, offset in levels if spacing >= 1]
        return whole or [(1.0, 0.0)]


def count_plot() -> pg.PlotWidget:
    """A plot against steps or epochs, as the training chart draws each of its three:
    CountAxis at the bottom, a faint grid, no right-click menu."""
    plot = pg.PlotWidget(axisItems={"bottom": CountAxis("bottom")})
    plot.setMenuEnabled(False)
    plot.showGrid(x=True, y=True, alpha=0.2)
    return plot


class PlotStyle(QObject):
    """Keeps `plots` in `owner`'s palette; `label_colors` maps (plot, side) to a label colour."""

    def __init__(self, owner: QWidget, plots: Iterable[pg.PlotWidget],
                 label_colors: dict[tuple[pg.PlotWidget, str], str] | None = None) -> None:
        super().__init__(owner)
        self.owner = owner
        self.plots = list(plots)
        self.label_colors = dict(label_colors or {})
        for plot in self.plots:
            for side in SIDES:
                plain_numbers(plot.getAxis(side))
        self.apply()
        owner.installEventFilter(self)

    def apply(self) -> None:
        background, text, line = plot_colors(self.owner.palette())
        for plot in self.plots:
            plot.setBackground(background)
            for side in SIDES:
                axis = plot.getAxis(side)
                axis.setPen(line)
                axis.setTextPen(text)  # also colours the label: a coloured one gets its colour back
                color = self.label_colors.get((plot, side))
                if color is not None:
                    axis.setLabel(axis.labelText, color=color)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.owner and event.type() == QEvent.PaletteChange:
            self.apply()
        return False
