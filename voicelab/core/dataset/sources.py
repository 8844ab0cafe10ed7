"""A dataset's recordings and the clips the pipeline cuts from them.

A mixin of `Dataset` (store.py), like `ClipEditing` (edits.py): the pipeline's half of the
store, as the edits are the reviewer's. It relies on the store's lock, lookups, `save` and
`_notify`; the edits cut their audio with its `_render` and order clips with its `_sort`.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voicelab.core.dataset.records import (
    SOURCE_STATES,
    Change,
    Clip,
    DatasetError,
    NewClip,
    Source,
    _reviewed,
    confidence_of,
    word_rows,
)
from voicelab.core.dataset.textclean import clean_text
from voicelab.core.fileio import atomic_open, sha256_file


class SourceClips:
    """Recordings into a `Dataset`, and the pipeline's clips out of them."""

    def add_source(self, original: Path, sha256: str | None = None) -> tuple[Source, bool]:
        """Copy a recording into `sources/`; the same content twice gives the same Source.

        `sha256`: the file's hash when the caller already computed it (saves a second read).
        The copy is made under a temporary name outside the lock; its id and final name are
        chosen when it is added, so two processes adding at once never pick the same file.
        """
        original = Path(original)
        digest = sha256 or sha256_file(original)
        with self._lock:
            held = self._holding(digest, original)
            if held is not None:
                return held, False
        suffix = original.suffix.lower()
        incoming = self.path / "sources" / f".incoming-{uuid.uuid4().hex[:12]}{suffix}"
        try:
            with atomic_open(incoming, "wb") as out, open(original, "rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)
            with self._lock:
                held = self._holding(digest, original)
                if held is not None:  # another process added the same recording meanwhile
                    return held, False
                taken = {s.id for s in self.sources}
                base = _slug(original.stem)
                source_id, n = base, 2
                while source_id in taken or (self.path / "sources" / f"{source_id}{suffix}").exists():
                    source_id, n = f"{base}_{n}", n + 1
                target = self.path / "sources" / f"{source_id}{suffix}"
                os.replace(incoming, target)
                source = Source(id=source_id, file=target.relative_to(self.path).as_posix(),
                                original=str(original), sha256=digest)
                self.sources.append(source)
                self._unqueue_quietly(original)
                self.save()
        finally:
            incoming.unlink(missing_ok=True)
        self._notify(Change("sources"))
        return source, True

    def _holding(self, digest: str, original: Path) -> Source | None:
        """The source with this content, if the dataset has it (its file leaves the queue)."""
        for source in self.sources:
            if source.sha256 == digest:
                if self._unqueue_quietly(original):
                    self.save()
                return source
        return None

    def write_work_audio(self, source: Source, samples: np.ndarray) -> Path:
        """Keep the decoded source (mono, dataset rate) for cutting clips later."""
        from voicelab.core.audio import write_audio

        path = write_audio(self.work_audio_path(source), samples, self.sample_rate, format="wav")
        source.duration = round(len(samples) / self.sample_rate, 3)
        with self._lock:  # saved now: a save by another process would otherwise drop it
            self.source(source.id).duration = source.duration
            self.save()
        return path

    def read_work_audio(self, source: Source, start: float | None = None,
                        end: float | None = None) -> np.ndarray:
        import soundfile

        path = self.work_audio_path(source)
        if not path.is_file():
            raise DatasetError(f"The decoded audio of '{source.file}' is missing; run Process "
                               "again to rebuild it.")
        with soundfile.SoundFile(str(path)) as handle:
            first = 0 if start is None else max(0, int(round(start * handle.samplerate)))
            last = handle.frames if end is None else min(handle.frames, int(round(end * handle.samplerate)))
            handle.seek(min(first, handle.frames))
            return handle.read(max(0, last - first), dtype="float32", always_2d=False)

    def mark_source(self, source_id: str, state: str, error: str | None = None,
                    language: str | None = None) -> None:
        if state not in SOURCE_STATES:
            raise ValueError(state)
        with self._lock:
            source = self.source(source_id)
            source.state, source.error = state, error
            if language:
                source.language = language
            self.save()
        self._notify(Change("sources"))

    # -- clips from the pipeline ------------------------------------------------------------
    def replace_source_clips(self, source_id: str, cuts: Sequence[NewClip], *,
                             state: str | None = None, language: str | None = None,
                             facts: dict[str, object] | None = None) -> list[Clip]:
        """Put a (re)processed source's clips in place of its old, untouched ones.

        Clips the user edited or excluded stay as they are; a new cut overlapping one of
        them is dropped, so a re-run never writes over a person's work. `state` (and
        `language`, and `facts`: Source fields the pipeline measured, such as its duration
        and speech coverage) mark the source in the same save, so a kill cannot separate them.
        """
        if state is not None and state not in SOURCE_STATES:
            raise ValueError(state)
        with self._lock:
            source = self.source(source_id)
            kept = [c for c in self.clips if c.source == source_id and _reviewed(c)]
            fresh: list[Clip] = []
            for cut in cuts:
                if _overlaps(cut, kept):
                    continue
                clip_id = f"{source_id}_{source.next_clip:04d}"
                source.next_clip += 1
                fresh.append(Clip(id=clip_id, source=source_id, start=round(cut.start, 3),
                                  end=round(cut.end, 3), text=clean_text(cut.text),
                                  words=word_rows(cut.words),
                                  confidence=confidence_of(cut.avg_logprob, cut.no_speech_prob),
                                  avg_logprob=cut.avg_logprob, no_speech_prob=cut.no_speech_prob,
                                  language=cut.language))
            if fresh:
                self.save()  # the ids are taken, for every process, before their wavs exist
        try:
            for clip in fresh:  # slow part, outside the lock; the JSON does not name them yet
                self._render(clip)
            with self._lock:
                source = self.source(source_id)  # as saved now, maybe by another process
                kept = [c for c in self.clips if c.source == source_id and _reviewed(c)]
                dropped = [c for c in fresh if _overlaps(c, kept)]  # reviewed meanwhile
                fresh = [c for c in fresh if c not in dropped]
                old = [c for c in self.clips if c.source == source_id and not _reviewed(c)]
                self.clips = [c for c in self.clips if not (c.source == source_id and not _reviewed(c))]
                self.clips.extend(fresh)
                self._sort()
                if state is not None:
                    source.state, source.error = state, None
                    source.language = language or source.language
                for name, value in (facts or {}).items():
                    setattr(source, name, value)
                self.save()
        except BaseException:
            for clip in fresh:
                self.clip_path(clip.id).unlink(missing_ok=True)
            raise
        for clip in old + dropped:
            self.clip_path(clip.id).unlink(missing_ok=True)
        self._notify(Change("clips", tuple(c.id for c in fresh)))
        return fresh

    def _render(self, clip: Clip) -> None:
        """Cut the clip's wav from the source's work audio and measure its level."""
        from voicelab.core.audio import normalize_level, write_audio

        samples = self.read_work_audio(self.source(clip.source), clip.start, clip.end)
        if samples.size == 0:
            raise DatasetError(f"Clip {clip.id} ({clip.start:.2f}–{clip.end:.2f} s) lies outside "
                               f"its recording.")
        target = self.options.get("loudness_db")
        if isinstance(target, (int, float)):
            samples = normalize_level(samples, float(target))
        peak = float(np.max(np.abs(samples)))
        rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
        clip.peak = round(peak, 4)
        clip.rms_db = round(20 * math.log10(rms), 2) if rms > 0 else -120.0
        clip.clipped = round(float(np.mean(np.abs(samples) >= 0.999)), 5)
        write_audio(self.clip_path(clip.id), samples, self.sample_rate, format="wav")

    def _sort(self) -> None:
        order = {s.id: i for i, s in enumerate(self.sources)}
        self.clips.sort(key=lambda c: (order.get(c.source, len(order)), c.start, c.id))


def _overlaps(span, clips: Sequence[Clip]) -> bool:
    return any(span.start < k.end and k.start < span.end for k in clips)


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return slug[:40] or "source"
