"""The edits a person makes to clips (text, edges, split, merge, exclude, delete) and the
capture/swap pair undo is built on.

A mixin of `Dataset` (store.py), kept apart because it is the reviewing half of the store:
each edit changes the clips under the store's lock, cuts new audio outside it, saves, and
tells the listeners which clips it touched. An edit that cuts audio takes the lock twice,
and another process may save in between: the second turn looks its clips up again (they
may be gone), and a new clip id is saved before its audio is cut, so no one else takes it.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Sequence

from voicelab.core.dataset.records import (
    Change,
    Clip,
    DatasetError,
    _min_or_none,
    _split_text,
    clip_from_dict,
    confidence_of,
    word_rows,
)
from voicelab.core.dataset.textclean import clean_text


class ClipEditing:
    """User edits on a `Dataset`; relies on its lock, `_render`, `save` and `_notify`."""

    def set_text(self, clip_id: str, text: str) -> Clip:
        with self._lock:
            clip = self.clip(clip_id)
            clip.text, clip.edited = clean_text(text), True
            self.save()
        self._notify(Change("clip", (clip_id,)))
        return clip

    def set_excluded(self, clip_ids: Iterable[str], excluded: bool = True) -> None:
        ids = tuple(clip_ids)
        with self._lock:
            for clip_id in ids:
                self.clip(clip_id).excluded = bool(excluded)
            self.save()
        self._notify(Change("clip", ids))

    def delete_clips(self, clip_ids: Iterable[str]) -> None:
        ids = set(clip_ids)
        with self._lock:
            for clip_id in ids:
                self.clip(clip_id)  # raises for an unknown id before anything changes
            self.clips = [c for c in self.clips if c.id not in ids]
            self.save()
        for clip_id in ids:
            self.clip_path(clip_id).unlink(missing_ok=True)
        self._notify(Change("clips", tuple(ids)))

    def set_bounds(self, clip_id: str, start: float, end: float) -> Clip:
        """Move a clip's start and end (seconds in its source) and cut its audio again."""
        with self._lock:
            clip = self.clip(clip_id)
            source = self.source(clip.source)
            start, end = max(0.0, float(start)), float(end)
            if source.duration:
                end = min(end, source.duration)
            if end - start < 0.05:
                raise DatasetError(f"Clip {clip_id} would be shorter than 50 ms; drag the edges apart.")
            changed = dataclasses.replace(clip, start=round(start, 3), end=round(end, 3), edited=True,
                                          words=[w for w in clip.words if w[1] >= start - 0.01 and w[2] <= end + 0.01])
        self._render(changed)
        with self._lock:
            self.clip(clip_id)  # still there: another process may have deleted it meanwhile
            self._put(changed)
            self._sort()
            self.save()
        self._notify(Change("clips", (clip_id,)))
        return changed

    def split_clip(self, clip_id: str, at: float) -> tuple[Clip, Clip]:
        """Split at `at` seconds into the source; the text splits at the nearest word gap."""
        with self._lock:
            clip = self.clip(clip_id)
            if not clip.start + 0.05 < at < clip.end - 0.05:
                raise DatasetError(f"Split point {at:.2f} s is not inside clip {clip_id} "
                                   f"({clip.start:.2f}–{clip.end:.2f} s).")
            first_text, second_text, first_words, second_words = _split_text(clip, at)
            source = self.source(clip.source)
            second_id = f"{clip.source}_{source.next_clip:04d}"
            source.next_clip += 1
            first = dataclasses.replace(clip, end=round(at, 3), text=first_text, words=first_words,
                                        edited=True)
            second = dataclasses.replace(clip, id=second_id, start=round(at, 3), text=second_text,
                                         words=second_words, edited=True)
            self.save()  # the second clip's id is taken before its audio is cut
        self._render(first)
        self._render(second)
        with self._lock:
            self.clip(clip_id)
            self._put(first)
            self.clips.append(second)
            self._sort()
            self.save()
        self._notify(Change("clips", (first.id, second.id)))
        return first, second

    def merge_with_next(self, clip_id: str) -> Clip:
        """Join a clip with the next clip of the same source (the audio between included)."""
        with self._lock:
            clip = self.clip(clip_id)
            following = self.next_clip(clip_id)
            if following is None:
                raise DatasetError(f"Clip {clip_id} is the last of its recording; nothing follows "
                                   "it to merge with.")
            merged = dataclasses.replace(
                clip, end=following.end, text=clean_text(f"{clip.text} {following.text}"),
                words=clip.words + following.words, edited=True,
                excluded=clip.excluded and following.excluded,
                confidence=_min_or_none(clip.confidence, following.confidence))
        self._render(merged)
        with self._lock:
            self.clip(clip_id)
            self.clip(following.id)
            self._put(merged)
            self.clips = [c for c in self.clips if c.id != following.id]
            self.save()
        self.clip_path(following.id).unlink(missing_ok=True)
        self._notify(Change("clips", (merged.id, following.id)))
        return merged

    def update_transcript(self, clip_id: str, text: str, words: Sequence[Sequence], *,
                          avg_logprob: float | None, no_speech_prob: float | None,
                          language: str | None = None) -> Clip:
        """A clip transcribed again on request: new text and confidence, marked edited."""
        with self._lock:
            clip = self.clip(clip_id)
            clip.text = clean_text(text)
            clip.words = word_rows(words)
            clip.avg_logprob, clip.no_speech_prob = avg_logprob, no_speech_prob
            clip.confidence = confidence_of(avg_logprob, no_speech_prob)
            clip.language = language or clip.language
            clip.edited = True
            self.save()
        self._notify(Change("clip", (clip_id,)))
        return clip

    def _put(self, clip: Clip) -> None:
        for index, existing in enumerate(self.clips):
            if existing.id == clip.id:
                self.clips[index] = clip
                return
        self.clips.append(clip)

    # -- undo -------------------------------------------------------------------------------
    def capture(self, clip_ids: Iterable[str]) -> list[dict]:
        """Copies of these clips as they are now (ids that do not exist are left out).

        Undo keeps the clips an edit touched before and after it, not the whole dataset, so
        undoing an edit never takes back clips the pipeline added meanwhile.
        """
        wanted = set(clip_ids)
        with self._lock.local:
            return copy.deepcopy([vars(c) for c in self.clips if c.id in wanted])

    def swap(self, remove_ids: Iterable[str], clips: Sequence[dict]) -> None:
        """Replace the clips `remove_ids` with captured `clips`, cutting audio where needed."""
        incoming = [clip_from_dict(dict(c)) for c in clips]
        remove = set(remove_ids)
        with self._lock.local:
            current = {c.id: c for c in self.clips}
        for clip in incoming:
            now = current.get(clip.id)
            if now is None or (now.start, now.end) != (clip.start, clip.end) \
                    or not self.clip_path(clip.id).is_file():
                self._render(clip)
        with self._lock:
            keep = {c.id for c in incoming}
            self.clips = [c for c in self.clips if c.id not in remove and c.id not in keep]
            self.clips.extend(incoming)
            self._sort()
            self.save()
        for clip_id in remove - keep:
            self.clip_path(clip_id).unlink(missing_ok=True)
        self._notify(Change("clips", tuple(sorted(remove | keep))))

