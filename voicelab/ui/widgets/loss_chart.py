"""The live training chart: losses falling, validation points, and how the previews score.

Three plots sharing the x axis: the losses on top; below them the intelligibility of the
previews (word error rate heard back by Whisper), which says more about "is it good yet"
than any loss; and at the bottom whether it is the *person* and sounds natural: each
preview round's likeness to the dataset's speaker (left axis: 0 the voice the run started
from, 1 the speaker, dashed guides at both) and its naturalness (right axis, DNSMOS 1–5).
The score plots appear once a round has such a score.

The loss plot opens on the mel loss alone (and its validation points): it is the loss
people watch, and the generator total (a few hundred, most of it KL) or the discriminator
drawn beside it on one linear axis flatten it into a line along the bottom. Every other
curve is one tick away, with a log scale for mixing them. The plots take the app's theme
(`plot_style.py`).

Points arrive as trainer events (or from a run's events.jsonl, replayed); the curves are
redrawn at most a few times a second, so a fast run never makes the window stutter.
Smoothing (an exponential moving average, `smoothing.py`), log scale, steps-or-epochs and a
hover read-out are the controls people know from TensorBoard.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from voicelab.ui.widgets.plot_style import PlotStyle, count_plot
from voicelab.ui.widgets.smoothing import Smoother

SERIES = (("loss_g", "generator", "#2563eb"), ("loss_d", "discriminator", "#dc2626"),
          ("mel", "mel", "#16a34a"), ("kl", "kl", "#9333ea"), ("dur", "duration", "#ea580c"),
          ("fm", "feature match", "#0891b2"), ("gen", "adversarial (gen)", "#64748b"),
          ("disc", "adversarial (disc)", "#a16207"))
SHOWN_BY_DEFAULT = ("mel",)  # the module docstring says why
REDRAW_MS = 200
SCORE_PLOT_HEIGHT = (96, 130)  # the WER and likeness plots: "naturalness" must fit upright
AXIS_WIDTH = 52  # pixels, each side axis of each plot
WER_COLOR, LIKENESS_COLOR, NATURALNESS_COLOR = "#f59e0b", "#7c3aed", "#0d9488"


def history_columns(history: Mapping[str, Iterable[Mapping]]) -> dict[str, Any]:
    """A history's step events as the chart's columns (a long run has tens of thousands,
    so the tab builds them off the UI thread)."""
    steps = list(history.get("step", []))
    losses = [e.get("losses") or {} for e in steps]
    return {
        "steps": [float(e.get("step", 0)) for e in steps],
        "epochs": [float(e.get("epoch", 0)) for e in steps],
        "values": {key: [np.nan if item.get(key) is None else float(item[key]) for item in losses]
                   for key, _label, _color in SERIES},
        "others": {kind: list(history.get(kind, [])) for kind in ("validation", "preview")},
    }


class LossChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.steps: list[float] = []
        self.epochs: list[float] = []
        self.values: dict[str, list[float]] = {key: [] for key, _, _ in SERIES}
        self.val_x: dict[str, list[float]] = {"step": [], "epoch": []}
        self.val_mel: list[float] = []
        self.wer_x: dict[str, list[float]] = {"step": [], "epoch": []}
        self.wer: list[float] = []
        self.score_x: dict[str, list[float]] = {"step": [], "epoch": []}
        self.likeness: list[float] = []  # per preview round, NaN where unknown
        self.naturalness: list[float] = []
        self._dirty = False

        self.loss_plot = count_plot()
        self.loss_plot.setLabel("left", "loss")
        self.curves = {}
        self._smoothers = {key: Smoother() for key, _, _ in SERIES}
        for key, label, color in SERIES:
            curve = self.loss_plot.plot(name=label, pen=pg.mkPen(color, width=2))
            curve.setVisible(key in SHOWN_BY_DEFAULT)
            # Tens of thousands of steps: draw what is in view, at most a few points a pixel.
            curve.setClipToView(True)
            curve.setDownsampling(auto=True, method="peak")
            self.curves[key] = curve
        self.val_points = self.loss_plot.plot(name="validation mel", pen=None, symbol="o", symbolSize=8,
                                              symbolBrush="#16a34a", symbolPen="w")
        # The preview rounds' x, drawn as nothing: the loss plot's range (shared by the WER and
        # likeness plots) then holds the step-0 round, which has no loss point (a six-step run
        # began its x axis at step 1 and hid the voice before training).
        self.round_span = pg.PlotCurveItem()
        self.loss_plot.addItem(self.round_span)
        self.wer_plot = count_plot()
        self.wer_plot.setLabel("left", "WER %")
        self.wer_plot.getAxis("left").setToolTip("Word error rate of the preview sentences as Whisper "
                                                 "hears them: lower is clearer")
        self.wer_plot.setXLink(self.loss_plot)
        self.wer_plot.setMinimumHeight(SCORE_PLOT_HEIGHT[0])  # room for a rotated axis label
        self.wer_plot.setMaximumHeight(SCORE_PLOT_HEIGHT[1])
        self.wer_plot.setVisible(False)  # until a preview has a WER
        self._build_score_plot()
        for plot in (self.loss_plot, self.wer_plot, self.score_plot):
            # The finest grid level triples the cost of every repaint (software rendering
            # draws hundreds of faint lines) and says little; two levels read as well.
            for side in ("left", "bottom"):
                plot.getAxis(side).setStyle(maxTickLevel=1)
            # One step is at one x in all three: their side axes are as wide in each, the
            # naturalness axis of the bottom plot an empty one in the others.
            plot.getAxis("left").setWidth(AXIS_WIDTH)
            plot.showAxis("right")
            plot.getAxis("right").setWidth(AXIS_WIDTH)
            if plot is not self.score_plot:
                plot.getAxis("right").setStyle(showValues=False)
        score = self.score_plot
        self.plot_style = PlotStyle(self, [self.loss_plot, self.wer_plot, score],
                                    {(score, "left"): LIKENESS_COLOR, (score, "right"): NATURALNESS_COLOR})
        self.wer_curve = self.wer_plot.plot(pen=pg.mkPen(WER_COLOR, width=2), symbol="s", symbolSize=7,
                                            symbolBrush=WER_COLOR)
        self.hover = QLabel(" ")
        self.hover.setObjectName("chartReadout")
        self.hover_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#94a3b8", style=Qt.DashLine))
        self.loss_plot.addItem(self.hover_line, ignoreBounds=True)
        self.hover_line.setVisible(False)
        self.loss_plot.scene().sigMouseMoved.connect(self._mouse_moved)

        self.series_boxes: dict[str, QCheckBox] = {}
        controls = QHBoxLayout()
        for key, label, color in SERIES:
            box = QCheckBox(label)
            # The boxes are the legend (an in-plot one would hide the curves): their color.
            box.setStyleSheet(f"QCheckBox {{ color: {color}; }}")
            box.setChecked(key in SHOWN_BY_DEFAULT)
            box.toggled.connect(lambda on, k=key: (self.curves[k].setVisible(on), self._mark()))
            controls.addWidget(box)
            self.series_boxes[key] = box
        controls.addStretch(1)
        self.val_label = QLabel("<span style='color:#16a34a'>●</span> validation mel")
        self.val_label.setToolTip("The mel loss on held-out clips after each epoch: the curve to watch")
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
                       self.log_box, self.val_label):
            options.addWidget(widget)
        options.addStretch(1)
        options.addWidget(self.hover)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.loss_plot, 3)
        layout.addWidget(self.wer_plot, 1)
        layout.addWidget(self.score_plot, 1)
        layout.addLayout(options)
        self._timer = QTimer(self, interval=REDRAW_MS)
        self._timer.timeout.connect(self._redraw_if_dirty)
        self._timer.start()

    def _build_score_plot(self) -> None:
        """Likeness (left axis) and naturalness (right axis, a second view on the same x)."""
        self.score_plot = count_plot()
        self.score_plot.setXLink(self.loss_plot)
        self.score_plot.setMinimumHeight(SCORE_PLOT_HEIGHT[0])
        self.score_plot.setMaximumHeight(SCORE_PLOT_HEIGHT[1])
        self.score_plot.setVisible(False)  # until a preview round has a likeness or naturalness
        item = self.score_plot.getPlotItem()
        item.setLabel("left", "likeness", color=LIKENESS_COLOR)
        item.getAxis("left").setToolTip("0 = the voice the run started from, 1 = the dataset's speaker")
        for level in (0.0, 1.0):
            item.addItem(pg.InfiniteLine(pos=level, angle=0, movable=False,
                                         pen=pg.mkPen(LIKENESS_COLOR, width=1, style=Qt.DashLine)),
                         ignoreBounds=True)
        self.likeness_curve = item.plot(pen=pg.mkPen(LIKENESS_COLOR, width=2), symbol="o", symbolSize=7,
                                        symbolBrush=LIKENESS_COLOR)
        item.showAxis("right")
        item.setLabel("right", "naturalness", color=NATURALNESS_COLOR)
        item.getAxis("right").setToolTip("DNSMOS, 1 (bad) to 5 (excellent); real speech ~3.3–3.6")
        self.naturalness_view = pg.ViewBox()
        self.naturalness_view.setMouseEnabled(x=False, y=False)
        item.scene().addItem(self.naturalness_view)
        item.getAxis("right").linkToView(self.naturalness_view)
        self.naturalness_view.setXLink(item)
        self.naturalness_view.setYRange(1.0, 5.0, padding=0.02)  # the whole scale: changes read true
        self.naturalness_curve = pg.PlotDataItem(pen=pg.mkPen(NATURALNESS_COLOR, width=2), symbol="t",
                                                 symbolSize=8, symbolBrush=NATURALNESS_COLOR)
        self.naturalness_view.addItem(self.naturalness_curve)
        item.getViewBox().sigResized.connect(self._align_views)

    def _align_views(self) -> None:
        """The naturalness view lies exactly over the likeness view (pyqtgraph's two-axis recipe)."""
        view = self.score_plot.getPlotItem().getViewBox()
        self.naturalness_view.setGeometry(view.sceneBoundingRect())
        self.naturalness_view.linkedViewChanged(view, self.naturalness_view.XAxis)

    # -- data -------------------------------------------------------------------------------
    def clear(self) -> None:
        self.steps.clear()
        self.epochs.clear()
        for values in self.values.values():
            values.clear()
        for store in (self.val_x, self.wer_x, self.score_x):
            for values in store.values():
                values.clear()
        for values in (self.val_mel, self.wer, self.likeness, self.naturalness):
            values.clear()
        self._mark()

    def load(self, history: Mapping[str, Iterable[Mapping]]) -> None:
        """Redraw from a run's history (`events.training_history`)."""
        self.load_columns(history_columns(history))

    def load_columns(self, columns: Mapping[str, Any]) -> None:
        """Redraw from `history_columns(history)`, which a worker thread can prepare."""
        self.clear()
        self.steps.extend(columns["steps"])
        self.epochs.extend(columns["epochs"])
        for key, values in self.values.items():
            values.extend(columns["values"][key])
        for kind in ("validation", "preview"):
            for event in columns["others"][kind]:
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
        elif kind == "preview":
            scores = {key: event.get(key) for key in ("wer", "likeness", "naturalness")}
            if all(value is None for value in scores.values()):
                return
            if scores["wer"] is not None:
                self.wer_x["step"].append(float(event.get("step", 0)))
                self.wer_x["epoch"].append(float(event.get("epoch", 0)))
                self.wer.append(100.0 * float(scores["wer"]))
            if scores["likeness"] is not None or scores["naturalness"] is not None:
                self.score_x["step"].append(float(event.get("step", 0)))
                self.score_x["epoch"].append(float(event.get("epoch", 0)))
                for key, values in (("likeness", self.likeness), ("naturalness", self.naturalness)):
                    values.append(np.nan if scores[key] is None else float(scores[key]))
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
            y = self._smoothers[key].update(self.values[key], weight)
            if self.log_box.isChecked():
                y = np.where(y > 0, y, np.nan)
            curve.setData(x, y, connect="finite")
        self.val_points.setData(self.val_x[axis], self.val_mel)
        rounds = np.asarray(self.wer_x[axis] + self.score_x[axis], dtype=float)
        self.round_span.setData(rounds, np.full(len(rounds), np.nan))
        self.wer_curve.setData(self.wer_x[axis], self.wer)
        # A run without scored previews has no WER: an empty plot would only cost repaints.
        self.wer_plot.setVisible(bool(self.wer))
        if self.wer:  # from 0 %, where it should end up: 2 % reads as small, not as mid-scale
            self.wer_plot.setYRange(0, max(10.0, max(self.wer)), padding=0.08)
        self._draw_scores(axis)
        self.loss_plot.setLabel("bottom", axis + "s")

    def _draw_scores(self, axis: str) -> None:
        x = np.asarray(self.score_x[axis], dtype=float)
        likeness = np.asarray(self.likeness, dtype=float)
        self.likeness_curve.setData(x, likeness, connect="finite")
        self.naturalness_curve.setData(x, np.asarray(self.naturalness, dtype=float), connect="finite")
        self.score_plot.setVisible(len(x) > 0)
        known = likeness[np.isfinite(likeness)]
        # Both anchors in view, and any excursion past them (likeness can leave 0–1).
        low, high = min(0.0, float(known.min(initial=0.0))), max(1.0, float(known.max(initial=1.0)))
        self.score_plot.getPlotItem().setYRange(low, high, padding=0.08)
        self._align_views()

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
