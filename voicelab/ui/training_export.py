"""The Training tab's export: check the checkpoint's previews, ask when it is not ready, export.

A mixin of `TrainingTab`, as `training_live.py` is. Export proves that the voice loads and
speaks, not that it is good; the checkpoint's preview round can say that, so the check
(core/training/voice/export_check.py, the CLI's too) runs first, off the UI thread: a voice whose
previews are not intelligible yet, or that sounds less like the speaker than the voice the
run started from, is exported only when the user answers "Export anyway" (the CLI's
`--force`). The result says what was checked and shows the voice's scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox

from voicelab.core.training.voice.export_check import export_summary, heard_concerns
from voicelab.ui import training_jobs as tj
from voicelab.ui.workers import Job

KEEP_TRAINING, EXPORT_ANYWAY = "Keep training", "Export anyway"


class VoiceExport:
    """Export part of the Training tab (see the module docstring)."""

    def export_voice(self, checkpoint: Path, name: str) -> Job | None:
        """Check `checkpoint`'s preview scores, then (asking first if they say it is not
        ready) export it as the voice `name`. Returns the check's job."""
        if self.shown_run is None or self.checkpoints.busy:
            return None
        run = self.shown_run
        self.checkpoints.set_busy(True)
        self.checkpoints.set_status(f"Checking the preview scores of {checkpoint.name}…")
        return self._quietly(tj.check_export, run, checkpoint,
                             then=lambda check: self._checked(run, checkpoint, name, check),
                             otherwise=self._export_failed)

    def _checked(self, run: Path, checkpoint: Path, name: str, check: Any) -> None:
        if self._closed:
            return
        if check.concerns and not self.confirm_export(check):
            self.checkpoints.set_busy(False)
            self.checkpoints.set_status(f"Not exported. {check.scores} Keep training, and export when "
                                        "the previews say it is ready.")
            return
        self.checkpoints.set_status(f"Exporting {checkpoint.name} as “{name}”: converting, then "
                                    "checking that it loads and speaks…")
        job = self.jobs.run(f"Exporting voice {name}", tj.export_voice, run, checkpoint,
                            self.workspace.voices, name, holds=[("run", run.name)])
        job.finished.connect(lambda result: self._exported(result, check, name))
        job.failed.connect(lambda message, _details: self._export_failed(message))
        job.cancelled.connect(lambda: self.checkpoints.set_status("Export cancelled; nothing was added."))
        job.ended.connect(lambda: self.checkpoints.set_busy(False))

    def confirm_export(self, check: Any) -> bool:
        """Ask whether to export a voice its previews say is not ready; True: export anyway."""
        box = QMessageBox(QMessageBox.Warning, "Export this voice?",
                          " ".join(check.concerns) + " Keep training?", parent=self)
        box.setInformativeText(f"{check.scores} An export only checks that the voice loads and speaks.")
        keep = box.addButton(KEEP_TRAINING, QMessageBox.RejectRole)
        box.addButton(EXPORT_ANYWAY, QMessageBox.AcceptRole)
        box.setDefaultButton(keep)
        box.exec()
        clicked = box.clickedButton()
        return clicked is not None and clicked is not keep

    def _export_failed(self, message: str) -> None:
        self.checkpoints.set_busy(False)
        self.checkpoints.set_status(message, ok=False)

    def _exported(self, result: Any, check: Any, name: str = "") -> None:
        if not result.verified:
            self.checkpoints.set_status(f"{result.onnx_path.name} was written but did not pass its "
                                        "check; try another checkpoint.", ok=False)
            return
        concerns = heard_concerns(result)
        if concerns:
            self.checkpoints.set_status(f"⚠ Exported {result.onnx_path.name}, but it is not ready: "
                                        f"{' '.join(concerns)} {export_summary(result, check)} "
                                        "Keep training, then export a later checkpoint.", ok=False)
        else:
            self.checkpoints.set_status(f"✓ Exported and verified: “{name or result.onnx_path.stem}” "
                                        f"({result.onnx_path}). "
                                        f"{export_summary(result, check)} Pick it in the Generate tab.",
                                        ok=True)
        self.voiceExported.emit(result.onnx_path)
