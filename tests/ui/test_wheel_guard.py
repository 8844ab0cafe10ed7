"""The mouse wheel scrolls the Training form and changes only the field that has the focus.

The wheel events are the platform's own kind (`QTest.wheelEvent` on the window), so Qt
delivers them as it does a real mouse's: to the widget under the pointer, then up to its
parents when that widget lets the event go.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QScrollArea

from voicelab.core.dataset.store import Dataset, dataset_folder


def _wheel(window, widget, notches: int) -> None:
    """Turn the wheel over the middle of `widget`: positive is away from the user (up)."""
    where = widget.mapTo(window, widget.rect().center())
    QTest.wheelEvent(window.windowHandle(), where, QPoint(0, 120 * notches))
    QApplication.processEvents()


def _scroll_area(widget) -> QScrollArea:
    while not isinstance(widget, QScrollArea):
        widget = widget.parentWidget()
    return widget


def test_the_wheel_scrolls_the_form_past_fields_without_changing_them(open_window, qtbot, workspace):
    Dataset.create(dataset_folder(workspace, "anna"), "anna")  # the form shows once there is one
    window = open_window()
    window.resize(1200, 600)  # low enough that the form, Advanced open, scrolls
    window.tabs.setCurrentWidget(window.training_tab)
    try:
        _scroll_then_focus(window, qtbot)
    finally:  # the tab checks its base voice when shown: let that end before the window closes
        qtbot.waitUntil(lambda: not window.jobs.jobs(), timeout=30_000)


def _scroll_then_focus(window, qtbot) -> None:
    form = window.training_tab.form
    form.advanced_button.setChecked(True)
    optimizer, accumulate = form.advanced.optimizer_combo, form.advanced.accumulate_spin
    scroll = _scroll_area(optimizer)
    bar = scroll.verticalScrollBar()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: bar.maximum() > 0)  # Advanced open: the form is taller than its room
    assert optimizer.focusPolicy() == Qt.StrongFocus and accumulate.focusPolicy() == Qt.StrongFocus

    for field in (optimizer, accumulate):
        bar.setValue(0)
        scroll.ensureWidgetVisible(field)
        qtbot.waitUntil(field.isVisible)
        index, value, top = optimizer.currentIndex(), accumulate.value(), bar.value()
        down = top < bar.maximum()
        _wheel(window, field, -1 if down else 1)
        assert (optimizer.currentIndex(), accumulate.value()) == (index, value)
        assert not field.hasFocus()
        assert bar.value() > top if down else bar.value() < top  # the form scrolled instead

    # Focused (a click or Tab), a field takes the wheel as usual.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    scroll.ensureWidgetVisible(optimizer)
    optimizer.setFocus(Qt.TabFocusReason)
    qtbot.waitUntil(optimizer.hasFocus)
    index = optimizer.currentIndex()
    _wheel(window, optimizer, -1 if index < optimizer.count() - 1 else 1)
    assert optimizer.currentIndex() != index

    scroll.ensureWidgetVisible(accumulate)
    accumulate.setFocus(Qt.TabFocusReason)
    qtbot.waitUntil(accumulate.hasFocus)
    value = accumulate.value()
    _wheel(window, accumulate, 1)
    assert accumulate.value() == value + 1
