"""About dialog: what is installed, where data lives, and where the log is.

Versions come from package metadata, so showing them never imports torch or whisper.
"""

from __future__ import annotations

import platform
from importlib import metadata

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from voicelab import APP_NAME, __version__
from voicelab.core.workspace import Workspace

COMPONENTS = ("piper-tts", "torch", "lightning", "faster-whisper", "ctranslate2", "onnxruntime",
              "huggingface_hub", "numpy", "soundfile", "av", "pyqtgraph")


def component_versions() -> dict[str, str]:
    versions = {"Python": platform.python_version(), "Qt": qVersion(), "PySide6": PySide6.__version__}
    for name in COMPONENTS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


class AboutDialog(QDialog):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        layout = QVBoxLayout(self)
        rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in component_versions().items())
        self.text = QLabel(
            f"<h2>{APP_NAME} {__version__}</h2>"
            "<p>A desktop studio that turns recordings of one voice into a Piper text-to-speech voice.</p>"
            f"<table cellspacing='6'>{rows}</table>"
            f"<p>Platform: {platform.platform()}<br>"
            f"Workspace: {workspace.root}<br>Settings: {workspace.settings_path}<br>"
            f"Log: {workspace.log_file}</p>"
        )
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
