"""The main window: three tabs, menus, and a status bar that shows background jobs."""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QTabWidget, QWidget

from voicelab import APP_NAME, __version__
from voicelab.core.workspace import Workspace
from voicelab.ui.about_dialog import AboutDialog
from voicelab.ui.audio_out import AudioOutput, default_output
from voicelab.ui.dataset_tab import DatasetTab
from voicelab.ui.dataset_transfer import local_paths
from voicelab.ui.generate_tab import GenerateTab
from voicelab.ui.settings_dialog import SettingsDialog
from voicelab.ui.training_tab import TrainingTab
from voicelab.ui.wheel_guard import guard_wheel
from voicelab.ui.widgets.job_status import JobStatusWidget
from voicelab.ui.workers import JobManager

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None,
                 audio_output: AudioOutput | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.jobs = JobManager(self)
        # One output for the whole window: playing in one tab stops what plays in another.
        self.output = audio_output if audio_output is not None else default_output()
        self.setWindowTitle(f"{APP_NAME} {__version__}")
        self.resize(1200, 780)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.dataset_tab = DatasetTab(workspace, self.jobs, audio_output=self.output)
        self.training_tab = TrainingTab(workspace, self.jobs, audio_output=self.output)
        self.training_tab.goToDataset.connect(lambda: self.tabs.setCurrentWidget(self.dataset_tab))
        self.generate_tab = GenerateTab(workspace, self.jobs, audio_output=self.output)
        self._connect_tabs()
        self.tabs.addTab(self.dataset_tab, "&Dataset")
        self.tabs.addTab(self.training_tab, "&Training")
        self.tabs.addTab(self.generate_tab, "&Generate")
        self.setCentralWidget(self.tabs)

        self.job_status = JobStatusWidget(self.jobs)
        self.statusBar().addPermanentWidget(self.job_status)
        self.workspace_label = QLabel(f"Workspace: {workspace.root}")
        self.statusBar().addWidget(self.workspace_label)

        self.setAcceptDrops(True)
        self._build_menus()
        guard_wheel(self)  # scrolling a form leaves its fields alone
        self._restore_geometry()
        if workspace.problems:
            QTimer.singleShot(0, self._report_settings_problems)

    def _connect_tabs(self) -> None:
        """The seams: what one tab makes or changes shows up at once in the others."""
        self.dataset_tab.datasetsChanged.connect(self.training_tab.reload_datasets)
        self.training_tab.voiceExported.connect(self.generate_tab.voice_exported)
        self.training_tab.runsChanged.connect(self.generate_tab.preset_panel.refresh_voices)
        self.generate_tab.voicesChanged.connect(self.training_tab.bases.reload)

    # -- drops anywhere on the window -------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """Voices (.onnx) go to Generate; recordings and folders to the Dataset tab."""
        paths = local_paths(event.mimeData())
        if not paths:
            return
        event.acceptProposedAction()
        if all(p.suffix.lower() == ".onnx" for p in paths):
            self.tabs.setCurrentWidget(self.generate_tab)
            self.generate_tab.import_dropped(paths[0])
        else:
            self.tabs.setCurrentWidget(self.dataset_tab)
            self.dataset_tab.add_paths(paths)

    # -- menus -------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        # The tabs' own buttons, reachable from the menu (and so from the keyboard).
        self.add_recordings_action = self._action(file_menu, "&Add recordings…", self.add_recordings,
                                                  QKeySequence.Open, "Ctrl+O")
        self.import_ljspeech_action = self._action(file_menu, "&Import LJSpeech…", self.import_ljspeech)
        self.export_clip_action = self._action(file_menu, "&Export clip…", self.export_clip,
                                               shortcut="Ctrl+E")
        file_menu.addSeparator()
        self.open_workspace_action = self._action(file_menu, "Open &workspace folder",
                                                  lambda: self._open_folder(self.workspace.root))
        file_menu.addSeparator()
        self.settings_action = self._action(file_menu, "&Settings…", self.open_settings,
                                            QKeySequence.Preferences, "Ctrl+,")
        file_menu.addSeparator()
        self.quit_action = self._action(file_menu, "&Quit", self.close, QKeySequence.Quit, "Ctrl+Q")

        view_menu = self.menuBar().addMenu("&View")
        for index, name in enumerate(("Dataset", "Training", "Generate")):
            self._action(view_menu, f"&{name}", lambda _checked=False, i=index: self.tabs.setCurrentIndex(i),
                         shortcut=f"Ctrl+{index + 1}")

        tools_menu = self.menuBar().addMenu("&Tools")
        self.models_action = self._action(tools_menu, "&Models and base voices…", self.open_models,
                                          shortcut="Ctrl+M")
        self._action(tools_menu, "Open &log file", lambda: self._open_folder(self.workspace.log_file))
        self._action(tools_menu, "Open log &folder", lambda: self._open_folder(self.workspace.logs))

        help_menu = self.menuBar().addMenu("&Help")
        self.guide_action = self._action(help_menu, f"{APP_NAME} &guide", self.open_guide,
                                         QKeySequence.HelpContents, "F1")
        self.report_action = self._action(help_menu, "&Report a problem…", self.report_problem)
        help_menu.addSeparator()
        self.about_action = self._action(help_menu, f"&About {APP_NAME}", self.open_about)

    def _action(self, menu, text, slot, standard=None, shortcut=None) -> QAction:
        action = QAction(text, self)
        if standard is not None and QKeySequence.keyBindings(standard):
            action.setShortcuts(QKeySequence.keyBindings(standard))
        elif shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # -- actions -----------------------------------------------------------------------------
    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.workspace, self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._settings_saved(dialog))
        dialog.open()
        return dialog

    def _settings_saved(self, dialog: SettingsDialog) -> None:
        from PySide6.QtWidgets import QApplication

        from voicelab.ui.theme import apply_theme

        apply_theme(QApplication.instance(), self.workspace.settings.theme)
        self.dataset_tab.asr_choice.show_settings()  # one Whisper setting, shown the same there
        self.statusBar().showMessage("Settings saved.", 4000)
        if getattr(dialog, "workspace_changed", False):
            QMessageBox.information(self, "Workspace folder",
                                    "The new workspace folder is used after VoiceLab restarts.")

    def add_recordings(self) -> None:
        self.tabs.setCurrentWidget(self.dataset_tab)
        self.dataset_tab.add_button.click()

    def import_ljspeech(self) -> None:
        self.tabs.setCurrentWidget(self.dataset_tab)
        self.dataset_tab.import_button.click()

    def export_clip(self) -> None:
        """The Generate tab's export of the current clip (it says so when there is none)."""
        self.tabs.setCurrentWidget(self.generate_tab)
        self.generate_tab.export_clip()

    def open_guide(self):
        from voicelab.ui.help_dialog import UserGuideDialog

        dialog = UserGuideDialog(self.workspace, self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def report_problem(self) -> QMessageBox:
        """Open the log folder and say what to send: the log is what a report needs."""
        self._open_folder(self.workspace.logs)
        box = QMessageBox(QMessageBox.Information, "Report a problem",
                          f"The folder with VoiceLab's log is open:\n{self.workspace.logs}\n\n"
                          f"Attach {self.workspace.log_file.name} to your report and say what you "
                          "did just before. The log records what VoiceLab did and every error, "
                          "with file names but no audio.", QMessageBox.Ok, self)
        box.setObjectName("reportProblem")
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.show()
        return box

    def open_about(self) -> AboutDialog:
        dialog = AboutDialog(self.workspace, self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_models(self):
        from voicelab.ui.models_dialog import ModelsDialog

        dialog = ModelsDialog(self.workspace, self.jobs, self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _open_folder(self, path) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def _report_settings_problems(self) -> None:
        box = QMessageBox(QMessageBox.Warning, "Settings",
                          "Some settings could not be used:\n\n• " + "\n• ".join(self.workspace.problems),
                          QMessageBox.Ok, self)
        box.setObjectName("settingsProblems")
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.show()
        self.settings_problems_box = box

    # -- window state ------------------------------------------------------------------------
    def _geometry_store(self) -> QSettings:
        # Only window geometry lives here; everything else is in the YAML settings.
        return QSettings(str(self.workspace.config_dir / "window.ini"), QSettings.IniFormat)

    def _restore_geometry(self) -> None:
        store = self._geometry_store()
        geometry = store.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        tab = store.value("tab")
        if tab is not None:
            self.tabs.setCurrentIndex(int(tab))

    def closeEvent(self, event: QCloseEvent) -> None:
        running = [job for job in self.jobs.jobs() if job.is_running()]
        training = self.training_tab.is_training()  # listed among the jobs too
        if running:
            names = "\n".join(f"• {job.title}" for job in running)
            note = ("\n\nTraining saves a checkpoint first; resume it later from the Training tab."
                    if training else "")
            answer = QMessageBox.question(
                self, "Quit VoiceLab",
                f"These jobs are still running:\n{names}{note}\n\nStop them and quit?",
                QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
            if answer != QMessageBox.Yes:
                event.ignore()
                return
            self.statusBar().showMessage("Stopping background jobs…")
            self.jobs.shutdown()
        if training:
            self.statusBar().showMessage("Stopping training (saving a checkpoint)…")
            self.statusBar().repaint()
        self.training_tab.shutdown()
        self.generate_tab.shutdown()
        self.dataset_tab.shutdown()
        store = self._geometry_store()
        store.setValue("geometry", self.saveGeometry())
        store.setValue("tab", self.tabs.currentIndex())
        store.sync()
        super().closeEvent(event)
