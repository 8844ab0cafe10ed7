"""The live training chart: losses falling, validation points, and the preview word error rate.

Two plots sharing the x axis: the losses on top (generator and discriminator totals and
the components a person watches — mel above all), and below them the intelligibility of
the previews (word error rate heard back by Whisper), which says more about "is it good
yet" than any loss. Points arrive as trainer events; the curves are redrawn at most a few
times a second, so a fast run never makes the window stutter. Smoothing (exponential
moving average), log scale, steps-or-epochs and a hover read-out are the controls people
know from TensorBoard.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget,
)

SERIES = (("loss_g", "generator", "#2563eb"), ("loss_d", "discriminator", "#dc2626"),
          ("mel", "mel", "#16a34a"), ("kl", "kl", "#9333ea"), ("dur", "duration", "#ea580c"),
          ("fm", "feature match", "#0891b2"), ("gen", "adversarial (gen)", "#64748b"),
          ("disc", "adversarial (disc)", "#a16207"))
SHOWN_BY_DEFAULT = ("loss_g", "loss_d", "mel")
REDRAW_MS = 200


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """Exponential moving average with bias correction (as TensorBoard draws it)."""
    if weight <= 0 or len(values) == 0:
        return values
    out = np.empty_like(values)
    last, debias = 0.0, 0.0
    for i, value in enumerate(values):
        if not np.isfinite(value):
            out[i] = np.nan
            continue
        last = last * weight + (1 - weight) * value
        debias = debias * weight + (1 - weight)
        out[i] = last / debias
    return out


class LossChart(QWidget):
    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.steps: List[float] = []
        self.epochs: List[float] = []
        self.values: Dict[str, List[float]] = {key: [] for key, _, _ in SERIES}
        self.val_x: Dict[str, List[float]] = {"step": [], "epoch": []}
        self.val_mel: List[float] = []
        self.wer_x: Dict[str, List[float]] = {"step": [], "epoch": []}
        self.wer: List[float] = []
        self._dirty = False

        self.loss_plot = pg.PlotWidget()
        self.loss_plot.setMenuEnabled(False)
        self.loss_plot.showGrid(x=True, y=True, alpha=0.2)
        self.loss_plot.setLabel("left", "loss")
        legend = self.loss_plot.addLegend(offset=(-10, 10))
        legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.curves = {}
        for key, label, color in SERIES:
            curve = self.loss_plot.plot(name=label, pen=pg.mkPen(color, width=2))
            curve.setVisible(key in SHOWN_BY_DEFAULT)
            self.curves[key] = curve
        self.val_points = self.loss_plot.plot(name="validation mel", pen=None, symbol="o", symbolSize=8,
                                              symbolBrush="#16a34a", symbolPen="w")
        self.wer_plot = pg.PlotWidget()
        self.wer_plot.setMenuEnabled(False)
        self.wer_plot.showGrid(x=True, y=True, alpha=0.2)
        self.wer_plot.setLabel("left", "preview WER %")
        self.wer_plot.setXLink(self.loss_plot)
        self.wer_plot.setMaximumHeight(150)
        self.wer_curve = self.wer_plot.plot(pen=pg.mkPen("#f59e0b", width=2), symbol="s", symbolSize=7,
                                            symbolBrush="#f59e0b")
        self.hover = QLabel(" ")
        self.hover.setObjectName("chartReadout")
        self.hover_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#94a3b8", style=Qt.DashLine))
        self.loss_plot.addItem(self.hover_line, ignoreBounds=True)
        self.hover_line.setVisible(False)
        self.loss_plot.scene().sigMouseMoved.connect(self._mouse_moved)

        self.series_boxes: Dict[str, QCheckBox] = {}
        controls = QHBoxLayout()
        for key, label, _color in SERIES:
            box = QCheckBox(label)
            box.setChecked(key in SHOWN_BY_DEFAULT)
            box.toggled.connect(lambda on, k=key: (self.curves[k].setVisible(on), self._mark()))
            controls.addWidget(box)
            self.series_boxes[key] = box
        controls.addStretch(1)
        options = QHBoxLayout()
        self.axis_combo = QComboBox()
        self.axis_combo.addItems(["steps", "epochs"])
        self.axis_combo.currentTextChanged.connect(lambda _t: self._mark())
        self.smooth_slider = QSlider(Qt.Horizontal)
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setValue(60)
        self.smooth_slider.setMaximumWidth(140)
        self.smooth_slider.valueChanged.connect(lambda _v: self._mark())
        self.log_box = QCheckBox("log scale")
        self.log_box.toggled.connect(lambda on: (self.loss_plot.setLogMode(y=on), self._mark()))
        for widget in (QLabel("x axis"), self.axis_combo, QLabel("smoothing"), self.smooth_slider,
                       self.log_box):
            options.addWidget(widget)
        options.addStretch(1)
        options.addWidget(self.hover)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.loss_plot, 3)
        layout.addWidget(self.wer_plot, 1)
        layout.addLayout(options)
        self._timer = QTimer(self, interval=REDRAW_MS)
        self._timer.timeout.connect(self._redraw_if_dirty)
        self._timer.start()

    # -- data -------------------------------------------------------------------------------
    def clear(self) -> None:
        self.steps.clear()
        self.epochs.clear()
        for values in self.values.values():
            values.clear()
        for store in (self.val_x, self.wer_x):
            for values in store.values():
                values.clear()
        self.val_mel.clear()
        self.wer.clear()
        self._mark()

    def load(self, history: Mapping[str, Iterable[Mapping]]) -> None:
        """Redraw from a run's history (`events.training_history`)."""
        self.clear()
        for kind in ("step", "validation", "preview"):
            for event in history.get(kind, []):
                self.add_event(event)
        self.redraw()

    def add_event(self, event: Mapping) -> None:
        kind = event.get("type")
        if kind == "step":
            losses = event.get("losses") or {}
            self.steps.append(float(event.get("step", 0)))
            self.epochs.append(float(event.get("epoch", 0)))
            for key in self.values:
                value = losses.get(key)
                self.values[key].append(np.nan if value is None else float(value))
        elif kind == "validation":
            mel = (event.get("losses") or {}).get("mel")
            if mel is not None:
                self.val_x["step"].append(float(event.get("step", 0)))
                self.val_x["epoch"].append(float(event.get("epoch", 0)))
                self.val_mel.append(float(mel))
        elif kind == "preview" and event.get("wer") is not None:
            self.wer_x["step"].append(float(event.get("step", 0)))
            self.wer_x["epoch"].append(float(event.get("epoch", 0)))
            self.wer.append(100.0 * float(event["wer"]))
        else:
            return
        self._mark()

    def point_count(self) -> int:
        return len(self.steps)

    # -- drawing ----------------------------------------------------------------------------
    def _mark(self) -> None:
        self._dirty = True

    def _redraw_if_dirty(self) -> None:
        if self._dirty and self.isVisible():
            self.redraw()

    def redraw(self) -> None:
        self._dirty = False
        axis = "step" if self.axis_combo.currentText() == "steps" else "epoch"
        x = np.asarray(self.steps if axis == "step" else self.epochs, dtype=float)
        weight = self.smooth_slider.value() / 100
        for key, curve in self.curves.items():
            if not curve.isVisible() or len(x) == 0:
                curve.setData([], [])
                continue
            y = smooth(np.asarray(self.values[key], dtype=float), weight)
            if self.log_box.isChecked():
                y = np.where(y > 0, y, np.nan)
            curve.setData(x, y, connect="finite")
        self.val_points.setData(self.val_x[axis], self.val_mel)
        self.wer_curve.setData(self.wer_x[axis], self.wer)
        self.loss_plot.setLabel("bottom", axis + "s")

    def _mouse_moved(self, position) -> None:
        if not self.steps or not self.loss_plot.sceneBoundingRect().contains(position):
            self.hover_line.setVisible(False)
            return
        axis = "step" if self.axis_combo.currentText() == "steps" else "epoch"
        x = np.asarray(self.steps if axis == "step" else self.epochs, dtype=float)
        at = self.loss_plot.plotItem.vb.mapSceneToView(position).x()
        self.show_readout(int(np.argmin(np.abs(x - at))))

    def show_readout(self, index: int) -> None:
        """The values at one logged step, in the line under the chart."""
        parts = [f"step {int(self.steps[index])} · epoch {int(self.epochs[index])}"]
        for key, label, _color in SERIES:
            value = self.values[key][index]
            if self.curves[key].isVisible() and np.isfinite(value):
                parts.append(f"{label} {value:.3f}")
        self.hover.setText("   ".join(parts))
        axis_x = self.steps if self.axis_combo.currentText() == "steps" else self.epochs
        self.hover_line.setPos(axis_x[index])
        self.hover_line.setVisible(True)
