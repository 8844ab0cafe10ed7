"""Panes side by side or one above another, each with its share of the room a window gains.

The tabs divide their space with `QSplitter`s, so the user can drag the border: each pane's
stretch factor says how much of a bigger window it takes, and `sizes` the first division
where the stretch factors alone would start it wrong. One function makes them all, so a
split reads as what it holds and every one behaves the same.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget


def splitter(orientation: Qt.Orientation, *panes: tuple[QWidget, int],
             sizes: list[int] | None = None) -> QSplitter:
    """A splitter of `panes`, each (widget, stretch factor), first left or on top."""
    split = QSplitter(orientation)
    for widget, _stretch in panes:
        split.addWidget(widget)
    for index, (_widget, stretch) in enumerate(panes):
        split.setStretchFactor(index, stretch)
    if sizes:
        split.setSizes(sizes)
    return split
