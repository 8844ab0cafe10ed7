"""The save dialog for exporting a clip, where the chosen filter decides the format.

Kept apart because its rules are easy to get wrong in place: the preset's format is offered
first, and a name typed without an audio ending gets the ending of the filter the user
picked (the core takes the format from the ending).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import QFileDialog, QWidget

from voicelab.core.audio import WRITE_FORMATS

_FILTERS = {"wav": "WAV audio (*.wav)", "flac": "FLAC audio (*.flac)",
            "ogg": "Ogg Vorbis audio (*.ogg)", "mp3": "MP3 audio (*.mp3)"}


def ask_export_path(parent: Optional[QWidget], stem: str, preferred: str) -> Optional[Path]:
    """Ask where to export; None when the user cancelled. `preferred` is a format name."""
    fmt = preferred if preferred in WRITE_FORMATS else "wav"
    filters = [_FILTERS[fmt]] + [_FILTERS[f] for f in WRITE_FORMATS if f != fmt]
    suggested = str(Path.home() / f"{stem}.{fmt}")
    name, chosen = QFileDialog.getSaveFileName(parent, "Export clip", suggested, ";;".join(filters))
    if not name:
        return None
    path = Path(name)
    if path.suffix.lower().lstrip(".") not in WRITE_FORMATS:
        ext = next((f for f, label in _FILTERS.items() if label == chosen), fmt)
        path = path.with_name(path.name + f".{ext}")
    return path
