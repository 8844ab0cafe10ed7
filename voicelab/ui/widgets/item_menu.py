"""The "…" buttons that rename and delete what a workspace holds: voices, datasets, runs.

One conversation for all three: refuse while this window's own work holds the item
(`busy`, asked of the `JobManager`), ask before deleting and say who else refers to it,
then let `core.inventory` do it (which refuses while a trainer uses the item and keeps
references true) and announce `changed(old, new)` ("" when deleted) so every tab that
lists such items can reload. The actions take their answers as arguments too, so tests
and callers can skip the dialogs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox, QToolButton, QWidget

from voicelab.core import inventory
from voicelab.core.errors import VoiceLabError
from voicelab.core.names import inside
from voicelab.core.workspace import Workspace
from voicelab.ui.error_dialog import show_error


class ItemMenu(QToolButton):
    """Rename / Delete / Show in folder for the item `current()` names."""

    changed = Signal(str, str)  # old name, new name ("" when deleted)
    kind = "item"
    can_rename = True

    def __init__(self, workspace: Workspace, current: Callable[[], str | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, text="…")
        self.workspace = workspace
        self.current = current
        #: The title of this window's job that holds the named item, or None.
        self.busy: Callable[[str], str | None] = lambda name: None
        self.setToolTip(f"Manage {self.kind}s")
        self.setPopupMode(QToolButton.InstantPopup)
        self.menu_ = QMenu(self)
        self._extra_actions(self.menu_)
        self.rename_action = self.menu_.addAction("&Rename…", lambda: self.rename_item())
        self.rename_action.setVisible(self.can_rename)
        self.delete_action = self.menu_.addAction("&Delete…", lambda: self.delete_item())
        self.folder_action = self.menu_.addAction("Show in &folder", self.show_folder)
        self.menu_.aboutToShow.connect(self._update_actions)
        self.setMenu(self.menu_)

    # -- what a kind of item says ------------------------------------------------------------
    def _extra_actions(self, menu: QMenu) -> None:
        """Actions above Rename (none by default)."""

    def _editable(self, name: str) -> bool:
        return True

    def _rename(self, name: str, new_name: str) -> str:
        raise NotImplementedError

    def _delete(self, name: str) -> None:
        raise NotImplementedError

    def _users_note(self, name: str) -> str:
        """What the delete question adds about who refers to the item."""
        return ""

    def _folder(self) -> Path:
        raise NotImplementedError

    # -- actions -----------------------------------------------------------------------------
    def _own(self) -> str | None:
        name = self.current()
        return name if name and self._editable(name) else None

    def _update_actions(self) -> None:
        own = self._own() is not None
        for action in (self.rename_action, self.delete_action):
            action.setEnabled(own)

    def _refuse_if_busy(self, name: str, verb: str) -> bool:
        holder = self.busy(name)
        if holder:
            show_error(self, f"Cannot {verb} the {self.kind}",
                       f"“{holder}” is using the {self.kind} '{name}'. Wait for it to end or "
                       "cancel it in the status bar first.")
        return bool(holder)

    def rename_item(self, new_name: str | None = None) -> str | None:
        name = self._own()
        if name is None or self._refuse_if_busy(name, "rename"):
            return None
        if new_name is None:
            new_name, ok = QInputDialog.getText(self, f"Rename {self.kind}", f"New name of the {self.kind}:",
                                                text=Path(name).name)
            if not ok or not new_name.strip():
                return None
        try:
            new = self._rename(name, new_name)
        except VoiceLabError as exc:
            show_error(self, f"Cannot rename the {self.kind}", str(exc))
            return None
        if new != name:
            self.changed.emit(name, new)
        return new

    def delete_item(self, confirm: bool = True) -> bool:
        name = self._own()
        if name is None or self._refuse_if_busy(name, "delete"):
            return False
        if confirm:
            try:
                note = self._users_note(name)
            except VoiceLabError as exc:
                show_error(self, f"Cannot delete the {self.kind}", str(exc))
                return False
            answer = QMessageBox.question(self, f"Delete {self.kind}", f"Delete the {self.kind} "
                                          f"'{name}'?{note}", QMessageBox.Yes | QMessageBox.No,
                                          QMessageBox.No)
            if answer != QMessageBox.Yes:
                return False
        try:
            self._delete(name)
        except VoiceLabError as exc:
            show_error(self, f"Cannot delete the {self.kind}", str(exc))
            return False
        self.changed.emit(name, "")
        return True

    def show_folder(self) -> None:
        try:
            folder = self._folder()
        except VoiceLabError as exc:  # a name that would lead outside its folder
            show_error(self, "Cannot show the folder", str(exc))
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class VoiceMenu(ItemMenu):
    """Voices: the workspace's own files; the built-in voice and checkpoints stay as they are."""

    kind = "voice"
    importRequested = Signal()

    def _extra_actions(self, menu: QMenu) -> None:
        self.import_action = menu.addAction("&Import a voice (.onnx)…", self.importRequested.emit)
        menu.addSeparator()

    def _editable(self, name: str) -> bool:
        try:
            inventory.voice_files(self.workspace, name)
        except VoiceLabError:
            return False
        return True

    def _rename(self, name: str, new_name: str) -> str:
        return inventory.rename_voice(self.workspace, name, new_name)

    def _users_note(self, name: str) -> str:
        users = inventory.voice_users(self.workspace, name)
        return (f"\n\nIts .onnx and .onnx.json files are removed. The presets {', '.join(users.presets)} "
                "use it; they will say their voice is gone until you pick another."
                if users.presets else "\n\nIts .onnx and .onnx.json files are removed.")

    def _delete(self, name: str) -> None:
        inventory.delete_voice(self.workspace, name)

    def _folder(self) -> Path:
        return Path(self.workspace.voices)


class DatasetMenu(ItemMenu):
    kind = "dataset"

    def _rename(self, name: str, new_name: str) -> str:
        return inventory.rename_dataset(self.workspace, name, new_name).name

    def _users_note(self, name: str) -> str:
        users = inventory.dataset_users(self.workspace, name)
        runs = (f" The training runs {', '.join(users.runs)} keep their own prepared copy."
                if users.runs else "")
        return ("\n\nIts clips, transcripts and copies of the recordings are removed; your "
                f"original recordings are not touched.{runs}")

    def _delete(self, name: str) -> None:
        inventory.delete_dataset(self.workspace, name)

    def _folder(self) -> Path:
        from voicelab.core.dataset.store import dataset_folder

        name = self.current()
        return dataset_folder(self.workspace, name) if name else self.workspace.datasets


class RunMenu(ItemMenu):
    """Runs are named by the app; they can be deleted (not renamed: events name their files)."""

    kind = "run"
    can_rename = False

    def _users_note(self, name: str) -> str:
        return ("\n\nIts checkpoints, previews and logs are removed. Voices exported from it stay "
                "in the Generate tab.")

    def _delete(self, name: str) -> None:
        inventory.delete_run(self.workspace, name)

    def _folder(self) -> Path:
        name = self.current()
        runs = self.workspace.runs
        return inside(runs, name, "run") if name else runs
