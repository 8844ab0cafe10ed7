"""Training speed: VoiceLab's trainer against piper's own training loop, same model, same data.

Both sides train piper's `VitsModel` on the same dataset (joe-voice sentences) with the same
architecture, batch size, precision and data-loader workers, each in a fresh process:

* VoiceLab: `voicelab.core.training.trainer.runner.run` on a run folder (events, heartbeat thread,
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

Each run prints steps/s, utterances/s (steps/s x batch) and peak memory (CUDA: allocated
GPU memory; CPU: the process's peak resident memory); on CUDA also the GPU-busy share:
the device time torch.profiler records over `--profile-steps` extra steps, divided by their
wall time (the issue measured 0.154 s busy per 0.40-0.45 s step for piper's loop).
`--matrix` runs the issue's table (batch 16/32/64 x fp32 (TF32) and bf16-mixed).
VoiceLab's options under test are flags: `--alignment numba|torch|auto` (piper's loop always
searches on the host). `--curves FILE` records both sides' per-step losses at the same
seed (JSON: {"voicelab": [[loss_g, loss_d], ...], "piper": [...]}) for the "same learning"
check; it copies every loss to the host, so time curves runs separately.

    python bench/bench_training.py                               # CPU, tiny model
    python bench/bench_training.py --device cuda --matrix        # the issue's GPU table
    python bench/bench_training.py --device cuda --batch-size 32 --alignment numba
    python bench/bench_training.py --device cuda --repeats 1 --steps 400 --curves curves.json

`--quality tiny` (the CPU default) is the tiny model of voicelab/selftest/tiny.py: a shrunk
generator with two small discriminators in place of piper's 47 M-parameter one (`--full-discriminator` keeps piper's);
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
from typing import Any

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
class Probe:
    """What the bench hooks into the model, the same on both sides.

    A time stamp after every training step (on CUDA synchronised at the first and last timed
    step, so queued kernels are counted); with `--curves`, the losses of every step (a
    host copy each step, so curves are recorded in separate runs from the timed ones); on
    CUDA, a torch.profiler window of `profile_steps` steps after the timed ones, whose summed
    device time over its wall time is the GPU-busy share.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stamps: list[float] = []
        self.losses: list[list[float]] = []
        self.cuda = args.device == "cuda"
        self.timed_end = args.warmup + args.steps
        self.profile_steps = args.profile_steps if self.cuda else 0
        self.profiler: Any = None
        self.busy: float | None = None

    def hook(self, model: Any) -> None:
        if self.args.tiny_discriminator:
            from voicelab.selftest.tiny import tiny_discriminator as swap

            swap(model)
        model.on_train_batch_end = lambda *args, **kwargs: self.step_end()
        if self.args.curves:
            compute = model._compute_loss

            def recording(batch):
                loss_g, loss_d, metrics = compute(batch)
                if model.training:
                    self.losses.append([float(loss_g.detach()), float(loss_d.detach())])
                return loss_g, loss_d, metrics
            model._compute_loss = recording

    def step_end(self) -> None:
        count = len(self.stamps) + 1
        if self.cuda and count in (self.args.warmup + 1, self.timed_end):
            import torch

            torch.cuda.synchronize()
        self.stamps.append(time.perf_counter())
        if self.profile_steps and count == self.timed_end:
            from torch.profiler import ProfilerActivity, profile

            self.profiler = profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
            self.profiler.start()
        elif self.profiler is not None and count == self.timed_end + self.profile_steps:
            import torch

            torch.cuda.synchronize()
            self.profiler.stop()
            wall_us = (self.stamps[-1] - self.stamps[self.timed_end - 1]) * 1e6
            from torch.autograd import DeviceType

            # Kernel and copy events only (CPU ops also carry their kernels' time: no double count).
            device_us = sum(e.self_device_time_total for e in self.profiler.key_averages()
                            if e.device_type == DeviceType.CUDA)
            self.busy = device_us / wall_us if wall_us > 0 else None
            self.profiler = None

    @property
    def total_steps(self) -> int:
        return self.timed_end + self.profile_steps

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = _measure(self.stamps[:self.timed_end], self.args.warmup)
        out["utts_per_s"] = out["steps_per_s"] * self.args.batch_size
        out.update(_peak(self.args))
        if self.busy is not None:
            out["gpu_busy"] = self.busy
        if self.args.curves:
            out["losses"] = self.losses
        return out


def _child_settings(args: argparse.Namespace) -> dict[str, Any]:
    from voicelab.selftest.tiny import TINY_MODEL

    quality = "medium" if args.quality == "tiny" else args.quality
    model = dict(TINY_MODEL) if args.quality == "tiny" else {}
    return {"quality": quality, "model": model}


def _measure(stamps: list[float], warmup: int) -> dict[str, float]:
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


def _peak(args: argparse.Namespace) -> dict[str, float]:
    """Peak GPU memory on CUDA; the process's peak resident memory on the CPU."""
    if args.device == "cuda":
        import torch

        return {"peak_gib": torch.cuda.max_memory_allocated() / 2**30}
    import resource

    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return {"peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**30}


def child_voicelab(args: argparse.Namespace) -> dict[str, float]:
    from voicelab.core.training import new_run
    from voicelab.core.training.trainer import runner

    _cuda_setup(args)
    settings = _child_settings(args)
    probe = Probe(args)
    config = {
        "dataset": str(args.dataset), "quality": settings["quality"], "model": settings["model"],
        "max_steps": probe.total_steps, "max_epochs": None, "batch_size": args.batch_size,
        "precision": args.precision, "optimizer": args.optimizer, "device": args.device,
        "num_workers": args.workers, "checkpoint_every_steps": 10**9,
        "checkpoint_every_epochs": None, "preview_every_epochs": None, "seed": 1234,
        "learning_rate": 2e-4, "alignment": args.alignment,
    }
    work = Path(tempfile.mkdtemp(prefix="voicelab-bench-", dir=args.workdir))
    run_dir = new_run.create_run(work, config, name="bench")
    code = runner.run(run_dir, model_hook=probe.hook)
    if code != runner.EXIT_FINISHED:
        from voicelab.core.training.run import events

        raise SystemExit(f"VoiceLab's trainer failed: {events.read_events(run_dir / 'events.jsonl')[-1]}")
    return probe.result()


def child_piper(args: argparse.Namespace) -> dict[str, float]:
    import lightning as L
    from piper.train.vits.dataset import VitsDataModule
    from piper.train.vits.lightning import VitsModel

    from voicelab.core.training.trainer import monotonic
    from voicelab.core.training.vits.qualities import QUALITIES

    _cuda_setup(args)
    # piper's wheel has no compiled maximum path: it cannot train without one. Its own
    # (Cython) search runs on the host, as numba's does.
    monotonic.install("numba")
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
    probe = Probe(args)
    probe.hook(model)
    trainer = L.Trainer(accelerator="gpu" if args.device == "cuda" else "cpu", devices=1,
                        precision="32-true" if args.precision == "32" else args.precision,
                        max_steps=2 * probe.total_steps,  # both optimizers count
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(model, datamodule=data)
    return probe.result()


# -- the orchestrating parent -----------------------------------------------------------------------
def build_dataset(folder: Path, batch_size: int, sample_rate: int) -> Path:
    from voicelab.selftest.tiny import SENTENCES
    from voicelab.selftest.tiny import build_dataset as build

    sentences = list(SENTENCES) + list(EXTRA_SENTENCES)
    while len(sentences) < 2 * batch_size + 1:  # enough for two full batches per epoch
        sentences += [f"{a} {b}" for a, b in zip(SENTENCES, reversed(EXTRA_SENTENCES))]
    return build(folder, sentences=sentences, validation=0, sample_rate=sample_rate)


def run_child(kind: str, args: argparse.Namespace, dataset: Path, workdir: Path) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind,
               "--dataset-dir", str(dataset), "--workdir", str(workdir)]
    for flag in ("device", "quality", "batch_size", "precision", "optimizer", "steps", "warmup",
                 "workers", "threads", "alignment", "profile_steps"):
        value = getattr(args, flag)
        if value is not None:
            command += [f"--{flag.replace('_', '-')}", str(value)]
    if args.full_discriminator:
        command.append("--full-discriminator")
    if args.curves:
        command += ["--curves", str(args.curves)]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode or not lines:
        raise SystemExit(f"{kind} run failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def _describe(result: dict[str, Any]) -> str:
    text = (f"{result['steps_per_s']:7.3f} steps/s, {result['utts_per_s']:7.2f} utts/s, "
            f"peak {result['peak_gib']:.2f} GiB")
    if "gpu_busy" in result:
        text += f", GPU busy {100 * result['gpu_busy']:.0f}%"
    return text


def compare(args: argparse.Namespace, dataset: Path, workdir: Path) -> dict[str, Any]:
    """Alternating runs of both loops at one batch size and precision; medians and ratios."""
    results: dict[str, list[dict[str, Any]]] = {"voicelab": [], "piper": []}
    for repeat in range(args.repeats):
        for kind in ("voicelab", "piper") if repeat % 2 == 0 else ("piper", "voicelab"):
            started = time.perf_counter()
            result = run_child(kind, args, dataset, workdir)
            results[kind].append(result)
            print(f"  run {repeat + 1} {kind:8s} {_describe(result)} "
                  f"({time.perf_counter() - started:.0f} s with start-up)", flush=True)
    summary: dict[str, Any] = {}
    for kind, runs in results.items():
        summary[kind] = {key: statistics.median(r[key] for r in runs)
                         for key in ("steps_per_s", "utts_per_s", "peak_gib", "gpu_busy")
                         if all(key in r for r in runs)}
    # Each repeat's two runs ran back to back, under the same load from the rest of the machine.
    pairs = [v["steps_per_s"] / p["steps_per_s"] for v, p in zip(results["voicelab"], results["piper"])]
    summary["pairs"] = pairs
    summary["ratio"] = summary["voicelab"]["steps_per_s"] / summary["piper"]["steps_per_s"]
    if args.curves:
        curves = {kind: runs[0]["losses"] for kind, runs in results.items()}
        Path(args.curves).write_text(json.dumps(curves), encoding="utf-8")
        print(f"  loss curves (first run of each) written to {args.curves}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--quality", choices=("tiny", "x_low", "low", "medium", "high"))
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--precision", choices=("32", "bf16-mixed", "16-mixed"), default="32")
    parser.add_argument("--matrix", action="store_true",
                        help="batch 16, 32 and 64 at precision 32 (TF32) and bf16-mixed (the issue's table)")
    parser.add_argument("--optimizer", choices=("adamw", "adamw8bit"), default="adamw")
    parser.add_argument("--alignment", choices=("auto", "numba", "torch"), default="auto",
                        help="VoiceLab's alignment search (piper's loop always searches on the host)")
    parser.add_argument("--steps", type=int, help="timed steps per run (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile-steps", type=int, default=5,
                        help="CUDA: steps profiled after the timed ones for the GPU-busy share")
    parser.add_argument("--workers", type=int, default=1, help="data-loader workers (piper's default: 1)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--curves", type=Path, help="record every step's losses into this JSON file "
                                                    "(slower: use separate runs for timing)")
    parser.add_argument("--full-discriminator", action="store_true",
                        help="with --quality tiny: keep piper's 47 M-parameter discriminator")
    parser.add_argument("--child", choices=("voicelab", "piper"), help=argparse.SUPPRESS)
    parser.add_argument("--dataset-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.quality = args.quality or ("tiny" if args.device == "cpu" else "medium")
    args.steps = args.steps or (40 if args.device == "cuda" or args.quality == "tiny" else 10)
    args.tiny_discriminator = args.quality == "tiny" and not args.full_discriminator

    if args.child:
        args.dataset = args.dataset_dir
        result = child_voicelab(args) if args.child == "voicelab" else child_piper(args)
        print("RESULT " + json.dumps(result), flush=True)
        return

    import torch

    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: no CUDA GPU is available to PyTorch here.")
        device_name = torch.cuda.get_device_name(0)
    else:
        device_name = f"CPU, {args.threads or torch.get_num_threads()} torch thread(s)"
    default_batch = 4 if args.quality == "tiny" else 32 if args.device == "cuda" else 8
    combos = ([(b, p) for p in ("32", "bf16-mixed") for b in (16, 32, 64)] if args.matrix
              else [(args.batch_size or default_batch, args.precision)])
    print(f"device: {device_name}; torch {torch.__version__}; quality {args.quality}"
          f"{' (tiny discriminators)' if args.tiny_discriminator else ''}; optimizer "
          f"{args.optimizer}; VoiceLab alignment {args.alignment}; {args.warmup} warm-up + "
          f"{args.steps} timed steps; {args.workers} loader worker(s); {args.repeats} runs each",
          flush=True)
    table = []
    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        tmp_path = Path(tmp)
        from voicelab.core.training.vits.qualities import QUALITIES

        rate = QUALITIES["medium" if args.quality == "tiny" else args.quality].sample_rate
        dataset = build_dataset(tmp_path / "joe", max(b for b, _ in combos), rate)
        for batch_size, precision in combos:
            args.batch_size, args.precision = batch_size, precision
            print(f"batch {batch_size}, precision {precision}:", flush=True)
            summary = compare(args, dataset, tmp_path)
            table.append((batch_size, precision, summary))
            print(f"  ratio per repeat: {', '.join(f'{r:.3f}' for r in summary['pairs'])} "
                  f"(median {statistics.median(summary['pairs']):.3f})", flush=True)
    print("batch  precision   VoiceLab steps/s  utts/s  peak GiB  busy  |  piper steps/s  utts/s  "
          "peak GiB  busy  |  ratio")
    for batch_size, precision, summary in table:
        cells = []
        for kind in ("voicelab", "piper"):
            row = summary[kind]
            busy = f"{100 * row['gpu_busy']:3.0f}%" if "gpu_busy" in row else "  - "
            cells.append(f"{row['steps_per_s']:16.3f}  {row['utts_per_s']:6.2f}  "
                         f"{row['peak_gib']:8.2f}  {busy}")
        print(f"{batch_size:5d}  {precision:10s}  {cells[0]}  |  {cells[1]}  |  {summary['ratio']:.3f}")
    target = "target >= 2 at batch 32" if args.device == "cuda" else "target >= 0.97"
    ratios = ", ".join(f"{summary['ratio']:.3f}" for _b, _p, summary in table)
    print(f"ratio VoiceLab/piper (steps/s, medians): {ratios} ({target})")


if __name__ == "__main__":
    main()
