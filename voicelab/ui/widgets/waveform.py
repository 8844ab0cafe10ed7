"""A clip's waveform with a play cursor (pyqtgraph), on a time axis in plain seconds."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from voicelab.ui.widgets.plot_style import PlotStyle

# More points than a screen has pixels only costs drawing time: keep a min/max envelope.
_MAX_POINTS = 8000


def envelope(samples: np.ndarray, rate: int, max_points: int = _MAX_POINTS):
    """(times, values) for drawing: the samples, or a min/max envelope of long clips."""
    data = np.asarray(samples, dtype=np.float32).reshape(-1)
    if len(data) <= max_points:
        return np.arange(len(data), dtype=np.float64) / rate, data
    buckets = max_points // 2
    size = len(data) // buckets
    trimmed = data[: size * buckets].reshape(buckets, size)
    values = np.empty(buckets * 2, dtype=np.float32)
    values[0::2] = trimmed.min(axis=1)
    values[1::2] = trimmed.max(axis=1)
    times = np.repeat(np.arange(buckets, dtype=np.float64) * size / rate, 2)
    times[1::2] += size / (2 * rate)
    return times, values


class WaveformView(QWidget):
    """Shows one clip; `set_cursor(seconds)` moves the play line, `clear()` empties it."""

    def __init__(self, parent: QWidget | None = None, empty_text: str = "") -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "seconds")
        self.plot.hideAxis("left")
        self.plot_style = PlotStyle(self, [self.plot])  # the theme's colours; 0.5 s reads "0.5"
        self.plot.setYRange(-1, 1, padding=0.05)
        self.plot.setMinimumHeight(160)
        self.curve = self.plot.plot(pen=pg.mkPen("#3b82f6", width=1))
        self.cursor = pg.InfiniteLine(pos=0, angle=90, movable=False, pen=pg.mkPen("#ef4444", width=2))
        self.cursor.setVisible(False)
        self.plot.addItem(self.cursor)
        # What an empty view is for, in the middle of it (first run: nothing made yet).
        self.empty_item = pg.TextItem(empty_text, color=self.palette().mid().color(), anchor=(0.5, 0.5))
        self.empty_item.setPos(0.5, 0.0)
        self.plot.addItem(self.empty_item)
        self.plot.setXRange(0, 1, padding=0)
        self.empty_item.setVisible(bool(empty_text))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.sample_count = 0
        self.sample_rate = 0
        self.duration = 0.0

    def set_audio(self, samples: np.ndarray, sample_rate: int) -> None:
        times, values = envelope(samples, sample_rate)
        self.sample_count = int(np.asarray(samples).shape[0])
        self.sample_rate = int(sample_rate)
        self.duration = self.sample_count / sample_rate if sample_rate else 0.0
        self.curve.setData(times, values)
        self.empty_item.setVisible(False)
        peak = float(np.max(np.abs(values))) if len(values) else 1.0
        self.plot.setXRange(0, max(self.duration, 0.01), padding=0)
        self.plot.setYRange(-max(peak, 0.05), max(peak, 0.05), padding=0.05)
        self.set_cursor(None)

    def clear(self) -> None:
        self.curve.setData([], [])
        self.empty_item.setVisible(bool(self.empty_item.toPlainText()))
        self.plot.setXRange(0, 1, padding=0)
        self.plot.setYRange(-1, 1, padding=0.05)
        self.sample_count = 0
        self.duration = 0.0
        self.set_cursor(None)

    def has_data(self) -> bool:
        return self.sample_count > 0

    def set_cursor(self, seconds: float | None) -> None:
        if seconds is None:
            self.cursor.setVisible(False)
            return
        self.cursor.setValue(seconds)
        self.cursor.setVisible(True)

    def cursor_position(self) -> float | None:
        return float(self.cursor.value()) if self.cursor.isVisible() else None
