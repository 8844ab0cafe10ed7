"""First-run guide pages: an empty tab says what to do next instead of showing empty widgets."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class GuidePage(QWidget):
    """A heading, numbered steps and optional action buttons, centred in the tab."""

    def __init__(self, heading: str, intro: str, steps: Iterable[str],
                 actions: Iterable[tuple[str, Callable[[], None]]] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        box = QWidget()
        box.setMinimumWidth(520)
        box.setMaximumWidth(680)
        inner = QVBoxLayout(box)
        self.heading = QLabel(f"<h2>{heading}</h2>")
        inner.addWidget(self.heading)
        self.intro = QLabel(intro)
        self.intro.setWordWrap(True)
        inner.addWidget(self.intro)
        items = "".join(f"<li style='margin-bottom:6px'>{step}</li>" for step in steps)
        self.steps = QLabel(f"<ol>{items}</ol>")
        self.steps.setWordWrap(True)
        self.steps.setTextFormat(Qt.RichText)
        inner.addWidget(self.steps)
        row = QHBoxLayout()
        self.buttons = []
        for text, callback in actions:
            button = QPushButton(text)
            button.clicked.connect(callback)
            row.addWidget(button)
            self.buttons.append(button)
        row.addStretch(1)
        inner.addLayout(row)
        centre = QHBoxLayout()
        centre.addStretch(1)
        centre.addWidget(box)
        centre.addStretch(1)
        outer.addLayout(centre)
        outer.addStretch(2)
