"""The self-test's checks, each one path of the app run once the way the app runs it, and its report.

A check takes the shared `Context` and returns (reason, details) when it passes; it raises
`Skip` when it cannot run here for a reason that is no fault of the install, and any other
exception when it fails. `run_checks` runs them in order and times each, so one failure never
stops the rest; `report_dict` and `report_text` turn the results into what `--report-dir` holds.
(The list of checks and what each proves: `voicelab.selftest`.)
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASS, FAIL, SKIPPED = "pass", "fail", "skipped"
SENTENCE = "The quick brown fox jumps over the lazy dog."
MAX_WER = 0.5  # tiny Whisper models mishear a word or two of synthetic speech
TRAIN_TIMEOUT_S = 420.0
VERIFY_TIMEOUT_S = 180.0
WHISPER_SIZES = ("tiny.en", "tiny", "base.en", "base", "small.en", "small")


class Skip(Exception):
    """A check that cannot run here, for a reason that is not a fault of the install."""


@dataclass
class Check:
    name: str
    status: str
    reason: str
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What the checks share: the scratch workspace and what earlier checks produced."""

    scratch: Path
    whisper_model: Path | None
    speech: tuple | None = None  # (samples, rate) of SENTENCE
    dataset: Path | None = None
    checkpoint: Path | None = None
    log: Callable[[str], None] = print


# -- the checks ----------------------------------------------------------------------------
def check_qt(ctx: Context) -> tuple:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from voicelab.core.workspace import Workspace
    from voicelab.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    window = MainWindow(Workspace.open())
    window.show()
    app.processEvents()
    visible, size = window.isVisible(), window.size()
    window.close()
    app.processEvents()
    window.deleteLater()
    app.processEvents()
    if not visible:
        raise AssertionError("the main window was built but is not visible")
    return (f"main window shown on the {app.platformName()} platform",
            {"platform": app.platformName(), "window": [size.width(), size.height()]})


def check_portaudio(ctx: Context) -> tuple:
    try:
        import sounddevice
    except OSError as error:  # the library itself is missing
        raise AssertionError(f"PortAudio could not be loaded ({error}); playback would not work") from None
    library = getattr(sounddevice, "_libname", "?")
    try:
        devices = len(sounddevice.query_devices())
    except Exception as error:  # noqa: BLE001 - no audio system at all is fine here
        devices, note = 0, f"; listing devices failed ({error})"
    else:
        note = ""
    version = str(sounddevice.get_portaudio_version()[1]).split(",")[0]
    return (f"{version} from {library}, "
            f"{devices} audio device(s){note}",
            {"library": str(library), "devices": devices})


def check_synthesis(ctx: Context) -> tuple:
    import numpy as np

    from voicelab.core.synthesis.engine import synthesize
    from voicelab.core.synthesis.voices import default_voice, load_voice

    voice = default_voice()
    speech = synthesize(load_voice(voice), SENTENCE)
    samples = np.asarray(speech.samples, dtype=np.float32)
    seconds = samples.size / float(speech.sample_rate or 1)
    if samples.size == 0 or not np.isfinite(samples).all() or float(np.abs(samples).max()) < 0.01:
        raise AssertionError("the default voice produced no usable audio")
    if not 1.0 < seconds < 10.0:
        raise AssertionError(f"the sentence lasted {seconds:.1f} s, which is not speech")
    ctx.speech = (samples, int(speech.sample_rate))
    return (f"{voice.name} spoke {seconds:.2f} s at {speech.sample_rate} Hz",
            {"voice": voice.name, "audio_s": round(seconds, 3), "sample_rate": speech.sample_rate})


def check_transcription(ctx: Context) -> tuple:
    if ctx.whisper_model is None:
        raise Skip("no Whisper model is bundled, downloaded or given with --whisper-model")
    if ctx.speech is None:
        raise Skip("there is no synthesized sentence to transcribe (synthesis failed)")
    from voicelab.core.training.scoring.listen import transcribe
    from voicelab.core.training.scoring.wer import wer

    heard = transcribe(ctx.speech[0], ctx.speech[1], ctx.whisper_model, language="en")
    score = wer(SENTENCE, heard, "en")
    details = {"model": str(ctx.whisper_model), "heard": heard, "wer": round(score, 3)}
    if score > MAX_WER:
        raise AssertionError(f"Whisper heard “{heard}” (word error rate {score:.2f})")
    return f"Whisper ({'/'.join(ctx.whisper_model.parts[-2:])}) heard “{heard}”, word error rate {score:.2f}", details


def check_scores(ctx: Context) -> tuple:
    """The models that score previews (likeness: resemblyzer's weights; naturalness: DNSMOS)
    load from the install and score real speech."""
    if ctx.speech is None:
        raise Skip("there is no speech to score (the synthesis check failed)")
    from voicelab.core.training.scoring.likeness import embed
    from voicelab.core.training.scoring.naturalness import naturalness

    samples, rate = ctx.speech
    embedding = embed(samples, rate)
    mos = naturalness(samples, rate)
    if embedding is None or mos is None or not 1.0 <= mos <= 5.0:
        raise AssertionError(f"speech was not scored (speaker embedding {embedding is not None}, "
                             f"naturalness {mos})")
    return (f"speaker embedding of {embedding.size} values; naturalness {mos:.2f} of 5",
            {"embedding": int(embedding.size), "naturalness": round(float(mos), 3)})


def check_dataset(ctx: Context) -> tuple:
    from voicelab.core.workspace import Workspace
    from voicelab.selftest.tiny import SENTENCES, build_dataset

    ctx.dataset = build_dataset(Workspace.open().datasets / "self-test", name="self-test")
    return f"{len(SENTENCES)} clips spoken into {ctx.dataset}", {"clips": len(SENTENCES)}


def check_training(ctx: Context) -> tuple:
    if ctx.dataset is None:
        raise Skip("there is no dataset to train on (the dataset check failed)")
    from voicelab.core.training import new_run
    from voicelab.core.training.run import runs
    from voicelab.core.training.run.process import TrainerProcess
    from voicelab.core.training.trainer.runner import HOOK_ENV
    from voicelab.core.workspace import Workspace
    from voicelab.selftest.tiny import HOOK, tiny_config

    steps = 2
    # Silence trimming as in real runs: it starts a pool of worker processes (spawned through
    # the app's own executable when packaged; a pool even on one core, since the spawn path
    # is what can break) and loads the Silero VAD model.
    config = tiny_config(ctx.dataset, max_steps=steps, checkpoint_every_steps=steps,
                         trim_silence=True, prepare_workers=2)
    run_dir = new_run.create_run(Workspace.open().runs, config, name="self-test")
    env = dict(os.environ, **{HOOK_ENV: HOOK})
    env.setdefault("OMP_NUM_THREADS", "2")
    process = TrainerProcess(run_dir, env=env)  # the same command the GUI's controller runs
    seen: list[str] = []
    with process:
        process.start()
        deadline = time.monotonic() + TRAIN_TIMEOUT_S
        while time.monotonic() < deadline:
            event = process.next_event(timeout=1.0)
            if event is not None:
                seen.append(event["type"])
            if process.final_event is not None or (event is None and not process.running()):
                break
        code = process.wait(timeout=60)
        if code is None:
            process.kill()
    final = process.final_event or {}
    details = {"command": process.command, "exit_code": code, "events": _counted(seen),
               "run": str(run_dir)}
    if final.get("type") != "finished" or code != 0:
        message = final.get("message") or _tail(run_dir / runs.LOG_DIR / "stderr.log")
        raise AssertionError(f"the trainer did not finish (exit {code}): {message}")
    checkpoint = Path(final["checkpoint"])
    if not checkpoint.is_file() or runs.checkpoint_step(checkpoint) != steps:
        raise AssertionError(f"the final checkpoint {checkpoint} is missing or not at step {steps}")
    ctx.checkpoint = checkpoint
    details["checkpoint"] = str(checkpoint)
    return (f"{steps} steps in the trainer subprocess `{_mode(process.command)}`, "
            f"checkpoint {checkpoint.name}", details)


def check_export(ctx: Context) -> tuple:
    if ctx.checkpoint is None:
        raise Skip("there is no checkpoint to export (the training check failed)")
    from voicelab.core.training.voice.export import export_voice
    from voicelab.core.workspace import Workspace

    result = export_voice(ctx.checkpoint, Workspace.open().voices, name="self-test",
                          timeout=VERIFY_TIMEOUT_S)
    return (f"exported {result.onnx_path.name}; in a fresh process it spoke "
            f"{result.samples} samples at {result.sample_rate} Hz",
            {"onnx": str(result.onnx_path), "samples": result.samples,
             "onnx_bytes": result.onnx_path.stat().st_size})


def check_verify_voice(ctx: Context) -> tuple:
    from voicelab.core.appexec import VERIFY_VOICE, app_command
    from voicelab.core.synthesis.voices import default_voice

    voice = default_voice()
    wav = ctx.scratch / "verify.wav"
    command = app_command(VERIFY_VOICE, str(voice.model_path), str(voice.config_path),
                          "--text", SENTENCE, "--wav", str(wav))
    done = subprocess.run(command, capture_output=True, text=True, timeout=VERIFY_TIMEOUT_S,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}: {_last_line(done.stderr)}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if report.get("samples", 0) <= 0 or not wav.is_file():
        raise AssertionError(f"the fresh process gave no audio ({report})")
    return (f"a fresh `{_mode(command)}` process spoke {report['samples']} samples",
            {"command": _mode(command), **report})


CHECKS: Sequence[tuple] = (
    ("qt", check_qt), ("portaudio", check_portaudio), ("synthesis", check_synthesis),
    ("scores", check_scores), ("transcription", check_transcription), ("dataset", check_dataset),
    ("training", check_training), ("export", check_export), ("verify-voice", check_verify_voice),
)


# -- running and reporting -----------------------------------------------------------------
def run_checks(ctx: Context, names: Sequence[str] | None = None) -> list[Check]:
    results = []
    for name, function in CHECKS:
        if names and name not in names:
            continue
        ctx.log(f"… {name}")
        start = time.perf_counter()
        details: dict[str, Any] = {}
        try:
            reason, details = function(ctx)
            status = PASS
        except Skip as skip:
            status, reason = SKIPPED, str(skip)
        except Exception as error:  # noqa: BLE001 - every failure is reported, none stops the rest
            status, reason = FAIL, f"{type(error).__name__}: {error}"
            details = {"traceback": traceback.format_exc()}
        check = Check(name, status, reason, round(time.perf_counter() - start, 2), details)
        ctx.log(f"{status.upper():7} {name:14} {check.seconds:7.2f} s  {reason}")
        results.append(check)
    return results


def report_dict(checks: Sequence[Check], started: float, total_s: float) -> dict[str, Any]:
    from voicelab import __version__
    from voicelab.core.appexec import is_frozen

    return {
        "app": "VoiceLab", "version": __version__, "frozen": is_frozen(),
        "executable": sys.executable, "platform": platform.platform(),
        "python": platform.python_version(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "total_s": round(total_s, 2),
        "passed": all(c.status != FAIL for c in checks),
        "counts": {s: sum(c.status == s for c in checks) for s in (PASS, FAIL, SKIPPED)},
        "checks": [asdict(c) for c in checks],
    }


def report_text(report: dict[str, Any]) -> str:
    lines = [f"VoiceLab {report['version']} self-test — "
             f"{'PASSED' if report['passed'] else 'FAILED'} in {report['total_s']:.1f} s",
             f"{'packaged app' if report['frozen'] else 'Python'}: {report['executable']}",
             f"{report['platform']}, Python {report['python']}, started {report['started']}", ""]
    for check in report["checks"]:
        lines.append(f"{check['status'].upper():7} {check['name']:14} {check['seconds']:7.2f} s  "
                     f"{check['reason']}")
    counts = report["counts"]
    lines += ["", f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIPPED]} skipped"]
    return "\n".join(lines) + "\n"


def find_whisper_model(given: Path | None) -> Path | None:
    """--whisper-model, else one bundled in resources/models/, else one the user downloaded."""
    if given is not None:
        return given if given.is_dir() else None
    from voicelab.resources import resource_path

    bundled = resource_path("models")
    for size in WHISPER_SIZES:
        if (bundled / f"whisper-{size}" / "model.bin").is_file():
            return bundled / f"whisper-{size}"
    try:
        from voicelab.core.models import whisper_model_path

        for size in WHISPER_SIZES:
            path = whisper_model_path(size)
            if path is not None:
                return Path(path)
    except Exception:  # noqa: BLE001 - a broken catalog or settings file: just no model
        return None
    return None


def write_report(folder: Path, report: dict[str, Any], text: str) -> None:
    from voicelab.core.fileio import atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "self-test.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(folder / "self-test.txt", text)


def say(text: str, stream: Any) -> None:
    """Print where there is a console: a windowed app on Windows started from Explorer has none."""
    if stream is not None:
        print(text, file=stream, flush=True)


def _mode(command: Sequence[str]) -> str:
    """`VoiceLab --run-trainer` or `python -m voicelab --run-trainer`: how a child was started."""
    from voicelab.core.appexec import app_prefix

    prefix = len(app_prefix())
    return " ".join([Path(command[0]).name, *command[1:prefix + 1]])


def _counted(kinds: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _tail(path: Path, lines: int = 1) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "no log"
    return _last_line(text, lines)


def _last_line(text: str, lines: int = 1) -> str:
    found = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(found[-lines:]) if found else "no message"
