"""From what the user typed to the sentences a voice speaks, or a `TextError` saying why not.

Three jobs, in this order, because each needs the one before (voicelab/core/text/):
`normalize_text` writes out numbers, abbreviations and symbols; `unsupported_characters`
finds characters the voice would otherwise spell out by name ("Chinese letter", "grinning
face"), so the user is told which ones instead; `split_sentences` cuts the text into the
sentences synthesis streams.
"""

from __future__ import annotations

from voicelab.core.synthesis.errors import TextError
from voicelab.core.text.characters import describe_characters, unsupported_characters
from voicelab.core.text.normalize import normalize_text
from voicelab.core.text.sentences import MAX_SENTENCE_CHARS, split_sentences


def prepare_text(text: str, language: str = "en",
                 max_chars: int = MAX_SENTENCE_CHARS,
                 voice_name: str = "This voice") -> list[str]:
    """Normalize, check and split: the sentences to synthesize, or a `TextError` saying why not."""
    if not text or not text.strip():
        raise TextError("There is no text to speak: the text is empty.")
    normalized = normalize_text(text, language)
    bad = unsupported_characters(normalized, language)
    if bad:
        raise TextError(
            f"{voice_name} cannot speak these characters: {describe_characters(bad)}. "
            f"Remove them, write them out in words, or choose a voice for that language."
        )
    sentences = split_sentences(normalized, max_chars)
    if not sentences:
        raise TextError(
            "There is nothing to speak: the text has no letters or numbers, only "
            "punctuation or symbols."
        )
    return sentences


