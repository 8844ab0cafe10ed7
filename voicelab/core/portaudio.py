"""sounddevice (PortAudio), loaded for playback or for recording, with the reason in words when
it cannot be: the library missing from the system and the package missing from the install
are different fixes, and both the player and the recorder say them the same way."""

from __future__ import annotations

from typing import Any


def load_sounddevice(purpose: str) -> tuple[Any | None, str]:
    """(the sounddevice module, "") or (None, "<purpose> is unavailable: why")."""
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library itself is missing
        return None, f"{purpose} is unavailable: the PortAudio library could not be loaded ({exc})."
    except ImportError as exc:
        return None, f"{purpose} is unavailable: sounddevice is not installed ({exc})."
    return sounddevice, ""
