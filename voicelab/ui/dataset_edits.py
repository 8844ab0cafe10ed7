"""Undo and redo for dataset edits (Ctrl+Z / Ctrl+Shift+Z).

Every edit (text, boundaries, split, merge, exclude, delete, re-transcribe) is done by the
store at once and saved; what goes on the undo stack is the state of just the clips it
touched, before and after (`Dataset.capture`), and undo puts those back (`Dataset.swap`),
cutting their audio again from the recording. Keeping only the touched clips means an
undo never takes back clips the transcription added in the meantime.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject
from PySide6.QtGui import QUndoCommand, QUndoStack

from voicelab.core.dataset.store import Dataset


class _ClipEdit(QUndoCommand):
    def __init__(self, dataset: Dataset, label: str, before_ids: list[str], before: list[dict],
                 after_ids: list[str], after: list[dict]) -> None:
        super().__init__(label)
        self.dataset = dataset
        self.before_ids, self.before = before_ids, before
        self.after_ids, self.after = after_ids, after
        self._done = True  # the edit already happened when the command was pushed

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self.dataset.swap(self.before_ids, self.after)

    def undo(self) -> None:
        self.dataset.swap(self.after_ids, self.before)


class DatasetEditor(QObject):
    """Runs edits on one dataset and records them on its undo stack."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stack = QUndoStack(self)
        self.dataset: Dataset | None = None

    def set_dataset(self, dataset: Dataset | None) -> None:
        self.dataset = dataset
        self.stack.clear()  # undo history belongs to one dataset

    def apply(self, label: str, touched: Iterable[str], action: Callable[[], Iterable[str]]) -> None:
        """Run `action` (which edits the store and returns the ids it left), record it.

        A `VoiceLabError` from the action propagates and nothing is recorded.
        """
        dataset = self.dataset
        before_ids = list(touched)
        before = dataset.capture(before_ids)
        after_ids = list(action())
        after = dataset.capture(after_ids)
        self.stack.push(_ClipEdit(dataset, label, before_ids, before, after_ids, after))

    # -- the edits the tab offers -----------------------------------------------------------
    def set_text(self, clip_id: str, text: str) -> None:
        self.apply("Edit text", [clip_id], lambda: (self.dataset.set_text(clip_id, text).id,))

    def set_bounds(self, clip_id: str, start: float, end: float) -> None:
        self.apply("Move clip edges", [clip_id],
                   lambda: (self.dataset.set_bounds(clip_id, start, end).id,))

    def split(self, clip_id: str, at: float) -> None:
        self.apply("Split clip", [clip_id],
                   lambda: tuple(c.id for c in self.dataset.split_clip(clip_id, at)))

    def merge_with_next(self, clip_id: str) -> None:
        following = self.dataset.next_clip(clip_id)
        touched = [clip_id] + ([following.id] if following else [])
        self.apply("Merge clips", touched, lambda: (self.dataset.merge_with_next(clip_id).id,))

    def set_excluded(self, clip_ids: list[str], excluded: bool) -> None:
        label = "Exclude clips" if excluded else "Include clips"
        self.apply(label, clip_ids, lambda: (self.dataset.set_excluded(clip_ids, excluded), clip_ids)[1])

    def delete(self, clip_ids: list[str]) -> None:
        self.apply("Delete clips", clip_ids, lambda: (self.dataset.delete_clips(clip_ids), [])[1])

    def record_retranscription(self, clip_id: str, before: list[dict]) -> None:
        """Put a finished re-transcription (done in a worker) on the stack."""
        self.stack.push(_ClipEdit(self.dataset, "Re-transcribe clip", [clip_id], before,
                                  [clip_id], self.dataset.capture([clip_id])))
