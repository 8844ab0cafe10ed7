"""Uncaught exceptions become a readable dialog and a log entry, never a silent death.

`install_excepthook` routes `sys.excepthook` (which PySide6 also calls for exceptions in
slots) and `threading.excepthook` to the log file and to a non-modal dialog on the UI thread.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

log = logging.getLogger("voicelab.crash")


def show_error(parent: QWidget | None, title: str, message: str, details: str = "",
               log_file: Path | None = None) -> QMessageBox:
    """Show a non-modal error box (returns it so tests and callers can find it)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Critical)
    box.setWindowTitle(title)
    box.setText(message)
    if log_file is not None:
        box.setInformativeText(f"Details were written to the log file:\n{log_file}")
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WA_DeleteOnClose)
    box.setStandardButtons(QMessageBox.Close)
    box.setObjectName("errorDialog")
    box.show()
    return box


class _Reporter(QObject):
    """Carries reports from any thread to the UI thread."""

    report = Signal(str, str)

    def __init__(self, log_file: Path | None) -> None:
        super().__init__()
        self.log_file = log_file
        self.report.connect(self._show, Qt.QueuedConnection)
        self.last_dialog: QMessageBox | None = None

    @Slot(str, str)
    def _show(self, summary: str, details: str) -> None:
        parent = QApplication.activeWindow()
        self.last_dialog = show_error(
            parent, "VoiceLab: unexpected error",
            f"Something went wrong: {summary}\n\nVoiceLab keeps running; your saved work is safe. "
            "If this happens again, please report it with the log file.",
            details, self.log_file)


_reporter: _Reporter | None = None


def install_excepthook(log_file: Path | None) -> _Reporter:
    """Install the hooks; returns the reporter (its `last_dialog` helps tests)."""
    global _reporter
    _reporter = _Reporter(log_file)

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("Uncaught exception:\n%s", details)
        summary = f"{exc_type.__name__}: {exc}"
        if _reporter is not None:
            _reporter.report.emit(summary, details)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        hook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = hook
    threading.excepthook = thread_hook
    return _reporter
