"""The mouse wheel changes a value only in the field that has the keyboard focus.

Qt lets every spin box, combo box and slider take the wheel as it passes under the
pointer, so scrolling down a form changes the fields it crosses: scrolling over the
Training tab's Advanced section once set the optimizer to `adamw8bit` without a word.
`guard_wheel(window)` fixes that for a whole window: each such field is given StrongFocus
(a click or Tab focuses it; the wheel no longer does) and one shared event filter, which
passes a wheel event over an unfocused field on to the field's parents, so the scroll
area under it scrolls instead. Once the field has the focus, the wheel works as usual.

Every window calls it once, after building its widgets (the main window for its tabs,
each dialog for itself). The filter sits on the fields only, not on the application:
an application-wide Python filter would run, under the GIL, for every event of every
widget, and wait on any worker thread that holds the GIL.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QSlider, QWidget

#: The fields whose value the wheel changes (a QScrollBar is not one: it must scroll).
VALUE_FIELDS = (QAbstractSpinBox, QComboBox, QSlider)


class _WheelGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            # Ignored and filtered: the field never sees it, and Qt hands it to the parent.
            event.ignore()
            return True
        return False


_guard: _WheelGuard | None = None  # made on first use, on the UI thread, like the fields


def guard_wheel(window: QWidget) -> None:
    """Make the wheel leave every value field in `window` alone until it has the focus.
    Safe to call again after adding fields (a filter installed twice runs once)."""
    global _guard
    if _guard is None:
        _guard = _WheelGuard()
    for kind in VALUE_FIELDS:
        for field in window.findChildren(kind):
            field.setFocusPolicy(Qt.StrongFocus)
            field.installEventFilter(_guard)
