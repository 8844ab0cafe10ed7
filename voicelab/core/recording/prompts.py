"""What a person reads: the bundled prompt sets in resources/prompts/, or their own text file.

A bundled set is a UTF-8 text file, one prompt a line, with a header of `# key: value`
comment lines (`name`, `language`, `source`: where the text comes from and under which
terms) and any other `#` comments. The sets are chosen for coverage: sentences of 5 to 15
words that between them say every sound of the language many times, in many neighbours,
as statements, questions and exclamations, without digits or symbols (which a reader
says one way and a phonemizer another).

A person's own file follows the same rules without the header: one prompt a line, blank
lines and `#` lines skipped, repeats read once (a prompt is known by its text).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicelab.core.dataset.textclean import clean_text
from voicelab.core.errors import VoiceLabError

PROMPTS_FOLDER = "prompts"
#: The id of a person's own prompts (kept as a copy in the dataset, see takes.py).
CUSTOM = "custom"
MAX_PROMPT_CHARS = 400


class PromptError(VoiceLabError):
    """A prompt file cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class PromptSet:
    id: str  # "en", "de", … for a bundled set; CUSTOM for a person's file
    name: str
    language: str | None  # ISO code; None: not known (Whisper detects it)
    prompts: tuple[str, ...]
    source: str = ""

    def __len__(self) -> int:
        return len(self.prompts)


def parse_prompts(text: str) -> tuple[list[str], dict[str, str]]:
    """(prompts, header) of a prompt file's text (see the module docstring)."""
    prompts: list[str] = []
    header: dict[str, str] = {}
    seen = set()
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            key, colon, value = stripped[1:].partition(":")
            if colon and key.strip().isalpha() and not prompts:
                header.setdefault(key.strip().lower(), value.strip())
            continue
        prompt = clean_text(stripped.lstrip("\ufeff"))
        if prompt and prompt not in seen:
            seen.add(prompt)
            prompts.append(prompt)
    return prompts, header


def _folder() -> Path:
    from voicelab.resources import resource_path

    return resource_path(PROMPTS_FOLDER)


def bundled_sets() -> list[PromptSet]:
    """Every bundled set, English first, then by name."""
    folder = _folder()
    found = []
    for file in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
        prompts, header = parse_prompts(file.read_text(encoding="utf-8"))
        if prompts:
            found.append(PromptSet(file.stem, header.get("name", file.stem), header.get("language"),
                                   tuple(prompts), header.get("source", "")))
    return sorted(found, key=lambda s: (s.id != "en", s.name.lower()))


def bundled_set(set_id: str) -> PromptSet:
    for prompt_set in bundled_sets():
        if prompt_set.id == set_id:
            return prompt_set
    known = ", ".join(s.id for s in bundled_sets()) or "none (resources/prompts/ is missing)"
    raise PromptError(f"There is no prompt set '{set_id}'. Sets: {known}; or use your own text "
                      "file, one prompt a line.")


def set_for_language(language: str | None) -> PromptSet:
    """The bundled set for a language code ("de", "de_DE"), else English."""
    sets = bundled_sets()
    if not sets:
        raise PromptError("No prompt sets are installed (resources/prompts/ is missing); use your "
                          "own text file, one prompt a line.")
    code = (language or "en").lower().replace("-", "_").split("_")[0]
    return next((s for s in sets if s.language == code), sets[0])


def read_prompt_file(path: Path, language: str | None = None, name: str | None = None) -> PromptSet:
    """A person's prompts: one a line (see the module docstring)."""
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PromptError(f"The prompt file {file} does not exist.") from None
    except UnicodeDecodeError:
        raise PromptError(f"{file} is not UTF-8 text; save it as UTF-8 (one prompt a line) and "
                          "choose it again.") from None
    except OSError as exc:
        raise PromptError(f"Cannot read {file}: {exc.strerror or exc}.") from None
    prompts, _header = parse_prompts(text)
    if not prompts:
        raise PromptError(f"{file} holds no prompts: write one sentence a line.")
    long = [i + 1 for i, p in enumerate(prompts) if len(p) > MAX_PROMPT_CHARS]
    if long:
        raise PromptError(f"{file}: prompt {long[0]} is longer than {MAX_PROMPT_CHARS} characters; "
                          "split it into sentences of 5 to 15 words, one a line.")
    return PromptSet(CUSTOM, name or f"Your prompts ({file.name})", language, tuple(prompts),
                     str(file))
