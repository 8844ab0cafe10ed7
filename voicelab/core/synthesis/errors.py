"""Errors the synthesis core reports to the user.

All derive from `SynthesisError` so a caller that only wants "generation failed, show the
text" catches one class; the subclasses let the GUI point at the right control (the text
box, the voice list, the preset list).
"""

from __future__ import annotations

from voicelab.core.errors import VoiceLabError


class SynthesisError(VoiceLabError):
    """Speech could not be generated; the message says why and what to change."""


class TextError(SynthesisError):
    """The text cannot be spoken: empty, nothing speakable, or characters the voice lacks."""


class VoiceError(SynthesisError):
    """A voice is missing, incomplete or fails to load; the message names the file."""


class PresetError(SynthesisError):
    """A preset is unknown, badly named, or points at a voice that is gone."""


class HistoryError(SynthesisError):
    """A clip in the history could not be stored, found or removed."""
