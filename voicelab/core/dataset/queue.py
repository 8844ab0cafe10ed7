"""Recordings a `dataset add` was given and has not reached yet, kept in dataset.json.

`voicelab-cli dataset add NAME a.wav b.wav c.wav` killed while a.wav was being decoded
left nothing behind that named b.wav and c.wav, so `dataset add NAME` said "Nothing to
process". Now the command queues its files before any work starts; each file leaves the
queue in the same save that adds its source, and the command empties what is left of it
(files that were refused) when it finishes. What a kill leaves queued, `dataset add NAME`
finishes.

A mixin of `Dataset` (store.py), like `ClipEditing`: it relies on the store's lock, its
`queued` list and `save`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


class RecordingQueue:
    """The `queued` recordings of a `Dataset` (absolute paths, in the order given)."""

    def queue(self, paths: Sequence[Path]) -> None:
        """Note recordings about to be added (files, not folders)."""
        with self._lock:
            known = set(self.queued)
            fresh = [p for p in (os.path.abspath(p) for p in paths) if p not in known]
            if fresh:
                self.queued.extend(fresh)
                self.save()

    def unqueue(self, paths: Sequence[Path]) -> None:
        """Forget these recordings: the command that queued them has finished."""
        with self._lock:
            gone = {os.path.abspath(p) for p in paths}
            if any(p in gone for p in self.queued):
                self.queued = [p for p in self.queued if p not in gone]
                self.save()

    def _unqueue_quietly(self, original: Path) -> bool:
        """Drop one recording from the queue (its source is being added); True if it was
        queued. The caller holds the lock and saves."""
        key = os.path.abspath(original)
        if key not in self.queued:
            return False
        self.queued = [p for p in self.queued if p != key]
        return True
