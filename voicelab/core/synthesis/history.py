"""Every clip the user generated, kept until they clear it.

Each clip is a WAV file in the workspace's history folder; `index.jsonl` lists them (one
JSON object a line: text, preset, voice, time, duration). The index is rewritten
atomically on every change, and the order of writes keeps it honest: a new clip's audio is
written before the index names it, and a deleted clip leaves the index before its audio is
removed, so the index never points at a missing file. Lines that cannot be read are
reported and the file is kept aside, not thrown away.
"""

from __future__ import annotations

import builtins
import json
import shutil
import threading
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from voicelab.core.audio import write_audio
from voicelab.core.errors import AudioError
from voicelab.core.fileio import atomic_write_text
from voicelab.core.names import BadName, inside
from voicelab.core.settings import backup_path
from voicelab.core.synthesis.errors import HistoryError
from voicelab.core.workspace import Workspace

INDEX_FILE = "index.jsonl"


@dataclass(frozen=True)
class HistoryEntry:
    """One generated clip."""

    id: str
    file: str  # audio file name inside the history folder
    text: str
    voice: str  # VoiceInfo.id
    preset: str | None
    speaker: str | None
    created: str  # ISO 8601, UTC
    duration: float  # seconds
    sample_rate: int
    folder: Path  # the history folder (not stored in the index)

    @property
    def path(self) -> Path:
        return self.folder / self.file

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.created)

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        record.pop("folder")
        return record


_FIELDS = ("id", "file", "text", "voice", "preset", "speaker", "created", "duration", "sample_rate")


class History:
    """The history folder of one workspace. Safe to use from a worker and the UI thread."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.index_path = self.folder / INDEX_FILE
        self.problems: list[str] = []
        self.backup: Path | None = None
        self._lock = threading.RLock()
        self._entries: list[HistoryEntry] = []
        self.reload()

    @classmethod
    def open(cls, workspace: Workspace) -> History:
        return cls(workspace.history)

    def reload(self) -> None:
        with self._lock:
            self.problems, self.backup = [], None
            self._entries = self._read()

    def _read(self) -> builtins.list[HistoryEntry]:
        if not self.index_path.exists():
            return []
        try:
            lines = self.index_path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            self._keep_aside(f"The history index {self.index_path} could not be read ({exc}).")
            return []
        entries, bad = [], 0
        for line in lines:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                entry = HistoryEntry(**{key: record[key] for key in _FIELDS}, folder=self.folder)
                inside(self.folder, entry.file, "history clip")  # an index names its own clips only
            except (ValueError, KeyError, TypeError, BadName):
                bad += 1
                continue
            if not entry.path.is_file():
                self.problems.append(f"The audio of a history clip is missing ({entry.file}); "
                                     f"it was left out of the list.")
                continue
            entries.append(entry)
        if bad:
            self._keep_aside(f"{bad} line(s) of the history index {self.index_path} could not be read "
                             f"and were left out.")
        return entries

    def _keep_aside(self, message: str) -> None:
        self.backup = backup_path(self.index_path)
        shutil.copy2(self.index_path, self.backup)
        self.problems.append(f"{message} The file was kept as {self.backup.name}.")

    def _write_index(self, entries: builtins.list[HistoryEntry]) -> None:
        text = "".join(json.dumps(e.to_record(), ensure_ascii=False) + "\n" for e in entries)
        try:
            atomic_write_text(self.index_path, text)
        except OSError as exc:
            raise HistoryError(f"The history index {self.index_path} could not be written: "
                               f"{exc.strerror or exc}.") from None

    # ---- public

    def list(self) -> builtins.list[HistoryEntry]:
        """Clips, newest first."""
        with self._lock:
            return list(reversed(self._entries))

    def get(self, entry_id: str) -> HistoryEntry:
        with self._lock:
            for entry in self._entries:
                if entry.id == entry_id:
                    return entry
        raise HistoryError(f"There is no clip '{entry_id}' in the history.")

    def add(self, samples: np.ndarray, sample_rate: int, *, text: str, voice: str,
            preset: str | None = None, speaker: str | None = None,
            created: datetime | None = None) -> HistoryEntry:
        """Store a clip (audio first, then the index) and return its entry."""
        when = (created or datetime.now(UTC)).astimezone(UTC)
        entry_id = f"{when:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
        entry = HistoryEntry(
            id=entry_id, file=f"{entry_id}.wav", text=text, voice=voice, preset=preset,
            speaker=speaker, created=when.isoformat(timespec="seconds"),
            duration=round(float(np.asarray(samples).shape[0]) / sample_rate, 3),
            sample_rate=int(sample_rate), folder=self.folder,
        )
        with self._lock:
            try:
                write_audio(entry.path, samples, sample_rate, "wav")
            except AudioError as exc:
                raise HistoryError(f"The clip could not be saved to the history: {exc}") from None
            try:
                self._write_index(self._entries + [entry])
            except HistoryError:
                entry.path.unlink(missing_ok=True)
                raise
            self._entries.append(entry)
        return entry

    def delete(self, entry_id: str) -> None:
        """Remove one clip: from the index first, then its audio."""
        with self._lock:
            entry = self.get(entry_id)
            remaining = [e for e in self._entries if e.id != entry_id]
            self._write_index(remaining)
            self._entries = remaining
            entry.path.unlink(missing_ok=True)

    def clear(self) -> int:
        """Remove every clip (and stray audio a crash left behind); returns how many were listed."""
        with self._lock:
            count = len(self._entries)
            self._write_index([])
            self._entries = []
            for stray in self.folder.glob("*.wav"):
                stray.unlink(missing_ok=True)
            return count
