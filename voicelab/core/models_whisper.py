"""Which Whisper model transcribes recordings, and what to tell a person about that choice.

tiny.en ships with VoiceLab (models.yaml marks it `included`), so an English import works on
first launch with no network; base.en makes fewer transcription errors and is offered in one
click with its size. A language other than English needs a multilingual model, and `advise`
says so *before* an import starts: faster-whisper given an English-only model ignores the
language it is asked for and writes English words for German speech, without an error.

The Dataset tab shows the advice with a button per choice; the CLI turns a blocking advice
into an error that names the command to run. Presence is read from disk only (no network).
"""

from __future__ import annotations

from dataclasses import dataclass

from voicelab.core.models import INCLUDED, UnknownModelError
from voicelab.core.models_catalog import KIND_WHISPER, ModelEntry
from voicelab.core.progress import format_bytes
from voicelab.core.settings import ASR_MODELS, language_name

#: The better English model offered while the included tiny.en is in use.
BETTER_ENGLISH = "base.en"
#: The multilingual model offered for another language: small and quick on a CPU.
BETTER_MULTILINGUAL = "base"
#: Downloaded multilingual models, in the order one is suggested instead of an English one.
MULTILINGUAL_ORDER = ("small", "base", "turbo", "medium", "large-v3", "large-v2", "large-v1", "tiny")


@dataclass(frozen=True)
class ModelChoice:
    """One way out: switch the setting to `model`, downloading `download` first if given."""

    model: str
    label: str  # what its button says
    download: ModelEntry | None = None


@dataclass(frozen=True)
class WhisperAdvice:
    """What to say about the chosen model and language; empty text when all is well."""

    text: str = ""
    blocking: bool = False  # the choice cannot transcribe: an import must not start
    choices: tuple[ModelChoice, ...] = ()


def wants_english(language: str | None) -> bool:
    """True for English and for "detect" (an English-only model then simply hears English)."""
    return (language or "auto").strip().lower() in ("", "auto", "en")


def advise(manager, model: str, language: str | None) -> WhisperAdvice:
    """Advice for transcribing `language` ("auto", "en", "de", …) with the Whisper `model`.

    `manager` is a `ModelManager`; only its catalog and the disk are read.
    """
    try:
        entry = manager.get(f"{KIND_WHISPER}:{model}")
    except UnknownModelError as exc:
        return WhisperAdvice(str(exc), blocking=True, choices=_included_choice(manager, language))
    english = wants_english(language)
    name = language_name((language or "").strip().lower())
    present = manager.is_present(entry)
    if not english and _english_only(entry):
        return WhisperAdvice(
            f"{model} understands English only, so it cannot transcribe {name}: that needs a "
            "multilingual Whisper model.", blocking=True,
            choices=_multilingual_choices(manager, name))
    if not present:
        choices = [_download(entry, f"Download {model}, {_size(entry)}")]
        if english:
            choices += _included_choice(manager, language)
        else:
            choices += [c for c in _multilingual_choices(manager, name) if c.download is None]
        return WhisperAdvice(f"The Whisper model {model} is not downloaded yet.", blocking=True,
                             choices=tuple(choices))
    if english and manager.presence(entry) == INCLUDED:
        better = manager.get(f"{KIND_WHISPER}:{BETTER_ENGLISH}")
        if manager.is_present(better):
            return WhisperAdvice(f"{BETTER_ENGLISH} is downloaded: it makes fewer transcription "
                                 f"errors than {model}.",
                                 choices=(ModelChoice(BETTER_ENGLISH, f"Use {BETTER_ENGLISH}"),))
        return WhisperAdvice(f"Transcribing with {model}, included with VoiceLab.", choices=(
            _download(better, f"Get {BETTER_ENGLISH}, {_size(better)}: fewer transcription errors"),))
    return WhisperAdvice()


def _english_only(entry: ModelEntry) -> bool:
    return entry.language == "en"


def _size(entry: ModelEntry) -> str:
    return format_bytes(entry.size_bytes) if entry.size_bytes else "size unknown"


def _download(entry: ModelEntry, label: str) -> ModelChoice:
    return ModelChoice(entry.short_name, label, download=entry)


def _included_choice(manager, language: str | None) -> tuple[ModelChoice, ...]:
    """"Use tiny.en (included)" where it can transcribe the language."""
    if not wants_english(language):
        return ()
    for size in ASR_MODELS:
        entry = manager.get(f"{KIND_WHISPER}:{size}")
        if manager.presence(entry) == INCLUDED:
            return (ModelChoice(size, f"Use {size} (included)"),)
    return ()


def _multilingual_choices(manager, name: str) -> tuple[ModelChoice, ...]:
    """A downloaded multilingual model to use, else the one to download."""
    present: list[str] = [size for size in MULTILINGUAL_ORDER
                          if manager.is_present(manager.get(f"{KIND_WHISPER}:{size}"))]
    if present:
        return (ModelChoice(present[0], f"Use {present[0]} (downloaded)"),)
    entry = manager.get(f"{KIND_WHISPER}:{BETTER_MULTILINGUAL}")
    return (_download(entry, f"Get {BETTER_MULTILINGUAL}, {_size(entry)}: transcribes {name}"),)
