"""Help ▸ VoiceLab guide: the offline user guide in a text browser.

The text is `resources/user_guide.html`, kept out of the code so it can be read and edited as
a document; this module only fills in the folders of this installation and shows it.
"""

from __future__ import annotations

from html import escape
from string import Template

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from voicelab.core.workspace import Workspace
from voicelab.resources import resource_path

GUIDE_FILE = "user_guide.html"


def guide_html(workspace: Workspace) -> str:
    """The guide with this installation's folders in place of $workspace, $logs, …"""
    text = resource_path(GUIDE_FILE).read_text(encoding="utf-8")
    folders = dict(workspace=workspace.root, datasets=workspace.datasets, voices=workspace.voices,
                   models=workspace.models, logs=workspace.logs, settings_file=workspace.settings_path)
    return Template(text).safe_substitute({key: escape(str(path)) for key, path in folders.items()})


class UserGuideDialog(QDialog):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("VoiceLab guide")
        self.resize(760, 680)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(True)  # the contents line jumps to its sections
        self.browser.setHtml(guide_html(workspace))
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
