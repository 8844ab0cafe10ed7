"""The Generate tab's voices from elsewhere: a Piper voice dropped or picked from a file,
and a voice a training run has just exported.

A mixin of `GenerateTab`, kept apart so the tab module holds the text-to-speech-to-file
work and this one how voices arrive. Either way the voice gets a preset and is shown, and
the tab's `voicesChanged` tells the other tabs, which list voices too. It uses the tab's
workspace, jobs, preset panel, `import_job` and `set_status`.
"""

from __future__ import annotations

from pathlib import Path

from voicelab.core.errors import VoiceLabError
from voicelab.core.synthesis.voice_import import import_voice
from voicelab.core.synthesis.voices import VoiceInfo
from voicelab.ui.error_dialog import show_error
from voicelab.ui.workers import Job


def _dropped_model(mime) -> Path | None:
    """The one local `.onnx` file a drag carries, or None (anything else is refused)."""
    if mime is None or not mime.hasUrls():
        return None
    urls = mime.urls()
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    path = Path(urls[0].toLocalFile())
    return path if path.suffix.lower() == ".onnx" else None


class VoiceImports:
    """How voices arrive in the Generate tab (see the module docstring)."""

    def dragEnterEvent(self, event) -> None:
        if _dropped_model(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        model = _dropped_model(event.mimeData())
        if model is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.import_dropped(model)

    def import_voice_dialog(self) -> Job | None:
        """Ask for a Piper voice file (its `.onnx.json` must lie beside it) and import it."""
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Import a Piper voice", str(Path.home()),
                                              "Piper voices (*.onnx *.onnx.json)")
        return self.import_dropped(Path(path)) if path else None

    def import_dropped(self, model_path: Path) -> Job:
        """Import a voice (its config beside it) in a job, then pick it for this preset."""
        job = self.jobs.run(f"Importing {Path(model_path).name}", import_voice, self.workspace, Path(model_path))
        self.import_job = job
        job.finished.connect(self._on_imported)
        job.failed.connect(lambda message, details: show_error(self, "Import failed", message, details))
        job.failed.connect(lambda message, _details: self.set_status(message, error=True))
        job.ended.connect(lambda: setattr(self, "import_job", None))
        self.set_status(f"Importing {Path(model_path).name}…")
        return job

    def _on_imported(self, voice: VoiceInfo) -> None:
        self.preset_panel.voice_imported(voice)
        self.set_status(f"Voice '{voice.name}' imported.")
        self.voicesChanged.emit()

    def voice_exported(self, model_path: Path) -> None:
        """A training run exported a voice: list it and show a preset made for it, both
        under the name it was given ("My test voice", not its file's My_test_voice)."""
        from voicelab.core.synthesis.voices import describe, workspace_voice_id

        try:
            voice_id = workspace_voice_id(self.workspace, Path(model_path))
            name = describe(Path(model_path), voice_id, name=voice_id).name
            preset = self.preset_panel.add_voice_preset(voice_id, name)
        except (ValueError, VoiceLabError) as exc:
            self.set_status(f"The new voice {Path(model_path).name} could not get a preset: {exc}",
                            error=True)
            return
        self.set_status(f"New voice '{name}' is ready: preset '{preset.name}' speaks with it.")
        self.voicesChanged.emit()
