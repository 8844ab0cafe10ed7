"""The list of clips made so far, newest first, with Play, Export and Delete for the one picked.

A panel of its own so the Generate tab does not have to know how a history row looks or
when its buttons are usable: the panel reads the core's `History` and says what the user
asked for with signals carrying the `HistoryEntry`; the tab decides what that means.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from voicelab.core.errors import VoiceLabError
from voicelab.core.synthesis.history import History, HistoryEntry


class HistoryPanel(QGroupBox):
    """Shows `history`; each signal carries the entry it is about."""

    selected = Signal(object)  # the user picked a clip (not sent by `reload`)
    playRequested = Signal(object)  # Play, or a double-click
    exportRequested = Signal(object)
    deleteRequested = Signal(object)  # Delete button or key

    def __init__(self, history: History, parent: QWidget | None = None) -> None:
        super().__init__("History", parent)
        self.history = history
        self._playable = True
        self.list = QListWidget(objectName="historyList")
        self.list.setWordWrap(True)
        self.list.currentItemChanged.connect(self._picked)
        self.list.itemDoubleClicked.connect(
            lambda item: self._request(self.playRequested, self.entry_of(item)))
        self.play_button = QPushButton("Play", objectName="historyPlay")
        self.export_button = QPushButton("Export…", objectName="historyExport")
        self.delete_button = QPushButton("Delete", objectName="historyDelete")
        buttons = QHBoxLayout()
        for button, signal in ((self.play_button, self.playRequested),
                               (self.export_button, self.exportRequested),
                               (self.delete_button, self.deleteRequested)):
            button.clicked.connect(lambda _checked=False, s=signal: self._request(s, self.selected_entry()))
            buttons.addWidget(button)
        # First run: say what will be here instead of showing an empty box.
        self.empty_label = QLabel("Every clip you generate is kept here, with its text and preset."
                                  "\n\nPick one to play it again, export it (WAV, FLAC, OGG, MP3) "
                                  "or delete it.", objectName="historyEmpty")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignCenter)
        self.empty_label.setStyleSheet("color: palette(mid); padding: 12px;")
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty_label)
        self.pages.addWidget(self.list)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        layout.addLayout(buttons)
        delete = QShortcut(QKeySequence.Delete, self.list, context=Qt.WidgetShortcut)
        delete.activated.connect(lambda: self._request(self.deleteRequested, self.selected_entry()))

    def reload(self, select: str | None = None) -> None:
        """List the clips again, picking the one with id `select` (quietly)."""
        self.list.blockSignals(True)
        self.list.clear()
        for entry in self.history.list():
            text = entry.text if len(entry.text) <= 80 else entry.text[:77] + "…"
            when = entry.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
            item = QListWidgetItem(f"{text}\n{when} · {entry.duration:.1f} s · {entry.preset or ''}")
            item.setData(Qt.UserRole, entry.id)
            item.setToolTip(entry.text)
            self.list.addItem(item)
            if entry.id == select:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self.pages.setCurrentWidget(self.list if self.list.count() else self.empty_label)
        self._update_buttons()

    def set_playable(self, playable: bool, reason: str = "") -> None:
        """Whether Play can work at all (no audio device: off, with the reason as tooltip)."""
        self._playable = playable
        self.play_button.setToolTip(reason)
        self._update_buttons()

    def entry_of(self, item: QListWidgetItem | None) -> HistoryEntry | None:
        if item is None:
            return None
        try:
            return self.history.get(item.data(Qt.UserRole))
        except VoiceLabError:
            return None

    def selected_entry(self) -> HistoryEntry | None:
        return self.entry_of(self.list.currentItem())

    def _request(self, signal, entry: HistoryEntry | None) -> None:
        if entry is not None:
            signal.emit(entry)

    def _picked(self, current, _previous) -> None:
        self._update_buttons()
        self._request(self.selected, self.entry_of(current))

    def _update_buttons(self) -> None:
        picked = self.list.currentItem() is not None
        self.play_button.setEnabled(picked and self._playable)
        self.export_button.setEnabled(picked)
        self.delete_button.setEnabled(picked)
