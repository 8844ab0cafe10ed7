"""The recording-language list, the same in the Dataset tab and the Settings dialog.

Both fill their combo from `settings.ASR_LANGUAGES`, so one cannot offer a language the
other shows as "Detect". A code that is set but not listed (typed in Settings, or set with
the CLI) is added as it is rather than shown as something else.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from voicelab.core.settings import ASR_LANGUAGES


def fill_languages(combo: QComboBox, code: str, with_codes: bool = False) -> None:
    """Names shown ("English", or "English (en)" `with_codes`), codes as data; `code` chosen."""
    combo.clear()
    for known, name in ASR_LANGUAGES:
        combo.addItem(f"{name} ({known})" if with_codes and known != "auto" else name, known)
    if combo.findData(code) < 0:
        combo.addItem(code, code)
    combo.setCurrentIndex(combo.findData(code))


def chosen_language(combo: QComboBox) -> str:
    """The code of the chosen item; in an editable combo, what was typed (a code, lower-cased)."""
    text = combo.currentText().strip()
    index = combo.findText(text)
    return str(combo.itemData(index)) if index >= 0 else text.lower()
