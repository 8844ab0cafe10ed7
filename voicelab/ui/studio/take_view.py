"""How the studio shows a prompt and a take: large text, what was heard, what to fix, the wave.

The prompt is what a person reads from a metre away, so it is large and alone; after a take
whose words do not match, the words not heard are highlighted in it, where the eye already
is. The status line is one colour per verdict (green kept-able, amber flagged, red refused)
with the sentences from the checks; the waveform shows the take with the span that becomes
the clip shaded, so a trimmed-off word would be seen.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from voicelab.core.recording.review import TakeResult
from voicelab.ui.widgets.waveform import WaveformView

COLOURS = {"good": "#15803d", "flag": "#b45309", "refused": "#b91c1c", "recording": "#dc2626",
           "info": ""}
SYMBOLS = {"good": "✓", "flag": "⚠", "refused": "✗", "recording": "●", "info": ""}
MISSED_STYLE = "background-color:#fde68a; color:#991b1b; text-decoration:underline;"


def prompt_html(prompt: str, missed: Iterable[int] = ()) -> str:
    """The prompt, with the words at `missed` (indices of its space-separated words) marked."""
    marked = set(missed)
    words = [f'<span style="{MISSED_STYLE}">{html.escape(w)}</span>' if i in marked else html.escape(w)
             for i, w in enumerate(prompt.split())]
    return " ".join(words)


def status_html(kind: str, headline: str, lines: Iterable[str] = ()) -> str:
    colour = COLOURS.get(kind, "")
    style = f' style="color:{colour}"' if colour else ""
    symbol = SYMBOLS.get(kind, "")
    head = f"<b{style}>{html.escape((symbol + ' ' + headline).strip())}</b>"
    rest = "".join(f"<br>• {html.escape(line)}" for line in lines)
    return head + rest


class TakeView(QWidget):
    """The middle of the studio: counter, prompt, heard words, status and the take's wave."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counter_label = QLabel()
        self.counter_label.setObjectName("promptCounter")
        self.prompt_label = QLabel()
        self.prompt_label.setObjectName("promptText")
        self.prompt_label.setWordWrap(True)
        self.prompt_label.setAlignment(Qt.AlignCenter)
        self.prompt_label.setTextFormat(Qt.RichText)
        self.prompt_label.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.prompt_label.setMinimumHeight(140)
        font = QFont(self.prompt_label.font())
        font.setPointSizeF(max(20.0, font.pointSizeF() * 2.4))
        self.prompt_label.setFont(font)
        self.heard_label = QLabel()
        self.heard_label.setObjectName("heardText")
        self.heard_label.setWordWrap(True)
        self.heard_label.setAlignment(Qt.AlignCenter)
        self.status_label = QLabel()
        self.status_label.setObjectName("takeStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.RichText)
        self.status_label.setMinimumHeight(48)
        self.waveform = WaveformView(empty_text="The take's waveform shows here")
        self.waveform.plot.setMinimumHeight(90)
        self.waveform.setMaximumHeight(130)
        self.span = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(34, 197, 94, 40),
                                        pen=pg.mkPen(None))
        self.span.setVisible(False)
        self.waveform.plot.addItem(self.span)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.counter_label, 0, Qt.AlignHCenter)
        layout.addWidget(self.prompt_label, 1)
        layout.addWidget(self.heard_label)
        self.extra = QVBoxLayout()  # the studio puts the meter here, between words and verdict
        layout.addLayout(self.extra)
        layout.addWidget(self.status_label)
        layout.addWidget(self.waveform)

    def show_prompt(self, index: int, total: int, prompt: str, kept_s: float | None,
                    missed: Iterable[int] = ()) -> None:
        state = f" · kept ({kept_s:.1f} s)" if kept_s is not None else ""
        self.counter_label.setText(f"Prompt {index + 1} of {total}{state}")
        self.prompt_label.setText(prompt_html(prompt, missed))

    def set_status(self, kind: str, headline: str, lines: Iterable[str] = ()) -> None:
        self.status_label.setText(status_html(kind, headline, lines))
        self.status_kind = kind

    def show_heard(self, text: str) -> None:
        self.heard_label.setText(f"Heard: “{html.escape(text)}”" if text else "")

    def show_audio(self, samples: np.ndarray | None, rate: int,
                   span: tuple | None = None) -> None:
        """The wave of a take (None: clear it), with the kept `span` (start, end) shaded."""
        if samples is None or not len(samples):
            self.waveform.clear()
            self.span.setVisible(False)
            return
        self.waveform.set_audio(samples, rate)
        if span is not None:
            self.span.setRegion(span)
        self.span.setVisible(span is not None)

    def show_result(self, result: TakeResult, can_record: bool = True) -> None:
        """A reviewed take: verdict, problems, heard words and wave."""
        check = result.check
        if result.refused:
            self.set_status("refused", "Take refused: record it again (R)." if can_record
                            else "Take refused.", result.messages())
        elif result.flagged:
            self.set_status("flag", f"Take flagged: {check.figures()}. Enter keeps it anyway, "
                                    "Backspace records it again.", result.messages())
        else:
            lines = [m for m in result.messages()]  # e.g. the words could not be checked
            self.set_status("good", f"Good take: {check.figures()}. Enter keeps it and moves on.",
                            lines)
        words = result.words
        self.show_heard(words.heard if words is not None and words.checked else "")
        kept = check.speech_start is not None and not result.refused  # what would become the clip
        self.show_audio(result.samples, result.rate, (check.keep_start, check.keep_end) if kept else None)
