"""Training speed: VoiceLab's trainer against piper's own training loop, same model, same data.

Both sides train piper's `VitsModel` on the same dataset (joe-voice sentences) with the same
architecture, batch size, precision and data-loader workers, each in a fresh process:

* VoiceLab: `voicelab.core.training.runner.run` on a run folder (events, heartbeat thread,
  stop checks, NaN guard, atomic checkpoint IO and all: what `voicelab --run-trainer` does);
* piper: the bare Lightning `Trainer.fit` on piper's `VitsModel` + `VitsDataModule` reading
  the dataset's metadata.csv, with no logger, progress bar or checkpoint callback (piper's
  loop at its fastest). piper's wheel lacks the compiled alignment search, so VoiceLab's is
  installed for it too; without it piper cannot train at all.

Steps/s is timed inside the model (a `on_train_batch_end` stamp on the LightningModule, the
same on both sides) over the steps after a warm-up, so start-up, data preparation and the
final checkpoint are left out of both. Runs alternate between the two and medians are
reported with the ratio (target: VoiceLab/piper >= 0.97). On CUDA the peak GPU memory
(`torch.cuda.max_memory_allocated`) of each is printed too, TF32 on for both.

    python bench/bench_training.py                               # CPU, tiny model
    python bench/bench_training.py --device cuda --quality medium --batch-size 32 \\
        --precision bf16-mixed --optimizer adamw8bit             # a GPU server

`--quality tiny` (the CPU default) is the tests' tiny generator with two small
discriminators in place of piper's 47 M-parameter one (`--full-discriminator` keeps piper's);
the other qualities are Piper's real architectures. adamw8bit exists on VoiceLab's side only
(piper's loop always uses AdamW), so that variant's ratio compares the optimizers too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

EXTRA_SENTENCES = (
    "A small boat drifted past the pier.", "The bakery opens early on Sundays.",
    "Rain fell softly on the garden path.", "My brother fixed the old radio.",
    "They painted the fence a pale yellow.", "The lamp flickered and went out.",
    "We counted the stars from the roof.", "Her coat was hanging by the door.",
    "The market was busy this morning.", "A cold wind blew across the field.",
    "He wrote a letter to his friend.", "The clock in the hall struck nine.",
)


# -- the two loops (each runs in its own fresh process) -------------------------------------------
def _stamping_hook(stamps: List[float], tiny_discriminator: bool):
    def hook(model: Any) -> None:
        if tiny_discriminator:
            from tests.training_data import tiny_discriminator as swap

            swap(model)
        model.on_train_batch_end = lambda *args, **kwargs: stamps.append(time.perf_counter())
    return hook


def _child_settings(args: argparse.Namespace) -> Dict[str, Any]:
    from tests.training_data import TINY_MODEL

    quality = "medium" if args.quality == "tiny" else args.quality
    model = dict(TINY_MODEL) if args.quality == "tiny" else {}
    return {"quality": quality, "model": model}


def _measure(stamps: List[float], warmup: int) -> Dict[str, float]:
    timed = stamps[warmup:]
    if len(timed) < 2:
        raise SystemExit(f"only {len(stamps)} steps were timed; raise --steps")
    return {"steps_per_s": (len(timed) - 1) / (timed[-1] - timed[0]), "steps": len(stamps)}


def _cuda_setup(args: argparse.Namespace) -> None:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.cuda.reset_peak_memory_stats()


def _cuda_peak(args: argparse.Namespace) -> Dict[str, float]:
    if args.device != "cuda":
        return {}
    import torch

    return {"peak_gib": torch.cuda.max_memory_allocated() / 2**30}


def child_voicelab(args: argparse.Namespace) -> Dict[str, float]:
    from voicelab.core.training import runner, runs

    _cuda_setup(args)
    settings = _child_settings(args)
    config = {
        "dataset": str(args.dataset), "quality": settings["quality"], "model": settings["model"],
        "max_steps": args.warmup + args.steps, "max_epochs": None, "batch_size": args.batch_size,
        "precision": args.precision, "optimizer": args.optimizer, "device": args.device,
        "num_workers": args.workers, "checkpoint_every_steps": 10**9,
        "checkpoint_every_epochs": None, "preview_every_epochs": None, "seed": 1234,
        "learning_rate": 2e-4,
    }
    work = Path(tempfile.mkdtemp(prefix="voicelab-bench-", dir=args.workdir))
    run_dir = runs.create_run(work, config, name="bench")
    stamps: List[float] = []
    code = runner.run(run_dir, model_hook=_stamping_hook(stamps, args.tiny_discriminator))
    if code != runner.EXIT_FINISHED:
        from voicelab.core.training import events

        raise SystemExit(f"VoiceLab's trainer failed: {events.read_events(run_dir / 'events.jsonl')[-1]}")
    return {**_measure(stamps, args.warmup), **_cuda_peak(args)}


def child_piper(args: argparse.Namespace) -> Dict[str, float]:
    import lightning as L
    from piper.train.vits.dataset import VitsDataModule
    from piper.train.vits.lightning import VitsModel

    from voicelab.core.training import monotonic
    from voicelab.core.training.config import QUALITIES

    _cuda_setup(args)
    monotonic.install()  # piper's wheel has no compiled maximum path: it cannot train without
    settings = _child_settings(args)
    quality = QUALITIES[settings["quality"]]
    hparams = {**{k: (list(v) if isinstance(v, tuple) else v) for k, v in quality.hparams.items()},
               **settings["model"]}
    audio = {k: hparams.get(k, d) for k, d in (("filter_length", 1024), ("hop_length", 256),
                                               ("win_length", 1024), ("segment_size", 8192))}
    work = Path(args.workdir)
    data = VitsDataModule(csv_path=args.dataset / "metadata.csv", cache_dir=work / "piper-cache",
                          espeak_voice="en-us", config_path=work / "piper-config.json",
                          voice_name="bench", sample_rate=quality.sample_rate,
                          audio_dir=args.dataset / "wavs", batch_size=args.batch_size,
                          validation_split=0.0, num_test_examples=0, num_workers=args.workers,
                          **audio)
    L.seed_everything(1234, verbose=False)
    model = VitsModel(batch_size=args.batch_size, sample_rate=quality.sample_rate, num_symbols=256,
                      num_speakers=1, learning_rate=2e-4, mos_metric=None, **hparams)
    stamps: List[float] = []
    _stamping_hook(stamps, args.tiny_discriminator)(model)
    trainer = L.Trainer(accelerator="gpu" if args.device == "cuda" else "cpu", devices=1,
                        precision="32-true" if args.precision == "32" else args.precision,
                        max_steps=2 * (args.warmup + args.steps),  # both optimizers count
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(model, datamodule=data)
    return {**_measure(stamps, args.warmup), **_cuda_peak(args)}


# -- the orchestrating parent -----------------------------------------------------------------------
def build_dataset(folder: Path, batch_size: int, sample_rate: int) -> Path:
    from tests.training_data import SENTENCES, build_dataset as build

    sentences = list(SENTENCES) + list(EXTRA_SENTENCES)
    while len(sentences) < 2 * batch_size + 1:  # enough for two full batches per epoch
        sentences += [f"{a} {b}" for a, b in zip(SENTENCES, reversed(EXTRA_SENTENCES))]
    return build(folder, sentences=sentences, validation=0, sample_rate=sample_rate)


def run_child(kind: str, args: argparse.Namespace, dataset: Path, workdir: Path) -> Dict[str, float]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind,
               "--dataset-dir", str(dataset), "--workdir", str(workdir)]
    for flag in ("device", "quality", "batch_size", "precision", "optimizer", "steps", "warmup",
                 "workers", "threads"):
        value = getattr(args, flag)
        if value is not None:
            command += [f"--{flag.replace('_', '-')}", str(value)]
    if args.full_discriminator:
        command.append("--full-discriminator")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode or not lines:
        raise SystemExit(f"{kind} run failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--quality", choices=("tiny", "x_low", "low", "medium", "high"))
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--precision", choices=("32", "bf16-mixed", "16-mixed"), default="32")
    parser.add_argument("--optimizer", choices=("adamw", "adamw8bit"), default="adamw")
    parser.add_argument("--steps", type=int, help="timed steps per run (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1, help="data-loader workers (piper's default: 1)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--full-discriminator", action="store_true",
                        help="with --quality tiny: keep piper's 47 M-parameter discriminator")
    parser.add_argument("--child", choices=("voicelab", "piper"), help=argparse.SUPPRESS)
    parser.add_argument("--dataset-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.quality = args.quality or ("tiny" if args.device == "cpu" else "medium")
    args.batch_size = args.batch_size or (4 if args.quality == "tiny" else 32 if args.device == "cuda" else 8)
    args.steps = args.steps or (40 if args.device == "cuda" or args.quality == "tiny" else 10)
    args.tiny_discriminator = args.quality == "tiny" and not args.full_discriminator

    if args.child:
        args.dataset = args.dataset_dir
        result = child_voicelab(args) if args.child == "voicelab" else child_piper(args)
        print("RESULT " + json.dumps(result), flush=True)
        return

    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: no CUDA GPU is available to PyTorch here.")
        device_name = torch.cuda.get_device_name(0)
    else:
        import torch

        device_name = f"CPU, {args.threads or torch.get_num_threads()} torch thread(s)"
    print(f"device: {device_name}; quality {args.quality}"
          f"{' (tiny discriminators)' if args.tiny_discriminator else ''}; batch {args.batch_size}; "
          f"precision {args.precision}; optimizer {args.optimizer}; {args.warmup} warm-up + "
          f"{args.steps} timed steps; {args.workers} loader worker(s); {args.repeats} runs each",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        tmp_path = Path(tmp)
        from voicelab.core.training.config import QUALITIES

        rate = QUALITIES["medium" if args.quality == "tiny" else args.quality].sample_rate
        dataset = build_dataset(tmp_path / "joe", args.batch_size, rate)
        results: Dict[str, List[Dict[str, float]]] = {"voicelab": [], "piper": []}
        for repeat in range(args.repeats):
            for kind in ("voicelab", "piper") if repeat % 2 == 0 else ("piper", "voicelab"):
                started = time.perf_counter()
                result = run_child(kind, args, dataset, tmp_path)
                results[kind].append(result)
                peak = f", peak GPU {result['peak_gib']:.2f} GiB" if "peak_gib" in result else ""
                print(f"  run {repeat + 1} {kind:8s} {result['steps_per_s']:7.3f} steps/s{peak} "
                      f"({time.perf_counter() - started:.0f} s with start-up)", flush=True)
    medians = {kind: statistics.median(r["steps_per_s"] for r in runs) for kind, runs in results.items()}
    # Each repeat's two runs ran back to back, under the same load from the rest of the machine.
    pairs = [v["steps_per_s"] / p["steps_per_s"] for v, p in zip(results["voicelab"], results["piper"])]
    print(f"VoiceLab trainer: {medians['voicelab']:.3f} steps/s (median)")
    print(f"piper's loop:     {medians['piper']:.3f} steps/s (median)")
    print(f"ratio per repeat: {', '.join(f'{r:.3f}' for r in pairs)} (median {statistics.median(pairs):.3f})")
    if args.device == "cuda":
        for kind in ("voicelab", "piper"):
            print(f"peak GPU memory {kind}: {max(r['peak_gib'] for r in results[kind]):.2f} GiB")
    print(f"ratio VoiceLab/piper: {medians['voicelab'] / medians['piper']:.3f} (target >= 0.97)")


if __name__ == "__main__":
    main()
