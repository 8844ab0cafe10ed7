"""Settings dialog: edits `voicelab.core.settings.Settings` and saves it atomically.

The transcription model and language are the same setting the Dataset tab shows beside its
recordings (`ui.asr_choice`), from the same lists, so the two never disagree.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from voicelab.core.settings import ASR_MODELS, DEVICES, THEMES, check_setting
from voicelab.core.workspace import Workspace
from voicelab.ui.wheel_guard import guard_wheel
from voicelab.ui.widgets.language_combo import chosen_language, fill_languages


class SettingsDialog(QDialog):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        settings = workspace.settings
        form = QFormLayout()

        self.workspace_edit = QLineEdit(settings.workspace or "")
        self.workspace_edit.setPlaceholderText(str(workspace.root))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.workspace_edit)
        row.addWidget(browse)
        form.addRow("Workspace folder:", row)

        self.asr_model = QComboBox()
        self.asr_model.addItems(ASR_MODELS)
        self.asr_model.setCurrentText(settings.asr_model)
        self.asr_model.setToolTip("Whisper model used to transcribe recordings (the Dataset tab "
                                  "shows the same). Larger is more accurate and slower; '.en' "
                                  "models are English-only; tiny.en is included with VoiceLab.")
        form.addRow("Transcription model:", self.asr_model)

        self.language = QComboBox()
        self.language.setEditable(True)  # any language code Whisper knows may be typed
        fill_languages(self.language, settings.asr_language, with_codes=True)
        form.addRow("Recording language:", self.language)

        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(settings.device)
        self.device.setToolTip("'auto' uses a CUDA GPU when one is available.")
        form.addRow("Compute device:", self.device)

        self.theme = QComboBox()
        self.theme.addItems(THEMES)
        self.theme.setCurrentText(settings.theme)
        form.addRow("Theme:", self.theme)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        self.note = QLabel(f"Settings file: {workspace.settings_path}")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.buttons = buttons
        guard_wheel(self)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose workspace folder",
                                                  self.workspace_edit.text() or str(self.workspace.root))
        if folder:
            self.workspace_edit.setText(folder)

    def accept(self) -> None:
        language = chosen_language(self.language)
        if check_setting("asr_language", language) is not None:
            QMessageBox.warning(self, "Settings", f"'{language}' is not a language code. Use 'auto' "
                                "or a two-letter code such as 'en'.")
            return
        settings = self.workspace.settings
        old_workspace = settings.workspace
        settings.workspace = self.workspace_edit.text().strip() or None
        settings.asr_model = self.asr_model.currentText()
        settings.asr_language = language
        settings.device = self.device.currentText()
        settings.theme = self.theme.currentText()
        self.workspace.save_settings()
        self.workspace_changed = settings.workspace != old_workspace
        super().accept()
