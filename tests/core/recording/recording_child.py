"""A separate recording process for the crash test (tests/core/recording/test_recording.py).

It records and keeps takes of a dataset's first prompts exactly as the studio does (the
microphone double, the recorder streaming each take to its file, `review_take`,
`TakeFolder.keep`), then starts one more take and goes on recording until it is killed.

    python -m tests.core.recording.recording_child DATASET_DIR KEEP
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

RATE = 48000


def main(folder: str, keep: int) -> None:
    from tests.support.dataset_audio import RATE as JOE_RATE
    from tests.support.dataset_audio import sentence_audio
    from voicelab.core.dataset.store import Dataset
    from voicelab.core.recording.audio_in import FakeAudioInput
    from voicelab.core.recording.recorder import Recorder
    from voicelab.core.recording.review import review_take
    from voicelab.core.recording.takes import TakeFolder

    dataset = Dataset.open(Path(folder))
    takes = TakeFolder(dataset)
    prompts = takes.prompt_set().prompts
    microphone = FakeAudioInput(speed=4.0)
    recorder = Recorder(microphone)
    recorder.open(0, RATE)
    silence = np.zeros(int(0.4 * JOE_RATE), np.float32)
    for index in range(keep):
        prompt = prompts[index]
        recorder.start_take(takes.take_path(prompt))
        microphone.feed(np.concatenate([silence, 0.5 * sentence_audio(prompt), silence]), JOE_RATE)
        while microphone.pending_s() > 0:
            time.sleep(0.01)
        result = review_take(recorder.stop_take(), prompt)
        if result.refused:
            raise SystemExit(f"take {index} refused: {result.messages()}")
        takes.keep(prompt, result.check, "en")
        print(f"kept {index}", flush=True)
    prompt = prompts[keep]
    recorder.start_take(takes.take_path(prompt))
    speech = 0.5 * sentence_audio(prompt)
    microphone.feed(np.concatenate([silence] + [speech] * 50), JOE_RATE)
    print("recording", flush=True)
    time.sleep(600)  # killed long before


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
