"""The preview clips a run has spoken, newest first, each playable, with what Whisper heard.

Every `preview` event adds a group (step, epoch and the round's scores) holding one row per
sentence: the text, what Whisper heard back, its WER, its likeness to the dataset's speaker
(0 the voice the run started from, 1 the speaker), its naturalness (DNSMOS, 1–5) and its
pitch (median F0 and how much it moves, or a warning when the voice has collapsed into a
buzz at the decoder's frame rate). Hearing the model improve from group to group is the
quickest way to judge a run; the scores say the same in numbers (core/training/run/event_text.py
writes them as the log and the CLI do).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from voicelab.core.training.run.event_text import likeness_text, naturalness_text, wer_text
from voicelab.ui.audio_out import AudioOutput, AudioOutputError

PATH_ROLE = Qt.UserRole + 1
COLUMNS = ("Sentence", "Heard by Whisper", "WER", "Likeness", "Naturalness", "Pitch")
_LIKENESS_TIP = ("How much it sounds like the dataset's speaker (a speaker encoder's judgement): "
                 "0 is the voice the run started from, 1 the speaker's own recordings. It can go "
                 "below 0 (further from the speaker than at the start) or above 1.")
_NATURALNESS_TIP = ("How natural it sounds, 1 (bad) to 5 (excellent): DNSMOS, a network trained on "
                    "listeners' ratings. Real recordings score about 3.3 to 3.6, a buzz or noise "
                    "below 2.5.")


#: Above this share of voiced frames at the decoder's frame rate the voice is a buzz, not speech.
BUZZ_SHARE = 0.5


def _pitch(value: Any) -> str:
    """"118 Hz ±2.4 st", or the buzz warning when the pitch is the frame rate (pitch.py)."""
    if not isinstance(value, Mapping) or not value.get("median_hz"):
        return "–"
    share = value.get("frame_rate_share")
    if share is not None and float(share) >= BUZZ_SHARE:
        return f"buzz at {float(value['median_hz']):.0f} Hz ({100 * float(share):.0f}%)"
    spread = value.get("spread_st")
    return f"{float(value['median_hz']):.0f} Hz" + (f" ±{float(spread):.1f} st" if spread is not None else "")


_PITCH_TIP = ("Median pitch of the voiced frames and how much it moves (real speech: about "
              "±2.4 semitones). \"buzz\" means most frames sit at the decoder's frame rate: a "
              "monotone that is not the speaker's pitch.")


def _scores(scores: Mapping[str, Any]) -> list:
    """The score columns of a round or of one preview: WER, likeness, naturalness, pitch."""
    return [wer_text(scores.get("wer")), likeness_text(scores.get("likeness")),
            naturalness_text(scores.get("naturalness")), _pitch(scores.get("pitch"))]


class PreviewList(QWidget):
    def __init__(self, output: AudioOutput, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.output = output
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        for column, tip in ((3, _LIKENESS_TIP), (4, _NATURALNESS_TIP), (5, _PITCH_TIP)):
            self.tree.headerItem().setToolTip(column, tip)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setStretchLastSection(False)
        self.tree.setColumnWidth(0, 320)
        self.tree.setColumnWidth(1, 280)
        self.tree.setColumnWidth(2, 60)
        self.tree.setColumnWidth(3, 70)
        self.tree.setColumnWidth(4, 90)
        self.tree.setColumnWidth(5, 150)
        self.tree.itemDoubleClicked.connect(lambda item, _column: self.play_item(item))
        self.tree.currentItemChanged.connect(lambda *_: self._update_button())
        self.play_button = QPushButton("▶ Play")
        self.play_button.clicked.connect(self.toggle_play)
        self.note = QLabel()
        self.note.setWordWrap(True)
        if not output.available:
            self.note.setText(output.unavailable_reason or "Playback is unavailable.")
            self.note.setStyleSheet("color: #b91c1c;")
        self.empty = QLabel("Previews appear here as training speaks its preview sentences "
                            "(set how often under Advanced).")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: palette(mid);")
        row = QHBoxLayout()
        row.addWidget(self.play_button)
        row.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addWidget(self.tree, 1)
        layout.addLayout(row)
        self._watch = QTimer(self, interval=200)  # the button says Play again when a clip ends
        self._watch.timeout.connect(self._check_playing)
        self._update_button()

    def clear(self) -> None:
        self.stop()
        self.tree.clear()
        self._update_button()

    def load(self, events: Iterable[Mapping[str, Any]]) -> None:
        self.clear()
        for event in events:
            self.add_event(event)

    def add_event(self, event: Mapping[str, Any]) -> None:
        if event.get("type") != "preview":
            return
        step = event.get("step")
        title = (f"Step {step} (epoch {event.get('epoch')})" if step != 0 else
                 "Step 0: the voice before training")
        group = QTreeWidgetItem([title, "", *_scores(event)])
        font = group.font(0)
        font.setBold(True)
        group.setFont(0, font)
        for preview in event.get("previews") or []:
            item = QTreeWidgetItem([str(preview.get("text") or ""), str(preview.get("heard") or ""),
                                    *_scores(preview)])
            item.setData(0, PATH_ROLE, str(preview.get("path") or ""))
            item.setToolTip(0, str(preview.get("path") or ""))
            group.addChild(item)
        for index in range(self.tree.topLevelItemCount()):
            self.tree.topLevelItem(index).setExpanded(False)
        self.tree.insertTopLevelItem(0, group)
        group.setExpanded(True)
        self._update_button()

    def clip_count(self) -> int:
        return sum(self.tree.topLevelItem(i).childCount() for i in range(self.tree.topLevelItemCount()))

    def _selected_path(self) -> Path | None:
        item = self.tree.currentItem()
        if item is not None and item.childCount() and item.child(0) is not None:
            item = item.child(0)  # a group: its first sentence
        path = item.data(0, PATH_ROLE) if item is not None else None
        return Path(path) if path else None

    def _update_button(self) -> None:
        self.empty.setVisible(self.tree.topLevelItemCount() == 0)
        self.tree.setVisible(self.tree.topLevelItemCount() > 0)
        self.play_button.setEnabled(self.output.available and self._selected_path() is not None)

    def play_item(self, item: QTreeWidgetItem) -> None:
        self.tree.setCurrentItem(item)
        self.stop()
        self.play()

    def toggle_play(self) -> None:
        if self.output.available and self.output.is_playing():
            self.stop()
        else:
            self.play()

    def play(self) -> bool:
        path = self._selected_path()
        if path is None or not self.output.available:
            return False
        import soundfile

        try:
            samples, rate = soundfile.read(str(path), dtype="float32")
            self.output.play(samples, rate)
        except (OSError, RuntimeError, AudioOutputError) as error:
            self.note.setText(f"Cannot play {path.name}: {error}")
            self.note.setStyleSheet("color: #b91c1c;")
            return False
        self.play_button.setText("■ Stop")
        self._watch.start()
        return True

    def stop(self) -> None:
        if self.output.available:
            self.output.stop()
        self._watch.stop()
        self.play_button.setText("▶ Play")

    def _check_playing(self) -> None:
        if not self.output.is_playing():
            self._watch.stop()
            self.play_button.setText("▶ Play")
