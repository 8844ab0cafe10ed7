"""Light, dark or the system's look, on Qt's Fusion style so all platforms look alike."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def apply_theme(app: QApplication, theme: str) -> None:
    if theme == "system":
        return
    app.setStyle("Fusion")
    if theme == "light":
        app.setPalette(app.style().standardPalette())
        return
    palette = QPalette()
    base, window, text = QColor(30, 32, 36), QColor(43, 45, 50), QColor(225, 227, 230)
    for role, color in (
        (QPalette.Window, window), (QPalette.WindowText, text), (QPalette.Base, base),
        (QPalette.AlternateBase, window), (QPalette.ToolTipBase, window), (QPalette.ToolTipText, text),
        (QPalette.Text, text), (QPalette.Button, window), (QPalette.ButtonText, text),
        (QPalette.BrightText, QColor(255, 80, 80)), (QPalette.Highlight, QColor(64, 128, 214)),
        (QPalette.HighlightedText, QColor(255, 255, 255)), (QPalette.Link, QColor(110, 170, 255)),
    ):
        palette.setColor(role, color)
    palette.setColor(QPalette.Disabled, QPalette.Text, QColor(120, 122, 126))
    palette.setColor(QPalette.Disabled, QPalette.ButtonText, QColor(120, 122, 126))
    app.setPalette(palette)
