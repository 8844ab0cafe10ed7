"""A clip in the context of its recording: drag its edges, mark where to split it.

Shows a few seconds of the source around the selected clip, the clip as a shaded region
whose edges can be dragged (boundaries move when the drag ends), the neighbouring clips in
grey so an edge is not dragged into them unknowingly, a split marker placed by clicking,
and the play cursor. Times on the axis are seconds in the source, the same numbers as the
clip's start and end in dataset.json.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from voicelab.ui.widgets.waveform import WaveformView, envelope

CONTEXT_S = 1.5  # seconds of the recording shown on each side of the clip


class SourceView(WaveformView):
    boundsEdited = Signal(float, float)  # the user finished dragging an edge
    splitMarked = Signal(float)  # the user clicked where to split

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot.setLabel("bottom", "seconds in the recording")
        self.region = pg.LinearRegionItem(values=(0, 1), movable=True,
                                          brush=pg.mkBrush(59, 130, 246, 40),
                                          pen=pg.mkPen("#2563eb", width=2))
        self.region.setZValue(-5)
        self.region.setVisible(False)
        self.region.sigRegionChangeFinished.connect(self._region_done)
        self.plot.addItem(self.region)
        self.split_line = pg.InfiniteLine(pos=0, angle=90, movable=True,
                                          pen=pg.mkPen("#f59e0b", width=2, style=pg.QtCore.Qt.DashLine))
        self.split_line.setVisible(False)
        self.split_line.sigPositionChangeFinished.connect(lambda line: self.splitMarked.emit(float(line.value())))
        self.plot.addItem(self.split_line)
        self._neighbours: list[pg.LinearRegionItem] = []
        self.offset = 0.0
        self.clip_bounds: tuple[float, float] | None = None
        self._setting = False
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.placeholder = pg.TextItem("Select a clip to see it in its recording: drag its edges "
                                       "to move them, click to mark a split.",
                                       color="#6b7280", anchor=(0.5, 0.5))
        self.plot.addItem(self.placeholder, ignoreBounds=True)
        self.placeholder.setPos(0.5, 0)
        self.plot.setXRange(0, 1, padding=0)

    def show_clip(self, samples: np.ndarray, rate: int, offset: float, bounds: tuple[float, float],
                  neighbours: list[tuple[float, float]] = ()) -> None:
        """`samples` start at `offset` seconds in the source; `bounds` is the clip."""
        self.placeholder.setVisible(False)
        self.set_audio(samples, rate)
        times, values = envelope(samples, rate)
        self.curve.setData(times + offset, values)
        self.offset = offset
        self.plot.setXRange(offset, offset + max(self.duration, 0.01), padding=0)
        for item in self._neighbours:
            self.plot.removeItem(item)
        self._neighbours = []
        for start, end in neighbours:
            item = pg.LinearRegionItem(values=(start, end), movable=False,
                                       brush=pg.mkBrush(156, 163, 175, 50), pen=pg.mkPen(None))
            item.setZValue(-10)
            self.plot.addItem(item)
            self._neighbours.append(item)
        self._setting = True
        self.region.setBounds((offset, offset + self.duration))
        self.region.setRegion(bounds)
        self.region.setVisible(True)
        self._setting = False
        self.clip_bounds = tuple(bounds)
        self.split_line.setValue(sum(bounds) / 2)
        self.split_line.setVisible(False)

    def clear(self) -> None:
        super().clear()
        self.plot.setXRange(0, 1, padding=0)
        self.placeholder.setVisible(True)
        self.region.setVisible(False)
        self.split_line.setVisible(False)
        self.clip_bounds = None
        for item in self._neighbours:
            self.plot.removeItem(item)
        self._neighbours = []

    def set_cursor(self, seconds: float | None) -> None:
        """`seconds` from the clip's start (what the player reports)."""
        if seconds is None or self.clip_bounds is None:
            super().set_cursor(None)
        else:
            super().set_cursor(self.clip_bounds[0] + seconds)

    def split_position(self) -> float | None:
        return float(self.split_line.value()) if self.split_line.isVisible() else None

    def mark_split(self, seconds: float) -> None:
        self.split_line.setValue(seconds)
        self.split_line.setVisible(True)
        self.splitMarked.emit(float(seconds))

    def _clicked(self, event) -> None:
        if self.clip_bounds is None or event.button() != pg.QtCore.Qt.LeftButton:
            return
        x = self.plot.plotItem.vb.mapSceneToView(event.scenePos()).x()
        if self.clip_bounds[0] < x < self.clip_bounds[1]:
            self.mark_split(float(x))

    def _region_done(self, _item=None) -> None:
        if self._setting or self.clip_bounds is None:
            return
        start, end = (float(v) for v in self.region.getRegion())
        if (round(start, 3), round(end, 3)) != tuple(round(v, 3) for v in self.clip_bounds):
            self.boundsEdited.emit(start, end)
