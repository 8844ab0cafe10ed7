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


def name_the_dataset(qtbot, tab, name=None):
    """Answer the Dataset tab's "name the new dataset" prompt (its proposal, or `name`) as a
    user would; returns the import job that starts then."""
    qtbot.waitUntil(lambda: tab.name_dialog is not None and tab.name_dialog.isVisible())
    if name is not None:
        tab.name_dialog.setTextValue(name)
    tab.name_dialog.accept()
    assert tab.job is not None, "naming the dataset did not start the import"
    # A window manager gives the window back its focus once the prompt closes; offscreen
    # Qt has none, and keys for the table (R, S, Space) would go nowhere.
    tab.window().activateWindow()
    qtbot.waitUntil(tab.window().isActiveWindow)
    return tab.job
