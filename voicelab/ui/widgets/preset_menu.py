"""The "…" button beside the preset picker: new, rename, duplicate, delete, set as default.

Each action is a short conversation with the core's `PresetStore` (ask a name, write
pending edits first, show the store's refusal), kept here so the Generate tab only has to
say which preset is shown and how to show another. The actions are also methods that take
the answer as an argument, so tests and callers can skip the dialogs.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox, QToolButton, QWidget

from voicelab.core.errors import VoiceLabError
from voicelab.core.synthesis.errors import PresetError
from voicelab.core.synthesis.presets import Preset, PresetStore
from voicelab.ui.error_dialog import show_error


class PresetHost(Protocol):
    """What the menu needs from the tab that shows the preset."""

    preset: Preset  # the preset on screen, with edits not yet saved

    def flush_preset(self) -> bool:
        """Write pending edits (or a never-saved preset); False when that failed."""

    def discard_pending_preset(self) -> None:
        """Forget edits not yet written."""

    def select_preset(self, name: str) -> None:
        """Show the stored preset `name` (the default when there is none by that name)."""

    def set_status(self, message: str, error: bool = False) -> None: ...


class PresetMenu(QToolButton):
    """A tool button whose menu manages the presets of `store` for `host`."""

    def __init__(self, store: PresetStore, host: PresetHost, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="presetMenuButton", text="…")
        self.store = store
        self.host = host
        self.setToolTip("Manage presets")
        self.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self)
        self.new_action = menu.addAction("&New…", lambda: self.new_preset())
        self.rename_action = menu.addAction("&Rename…", lambda: self.rename_preset())
        self.duplicate_action = menu.addAction("D&uplicate", lambda: self.duplicate_preset())
        self.delete_action = menu.addAction("&Delete", lambda: self.delete_preset())
        menu.addSeparator()
        self.default_action = menu.addAction("Set as &default", lambda: self.set_default_preset())
        self.setMenu(menu)

    def _ask_name(self, title: str, label: str, text: str = "") -> str | None:
        name, ok = QInputDialog.getText(self, title, label, text=text)
        return name if ok and name.strip() else None

    def _failed(self, title: str, exc: VoiceLabError) -> bool:
        show_error(self, title, str(exc))
        return False

    def new_preset(self, name: str | None = None) -> bool:
        """Make a preset with the shown voice and default settings; asks for a name when None."""
        if name is None:
            name = self._ask_name("New preset", "Name of the new preset:")
            if name is None:
                return False
        self.host.flush_preset()
        shown = self.host.preset
        try:
            created = self.store.create(Preset(name=name, voice=shown.voice, speaker=shown.speaker))
        except PresetError as exc:
            return self._failed("Could not create the preset", exc)
        self.host.select_preset(created.name)
        self.host.set_status(f"Preset '{created.name}' created.")
        return True

    def rename_preset(self, name: str | None = None) -> bool:
        old = self.host.preset.name
        if name is None:
            name = self._ask_name("Rename preset", f"New name for '{old}':", old)
            if name is None:
                return False
        if not self.host.flush_preset():
            return False
        try:
            renamed = self.store.rename(old, name)
        except PresetError as exc:
            return self._failed("Could not rename the preset", exc)
        self.host.select_preset(renamed.name)
        self.host.set_status(f"Preset '{old}' renamed to '{renamed.name}'.")
        return True

    def duplicate_preset(self) -> bool:
        if not self.host.flush_preset():
            return False
        try:
            clone = self.store.duplicate(self.host.preset.name)
        except PresetError as exc:
            return self._failed("Could not duplicate the preset", exc)
        self.host.select_preset(clone.name)
        self.host.set_status(f"Preset '{clone.name}' created.")
        return True

    def delete_preset(self, confirm: bool = True) -> bool:
        name = self.host.preset.name
        if confirm:
            answer = QMessageBox.question(self, "Delete preset", f"Delete the preset '{name}'?")
            if answer != QMessageBox.Yes:
                return False
        self.host.discard_pending_preset()
        try:
            self.store.delete(name)
        except PresetError as exc:
            return self._failed("Could not delete the preset", exc)
        self.host.select_preset(self.store.default().name)
        self.host.set_status(f"Preset '{name}' deleted.")
        return True

    def set_default_preset(self) -> bool:
        if not self.host.flush_preset():
            return False
        name = self.host.preset.name
        try:
            self.store.set_default(name)
        except PresetError as exc:
            return self._failed("Could not set the default preset", exc)
        self.host.set_status(f"'{name}' is now the preset VoiceLab starts with.")
        return True
