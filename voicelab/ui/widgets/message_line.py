"""A message that has its place in a form before it appears, and never grows past it.

A form whose messages appear, grow and vanish moves everything under them: in the Training
form the base check ("Checking…", then its verdict) and the settings problems arrive a
moment after the change that caused them, and two clicks landed on the wrong widget because
the field under the pointer had just moved down. A `MessageLine` is `lines` lines tall
whether it shows a message or nothing (hidden, it keeps its space), and a message longer
than that is cut at the end with "…", the whole of it in the tooltip (with any `tip`).
`text()` is the whole message, as given.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QTextLayout, QTextOption
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

#: A message's colour when it is a verdict: wrong (red) or fine (green).
ERROR_STYLE = "color: #b91c1c;"
OK_STYLE = "color: #15803d;"


class MessageLine(QLabel):
    def __init__(self, lines: int = 2, parent: QWidget | None = None, **properties) -> None:
        super().__init__(parent, **properties)
        self.lines = lines
        self._message = ""
        self._tip = ""
        self.setTextFormat(Qt.PlainText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        policy = QSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        policy.setRetainSizeWhenHidden(True)
        self.setSizePolicy(policy)
        self._fit_height()

    def text(self) -> str:  # noqa: D102 - the whole message, not the cut one shown
        return self._message

    def shown_text(self) -> str:
        return super().text()

    def is_cut(self) -> bool:
        return self.shown_text() != " ".join(self._message.split("\n"))

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._message = text or ""
        self._fit_text()

    def set_tip(self, tip: str) -> None:
        """More for the tooltip (details), shown under the message when it is cut."""
        self._tip = tip or ""
        self._fit_text()

    def _fit_height(self) -> None:
        margins = self.contentsMargins()
        self.setFixedHeight(self.fontMetrics().lineSpacing() * self.lines + margins.top()
                            + margins.bottom() + 2)

    def _fit_text(self) -> None:
        flat = " ".join(self._message.split("\n"))
        width = self.contentsRect().width()
        shown = _cut(flat, self, width, self.lines) if width > 0 else flat
        super().setText(shown)
        tip = [self._message] if shown != flat else []
        self.setToolTip("\n\n".join(tip + ([self._tip] if self._tip else [])))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_text()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.FontChange:
            self._fit_height()
            self._fit_text()


def _cut(text: str, label: QLabel, width: int, lines: int) -> str:
    """`text` as it fits `lines` wrapped lines of `width` pixels: cut with "…" if longer."""
    layout = QTextLayout(text, label.font())
    option = QTextOption()
    option.setWrapMode(QTextOption.WordWrap)  # as QLabel wraps
    layout.setTextOption(option)
    starts = []
    layout.beginLayout()
    while len(starts) <= lines:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        starts.append(line.textStart())
    layout.endLayout()
    if len(starts) <= lines:
        return text
    last = starts[lines - 1]
    return text[:last] + label.fontMetrics().elidedText(text[last:], Qt.ElideRight, width)
