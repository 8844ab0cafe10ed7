"""The Dataset tab's actions on clips: pick, play, split, merge, move edges, exclude, delete,
transcribe again.

A mixin of `DatasetTab`, kept apart so the tab module holds the layout and the dataset-level
work (datasets; drops, jobs and import/export in dataset_transfer.py) and this one what a
person does to the clips in the table. It uses the tab's table, proxy, model, review panel, editor and banner.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel

from voicelab.core.errors import VoiceLabError
from voicelab.ui.widgets.source_view import CONTEXT_S


def _retranscribe(dataset, clip_id, asr, workspace, progress, cancel):
    """Job body: load the chosen Whisper model (cached) and transcribe one clip again."""
    from voicelab.core.dataset.asr import language_arg
    from voicelab.core.dataset.pipeline import retranscribe_clip
    from voicelab.core.dataset.transcribers import load_transcriber

    progress(0, 0, "Loading the speech model…")
    transcriber = load_transcriber(asr, workspace)
    progress(0, 0, f"Transcribing {clip_id}…")
    return retranscribe_clip(dataset, clip_id, transcriber, language=language_arg(asr.language),
                             cancel=cancel)



class ClipActions:
    """Clip-level actions of the Dataset tab (see the module docstring)."""

    # -- selection, playback ----------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        rows = self.table.selectionModel().selectedRows()
        if not rows and self.table.currentIndex().isValid():
            rows = [self.table.currentIndex()]
        return [self.model.clip_at(self.proxy.mapToSource(index).row()).id for index in rows]

    def select_clip(self, clip_id: str) -> None:
        row = self.model.row_of(clip_id)
        if row < 0:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
        self.table.scrollTo(index)
        self._show_selected()  # the same row may now hold different bounds

    def current_clip(self):
        index = self.table.currentIndex()
        if not index.isValid() or self.dataset is None:
            return None
        return self.model.clip_at(self.proxy.mapToSource(index).row())

    def _show_selected(self) -> None:
        self._update_buttons()
        clip = self.current_clip()
        if clip is None:
            self.source_view.clear()
            return
        source = self.dataset.source(clip.source)
        start = max(0.0, clip.start - CONTEXT_S)
        try:
            samples = self.dataset.read_work_audio(source, start, clip.end + CONTEXT_S)
        except VoiceLabError as exc:
            self.show_banner(str(exc))
            return
        neighbours = [(c.start, c.end) for c in self.dataset.clips
                      if c.source == clip.source and c.id != clip.id
                      and c.end > start and c.start < clip.end + CONTEXT_S]
        self.source_view.show_clip(samples, self.dataset.sample_rate, start, (clip.start, clip.end), neighbours)

    def toggle_play(self) -> None:
        if self.review.is_playing():
            self.stop_playback()
            return
        clip = self.current_clip()
        if clip is not None:
            self.review.play(self.dataset.clip_path(clip.id))

    def stop_playback(self) -> None:
        self.review.stop()

    # -- edits ------------------------------------------------------------------------------
    def _edit(self, method, *args) -> bool:
        try:
            method(*args)
            return True
        except VoiceLabError as exc:
            self.show_banner(str(exc))
            return False

    def split_selected(self) -> None:
        clip = self.current_clip()
        at = self.source_view.split_position()
        if clip is None:
            return
        if at is None:
            self.show_banner("Click the waveform where the clip should be split, then press Split.")
            return
        self.stop_playback()
        if self._edit(self.editor.split, clip.id, at):
            self.select_clip(clip.id)

    def merge_selected(self) -> None:
        clip = self.current_clip()
        if clip is not None:
            self.stop_playback()
            if self._edit(self.editor.merge_with_next, clip.id):
                self.select_clip(clip.id)

    def _bounds_edited(self, start: float, end: float) -> None:
        clip = self.current_clip()
        if clip is not None:
            self.stop_playback()
            self._edit(self.editor.set_bounds, clip.id, start, end)
            self.select_clip(clip.id)

    def toggle_excluded(self) -> None:
        ids = self.selected_ids()
        if ids:
            exclude = not all(self.dataset.clip(i).excluded for i in ids)
            self._edit(self.editor.set_excluded, ids, exclude)

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.stop_playback()
            self._edit(self.editor.delete, ids)

    def retranscribe_selected(self) -> None:
        clip = self.current_clip()
        if clip is None or self.job is not None:
            return
        before = self.dataset.capture([clip.id])
        asr = self.panel.options(self.workspace.settings).asr
        job = self.jobs.run(f"Re-transcribing {clip.id}", _retranscribe, self.dataset, clip.id, asr,
                            self.workspace, holds=[("dataset", self.dataset.name)])
        self._track(job, f"Transcribing {clip.id} again…")
        job.finished.connect(lambda _result, cid=clip.id: self.editor.record_retranscription(cid, before))

