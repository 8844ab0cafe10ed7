"""Data preparation: VoiceLab's parallel, incremental `prepare` against piper's `prepare_data`.

Both sides prepare the same joe-voice clips (phonemes, silence trimming, spectrogram cache)
with the same settings (quality medium: 22.05 kHz, 1024/256 STFT, silence trimming on, as
piper's default), each in a fresh process, alternating which goes first:

* piper: `VitsDataModule.prepare_data()` on the dataset's metadata.csv into an empty cache
  (one process, clip after clip: piper-tts 1.8's own code);
* VoiceLab: `prepare.prepare` on a new run of the same dataset, an empty clip store,
  `prepare_workers` processes (default: one per core);
* VoiceLab, incremental: then a few clips are added to the dataset and one is re-cut, and a
  *new* run prepares it again with the same store: only those clips are processed.

Two times are printed for each: the call (piper's training modules already imported on both
sides, as in a trainer that just started) and the whole process (Python start-up, imports
and, for VoiceLab, its worker processes' start-up included). The ratio is
VoiceLab/piper on the call time (target <= 0.6 on 2 cores).

    python bench/bench_prepare.py                 # 80 clips, 2 repeats
    python bench/bench_prepare.py --clips 200 --workers 4
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
_STARTED = time.perf_counter()

OPENINGS = ("Yesterday", "Every morning", "Later that week", "Quite suddenly", "In the end")


def child_piper(args: argparse.Namespace) -> dict[str, float]:
    from piper.train.vits.dataset import VitsDataModule

    work = Path(args.workdir)
    module = VitsDataModule(csv_path=args.dataset / "metadata.csv", cache_dir=work / "piper-cache",
                            espeak_voice="en-us", config_path=work / "piper-config.json",
                            voice_name="bench", sample_rate=22050, audio_dir=args.dataset / "wavs",
                            trim_silence=True)
    started = time.perf_counter()
    module.prepare_data()
    return {"call_s": time.perf_counter() - started}


def child_voicelab(args: argparse.Namespace) -> dict[str, float]:
    import piper.train.vits.dataset  # noqa: F401  (what piper's side imports before its call)

    from voicelab.core.training.run import snapshot
    from voicelab.core.training.run.config import config_from_dict
    from voicelab.core.training.trainer import prepare

    work = Path(args.workdir)
    settings = {"dataset": str(args.dataset), "quality": "medium", "trim_silence": True,
                "prepare_workers": args.workers, "checkpoint_every_epochs": 1}
    config = config_from_dict(settings)
    run_dir = work / f"run-{args.child}"
    snapshot.snapshot_manifests(args.dataset, run_dir, validation_share=None, seed=1234)
    started = time.perf_counter()
    prepared = prepare.prepare(run_dir, config, shared_store=work / "store")
    return {"call_s": time.perf_counter() - started, "clips": len(prepared.train)}


def build(folder: Path, count: int) -> Path:
    from voicelab.selftest.tiny import SENTENCES, build_dataset

    sentences = [f"{OPENINGS[i // len(SENTENCES) % len(OPENINGS)]}, "
                 f"{SENTENCES[i % len(SENTENCES)].lower()}" for i in range(count)]
    return build_dataset(folder, sentences=sentences, validation=0)


def grow(dataset: Path, added: int) -> None:
    """Add `added` clips and re-cut one: what a user does between two runs."""
    import soundfile

    from voicelab.selftest.tiny import write_wav

    rows = (dataset / "metadata.csv").read_text(encoding="utf-8").splitlines()
    for index in range(added):
        clip_id = f"extra_{index:04d}"
        text = f"This is added clip number {index + 1}, said for the second run."
        write_wav(dataset / "wavs" / f"{clip_id}.wav", text)
        rows.append(f"{clip_id}|{text}")
    audio, rate = soundfile.read(str(dataset / "wavs" / "joe_0000.wav"))
    soundfile.write(str(dataset / "wavs" / "joe_0000.wav"), audio[: int(len(audio) * 0.9)], rate)
    text = "".join(row + "\n" for row in rows)
    for name in ("metadata.csv", "train.txt"):
        (dataset / name).write_text(text, encoding="utf-8")


def run_child(kind: str, args: argparse.Namespace, dataset: Path, workdir: Path) -> dict[str, float]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind,
               "--dataset-dir", str(dataset), "--workdir", str(workdir), "--workers", str(args.workers)]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode or not lines:
        raise SystemExit(f"{kind} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return {**json.loads(lines[-1][len("RESULT "):]), "process_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=80)
    parser.add_argument("--added", type=int, default=4, help="clips added before the re-prepare")
    parser.add_argument("--workers", type=int, default=0, help="VoiceLab's prepare_workers (0: per core)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", choices=("piper", "voicelab", "voicelab-again"), help=argparse.SUPPRESS)
    parser.add_argument("--dataset-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.dataset = args.dataset_dir
        result = child_piper(args) if args.child == "piper" else child_voicelab(args)
        print("RESULT " + json.dumps(result), flush=True)
        return

    from importlib.metadata import version

    print(f"{args.clips} clips (+{args.added} added, 1 re-cut, for the incremental run); "
          f"{os.cpu_count()} CPU cores; VoiceLab prepare_workers={args.workers or 'per core'}; "
          f"piper-tts {version('piper-tts')}, torch {version('torch')}; {args.repeats} repeats",
          flush=True)
    results: dict[str, list[dict[str, float]]] = {"piper": [], "voicelab": [], "voicelab-again": []}
    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as tmp:
        source = build(Path(tmp) / "source", args.clips)
        for repeat in range(args.repeats):
            work = Path(tmp) / f"repeat-{repeat}"
            dataset = work / "joe"
            shutil.copytree(source, dataset)
            order = ("piper", "voicelab") if repeat % 2 == 0 else ("voicelab", "piper")
            for kind in order:
                results[kind].append(run_child(kind, args, dataset, work))
            grow(dataset, args.added)
            results["voicelab-again"].append(run_child("voicelab-again", args, dataset, work))
            line = ", ".join(f"{kind} {results[kind][-1]['call_s']:.2f} s "
                             f"({results[kind][-1]['process_s']:.1f} s process)" for kind in results)
            print(f"  repeat {repeat + 1}: {line}", flush=True)
    for kind, runs in results.items():
        calls = [r["call_s"] for r in runs]
        procs = [r["process_s"] for r in runs]
        print(f"{kind:15s} call {statistics.median(calls):6.2f} s (range {min(calls):.2f}-{max(calls):.2f}), "
              f"process {statistics.median(procs):6.2f} s (range {min(procs):.2f}-{max(procs):.2f})")
    pairs = [v["call_s"] / p["call_s"] for v, p in zip(results["voicelab"], results["piper"])]
    whole = [v["process_s"] / p["process_s"] for v, p in zip(results["voicelab"], results["piper"])]
    print(f"ratio VoiceLab/piper, call:    {', '.join(f'{r:.2f}' for r in pairs)} "
          f"(median {statistics.median(pairs):.2f}, target <= 0.6)")
    print(f"ratio VoiceLab/piper, process: {', '.join(f'{r:.2f}' for r in whole)} "
          f"(median {statistics.median(whole):.2f})")
    again = [a["call_s"] / v["call_s"] for a, v in zip(results["voicelab-again"], results["voicelab"])]
    print(f"incremental re-prepare / first prepare: median {statistics.median(again):.2f}")


if __name__ == "__main__":
    main()
