"""Ask for a name without a nested event loop.

`QInputDialog.getText` runs its own loop until answered; called from a drop handler, that
keeps the drag source (a file manager) waiting for its drop to end. `ask_name` opens the
dialog window-modal and returns at once; `on_name` runs with the accepted text, and nothing
runs when the user cancels.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QWidget


def ask_name(parent: QWidget, title: str, label: str, proposed: str, ok_text: str,
             on_name: Callable[[str], None], object_name: str = "namePrompt") -> QInputDialog:
    """Open the prompt with `proposed` filled in (and selected) and return it."""
    dialog = QInputDialog(parent)
    dialog.setObjectName(object_name)
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    dialog.setTextValue(proposed)
    dialog.setOkButtonText(ok_text)
    dialog.setAttribute(Qt.WA_DeleteOnClose)
    dialog.textValueSelected.connect(on_name)
    dialog.open()
    return dialog
