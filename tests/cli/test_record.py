"""`voicelab-cli dataset record`: the studio's checks and takes in a terminal, with a
microphone double and a script of key presses that speaks each take before stopping it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.dataset_audio import MORE_SENTENCES, RATE, SENTENCES, sentence_audio
from voicelab.cli import main as cli
from voicelab.core.dataset.store import Dataset, dataset_folder
from voicelab.core.recording import audio_in
from voicelab.core.recording.audio_in import FakeAudioInput
from voicelab.core.recording.takes import TakeFolder

PROMPTS = [SENTENCES[5], MORE_SENTENCES[1]]  # tiny.en hears these word for word


def speech(text, gain=0.5):
    silence = np.zeros(int(0.5 * RATE), np.float32)
    return np.concatenate([silence, gain * sentence_audio(text), silence])


class Keys:
    """stdin for the command: each line is a string, or audio to say before pressing Enter."""

    def __init__(self, microphone, steps):
        self.microphone, self.steps = microphone, list(steps)

    def readline(self):
        if not self.steps:
            return ""
        step = self.steps.pop(0)
        if isinstance(step, str):
            return step + "\n"
        self.microphone.feed(step, RATE)
        import time

        deadline = time.monotonic() + 60
        while self.microphone.pending_s() > 0:
            assert time.monotonic() < deadline, "the microphone double stopped"
            time.sleep(0.01)
        return "\n"


@pytest.fixture
def microphone(monkeypatch, workspace):
    Dataset.create(dataset_folder(workspace, "Voice"), "Voice")
    double = FakeAudioInput(speed=8.0)
    monkeypatch.setattr(audio_in, "default_input", lambda: double)
    return double


def test_record_in_a_terminal_refuses_a_clipped_take_and_keeps_a_good_one(
        microphone, monkeypatch, capsys, tmp_path, workspace):
    prompts = tmp_path / "mine.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    keys = Keys(microphone, [
        "",  # start the room check
        "",  # record prompt 1
        np.clip(speech(PROMPTS[0], gain=4.0), -1, 1),  # …clipped, stop
        "",  # record it again
        speech(PROMPTS[0]),  # …well, stop
        "",  # keep
        "q",  # quit at prompt 2
    ])
    monkeypatch.setattr("sys.stdin", keys)
    assert cli.main(["dataset", "record", "Voice", "--prompts", str(prompts)]) == 0
    out = capsys.readouterr().out
    assert "Quiet room" in out
    assert "Refused" in out and "Clipped" in out
    assert "Good take" in out and f"heard: {PROMPTS[0]}" in out and "Kept as take_" in out
    assert "1 of 2 prompts" in out and not microphone.is_running()
    dataset = Dataset.open(dataset_folder(workspace, "Voice"))
    assert [c.text for c in dataset.clips] == PROMPTS[:1]
    assert (dataset.path / "metadata.csv").read_text(encoding="utf-8").strip().endswith(PROMPTS[0])
    assert TakeFolder(dataset).first_unrecorded(PROMPTS) == 1


def test_record_without_a_microphone_says_why(monkeypatch, capsys, workspace):
    Dataset.create(dataset_folder(workspace, "Voice"), "Voice")
    monkeypatch.setattr(audio_in, "default_input", lambda: FakeAudioInput(
        available=False, unavailable_reason="Recording is unavailable: no input device."))
    assert cli.main(["dataset", "record", "Voice"]) == cli.EXIT_ERROR
    assert "error: Recording is unavailable: no input device." in capsys.readouterr().err
