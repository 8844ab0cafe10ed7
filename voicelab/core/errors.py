"""Typed errors that carry a message meant for the user.

Every failure a user can cause or fix (a bad file, no network, a corrupt settings file)
raises a `VoiceLabError` subclass whose text names the file and the fix. The UI shows that
text in a dialog, the CLI prints it; neither needs to know the subclass.
"""

from __future__ import annotations


class VoiceLabError(Exception):
    """Base of every error VoiceLab reports to a user; str(error) is the user-facing text."""


class Cancelled(VoiceLabError):
    """Raised inside core work when the user pressed Cancel; not an error to report."""

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message)


class SettingsError(VoiceLabError):
    """The settings file could not be read or held invalid values."""


class DownloadError(VoiceLabError):
    """A model could not be downloaded or failed verification."""


class UnsafeCheckpointError(VoiceLabError):
    """A checkpoint asked to run code or build objects outside the allow-list."""


class CheckpointError(VoiceLabError):
    """A checkpoint file is missing, truncated or not a checkpoint at all."""


class AudioError(VoiceLabError):
    """An audio file could not be read or written; the message names the file and why."""


def first_line(exc: BaseException) -> str:
    """What went wrong, for a message: the error's first line (a library's own text may run
    to a traceback), or its class name when it has no text."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else exc.__class__.__name__
