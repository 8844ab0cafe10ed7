"""The studio's input meter: loudness bar, peak line and a clipping light.

It only paints what it is given: the studio reads `Recorder.meter()` at a fixed rate and
calls `set_level`, so the meter costs the same whatever the microphone's block size, and
audio never waits for a repaint. The bar falls back smoothly (`FALL_DB_PER_S`), the peak
line holds for a moment, and the clip light stays lit long enough to be seen
(`CLIP_HOLD_S`): a clipped syllable lasts a few milliseconds.

The scale runs from -60 to 0 dBFS; the band where speech should sit is marked green,
the hot end amber and red, so "aim for the green" is an instruction anyone can follow.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from voicelab.core.recording.recorder import Level

FLOOR_DB = -60.0
GOOD_FROM_DB = -30.0  # speech loudness in this band is right (checks.QUIET_WARN_DB)
HOT_FROM_DB = -9.0
RED_FROM_DB = -3.0
FALL_DB_PER_S = 30.0
PEAK_HOLD_S = 1.0
CLIP_HOLD_S = 1.5


def _fraction(db: float) -> float:
    return min(1.0, max(0.0, (db - FLOOR_DB) / -FLOOR_DB))


class LevelMeter(QWidget):
    """A horizontal meter; `set_level` with each reading, `set_enabled_input(False)` greys it."""

    def __init__(self, parent: QWidget | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.clock = clock
        self.rms_db = FLOOR_DB
        self.peak_db = FLOOR_DB
        self.clip_lit = False
        self.readings = 0
        self._peak_at = 0.0
        self._clip_at = -CLIP_HOLD_S
        self._last = clock()
        self._input = True
        self.setMinimumHeight(34)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setAccessibleName("Input level")

    def sizeHint(self) -> QSize:
        return QSize(480, 40)

    def set_enabled_input(self, enabled: bool) -> None:
        self._input = enabled
        if not enabled:
            self.rms_db = self.peak_db = FLOOR_DB
            self.clip_lit = False
        self.update()

    def set_level(self, level: Level) -> None:
        now = self.clock()
        elapsed, self._last = now - self._last, now
        self.readings += 1
        fallen = self.rms_db - FALL_DB_PER_S * elapsed
        self.rms_db = max(FLOOR_DB, level.rms_db, fallen)
        if level.peak_db >= self.peak_db or now - self._peak_at > PEAK_HOLD_S:
            self.peak_db, self._peak_at = max(FLOOR_DB, level.peak_db), now
        if level.clipped:
            self._clip_at = now
        self.clip_lit = now - self._clip_at < CLIP_HOLD_S
        self.setToolTip(f"Loudness {self.rms_db:.0f} dBFS, peak {self.peak_db:.0f} dBFS")
        self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        height = self.height()
        light = height - 4
        bar = QRectF(2, 2, self.width() - light - 62, height - 4)
        palette = self.palette()
        painter.fillRect(bar, palette.base())
        zones = ((FLOOR_DB, GOOD_FROM_DB, "#9ca3af"), (GOOD_FROM_DB, HOT_FROM_DB, "#16a34a"),
                 (HOT_FROM_DB, RED_FROM_DB, "#d97706"), (RED_FROM_DB, 0.0, "#dc2626"))
        active = self._input
        for low, high, colour in zones:  # the scale's bands, a strip under the bar
            band = QRectF(bar.left() + bar.width() * _fraction(low), bar.bottom() - 4,
                          bar.width() * (_fraction(high) - _fraction(low)), 4)
            painter.fillRect(band, QColor(colour))
        if active and self.rms_db > FLOOR_DB:  # one colour: the band the loudness is in
            colour = next(c for low, high, c in zones if self.rms_db <= high or high == 0.0)
            painter.fillRect(QRectF(bar.left(), bar.top(), bar.width() * _fraction(self.rms_db),
                                    bar.height() - 6), QColor(colour))
        if active and self.peak_db > FLOOR_DB:  # the peak, held a moment
            x = bar.left() + bar.width() * _fraction(self.peak_db)
            painter.setPen(QPen(palette.text().color(), 2))
            painter.drawLine(int(x), int(bar.top()), int(x), int(bar.bottom() - 6))
        painter.setPen(QPen(palette.mid().color(), 1))
        painter.drawRect(bar)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        painter.setFont(font)
        painter.setPen(palette.text().color())
        text = f"{self.rms_db:.0f} dB" if active and self.rms_db > FLOOR_DB else ("–" if active else "no input")
        painter.drawText(QRectF(bar.right() + 4, 0, 54, height), Qt.AlignVCenter | Qt.AlignLeft, text)
        lamp = QRectF(self.width() - light - 2, 2, light, light)
        painter.setPen(QPen(QColor("#7f1d1d"), 1))
        painter.setBrush(QColor("#ef4444") if self.clip_lit and active else palette.button().color())
        painter.drawEllipse(lamp)
        painter.setPen(QColor("white") if self.clip_lit and active else palette.mid().color())
        small = QFont(font)
        small.setPointSizeF(max(6.0, font.pointSizeF() * 0.7))
        small.setBold(True)
        painter.setFont(small)
        painter.drawText(lamp, Qt.AlignCenter, "CLIP")
        painter.end()
