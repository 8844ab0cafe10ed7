"""Drag and drop with real Qt events, for the tabs that take dropped files."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent


def drop(widget, paths) -> bool:
    """Drag `paths` over `widget` and drop them; True when both events were accepted.

    The handlers are called directly: QApplication.sendEvent delivers no Drop without a
    platform drag under way (offscreen has none)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    enter.ignore()
    widget.dragEnterEvent(enter)
    event = QDropEvent(QPointF(20, 20), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    event.ignore()
    widget.dropEvent(event)
    # Read them now: the events point at `mime`, which dies with this call.
    assert enter.isAccepted() == event.isAccepted()
    return event.isAccepted()
