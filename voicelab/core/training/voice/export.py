"""A training checkpoint turned into a Piper voice (`.onnx` + `.onnx.json`) that is known to speak.

Steps, each of which can fail without leaving a half voice behind:

1. load the checkpoint through the safe loader and rebuild its generator (weight norm
   folded away: inference needs plain weights, and the graph gets smaller);
2. trace it to ONNX with torch's TorchScript exporter at opset 15, the graph piper's
   runtime and every published voice use. torch 2.13 made `torch.onnx.export` default to
   the dynamo exporter, which cannot trace VITS: the output length depends on predicted
   durations and the spline flow asserts on data, so it stops with
   `GuardOnDataDependentSymNode` (OHF-Voice/piper1-gpl#101, #140; piper1-gpl#287 switches
   piper's own exporter to `dynamo=False` for that reason). The dummy input is a real
   sentence's phoneme ids rather than random ids, so tracing runs the spline on values it
   was trained on;
3. write the config beside it (see `voice_config.py`);
4. load the voice in a fresh process with piper's own `PiperVoice.load` and have it speak a
   test sentence (`verify_voice.py`); optionally have Whisper listen to that sentence.

Both files are written to hidden temporary names in the voices folder (same file system,
so the final renames are atomic, and hidden `.part` names are never listed as voices),
verified there, then renamed into place, config first, so the voice appears complete or
not at all. A failure or cancel removes the temporaries; leftovers of a killed export are
removed by the next export of the same name.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import tempfile
import time
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from voicelab.core.errors import Cancelled, VoiceLabError
from voicelab.core.fileio import fsync_dir, fsync_file
from voicelab.core.progress import CancelToken, ProgressCallback, no_progress
from voicelab.core.training.vits.qualities import matching_quality
from voicelab.core.training.vits.voice_config import sample_phoneme_ids
from voicelab.core.voice_names import keep_display_name, safe_voice_name

PathLike = Union[str, "os.PathLike[str]"]
OPSET_VERSION = 15
VERIFY_TIMEOUT_S = 300.0
_STEPS = 5


class ExportError(VoiceLabError):
    """A checkpoint could not be exported to a working voice; the message says why."""


@dataclass(frozen=True)
class ExportResult:
    """An exported voice that loaded in a fresh process and spoke."""

    onnx_path: Path
    config_path: Path
    verified: bool
    heard: str  # what Whisper heard of the test sentence ("" when no Whisper model was given)
    test_sentence: str = ""
    samples: int = 0  # length of the test sentence's audio in the fresh process
    sample_rate: int = 0
    wer: float | None = None


def inference_graph(generator: Any) -> Any:
    """What the ONNX file computes: piper's voice signature around `SynthesizerTrn.infer`.

    Inputs `input` [1, phonemes] int64, `input_lengths` [1] int64, `scales` [3] float
    (noise, length, noise_w) and, for multi-speaker voices, `sid` [1] int64; output
    `output` [1, 1, samples] float, as piper's runtime expects.
    """
    import torch

    class InferenceGraph(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, text: Any, text_lengths: Any, scales: Any, sid: Any = None) -> Any:
            audio = self.model.infer(text, text_lengths, sid=sid, noise_scale=scales[0],
                                     length_scale=scales[1], noise_scale_w=scales[2])[0]
            return audio

    return InferenceGraph(generator).eval()


def export_onnx(generator: Any, arch: Mapping[str, Any], config: Mapping[str, Any], path: Path) -> None:
    """Trace the generator to an ONNX file at `path` (TorchScript exporter, opset 15)."""
    import torch

    graph = inference_graph(generator)
    ids = torch.tensor([sample_phoneme_ids(config, int(arch["num_symbols"]))], dtype=torch.long)
    lengths = torch.tensor([ids.shape[1]], dtype=torch.long)
    scales = torch.tensor([0.667, 1.0, 0.8], dtype=torch.float32)
    multi = int(arch["num_speakers"]) > 1
    args: tuple = (ids, lengths, scales, torch.tensor([0], dtype=torch.long)) if multi else (ids, lengths, scales)
    names = ["input", "input_lengths", "scales"] + (["sid"] if multi else [])
    state = torch.random.get_rng_state()
    torch.manual_seed(1234)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings about data-dependent Python values
            torch.onnx.export(
                graph, args, str(path), dynamo=False, opset_version=OPSET_VERSION,
                input_names=names, output_names=["output"],
                dynamic_axes={"input": {0: "batch_size", 1: "phonemes"},
                              "input_lengths": {0: "batch_size"},
                              "output": {0: "batch_size", 2: "time"}},
            )
    finally:
        torch.random.set_rng_state(state)


def _remove_leftovers(folder: Path, name: str) -> None:
    """Temporaries of an earlier export of this name that was killed before cleaning up."""
    for leftover in folder.glob(f".{glob_escape(name)}.onnx*.part"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def run_verification(model: Path, config: Path, text: str, wav: Path | None, *,
                     cancel: CancelToken | None = None,
                     timeout: float = VERIFY_TIMEOUT_S) -> dict[str, Any]:
    """Run `verify_voice` in a fresh process; its JSON report, or `ExportError`."""
    from voicelab.core.training.voice.verify_voice import verify_command

    command = verify_command(model, config, text, wav)
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + timeout
        try:
            while process.poll() is None:
                if cancel is not None and cancel.cancelled:
                    raise Cancelled()
                if time.monotonic() > deadline:
                    raise ExportError(
                        f"The exported voice did not finish speaking a test sentence within "
                        f"{int(timeout)} s, so the export was discarded. Try again; if it "
                        "keeps happening, the checkpoint may be damaged."
                    )
                time.sleep(0.05)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if process.returncode != 0:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit status {process.returncode}"
        raise ExportError(
            f"The exported voice failed its test: loaded in a fresh process it could not "
            f"speak a test sentence ({detail}). Nothing was added to the voices folder. "
            "Export an earlier checkpoint, or train longer if this one is very new."
        )
    for line in reversed(stdout.strip().splitlines()):
        with contextlib.suppress(ValueError):
            report = json.loads(line)
            if isinstance(report, dict) and "samples" in report:
                return report
    raise ExportError("The voice check gave no report; the export was discarded. Try again.")


def export_voice(checkpoint: PathLike, out_dir: PathLike, *, name: str,
                 progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None,
                 config: Mapping[str, Any] | Path | None = None,
                 asr_model_path: Path | None = None,
                 test_sentence: str | None = None,
                 timeout: float = VERIFY_TIMEOUT_S) -> ExportResult:
    """Export `checkpoint` as the voice `name`, verified: the files are `out_dir/<file
    name>.onnx` and `.onnx.json` (the file name is `safe_voice_name(name)`: "My test voice"
    becomes My_test_voice.onnx), and the config keeps `name` as typed for the voice lists.

    `config` is the voice config to start from (dict or path; default: the run's own
    config.json found beside the checkpoint). An existing voice of the same name is
    replaced, atomically, only once the new one has passed its test. With
    `asr_model_path` (a faster-whisper model folder) Whisper transcribes the test
    sentence and `heard`/`wer` report it. Raises the safe loader's errors for an unsafe
    or broken checkpoint, `ExportError` when the export or its test fails, `Cancelled`.
    """
    from voicelab.core.checkpoints import load_checkpoint
    from voicelab.core.training.vits.architecture import hyper_parameters, load_generator
    from voicelab.core.training.vits.voice_config import voice_config_for_checkpoint
    from voicelab.core.training.voice.verify_voice import DEFAULT_TEXT

    report = progress or no_progress
    token = cancel or CancelToken()
    source = Path(checkpoint)
    folder = Path(out_dir)
    voice_name = safe_voice_name(name)
    text = test_sentence or DEFAULT_TEXT
    folder.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(folder, voice_name)

    report(0, _STEPS, f"Loading {source.name}")
    ckpt = load_checkpoint(source)
    generator, arch = load_generator(ckpt, str(source))
    hparams = hyper_parameters(ckpt)
    del ckpt
    voice_config = voice_config_for_checkpoint(source, arch, hparams, config=config,
                                               name=voice_name, quality=_quality(arch, hparams))
    voice_config["voicelab"] = {"checkpoint": source.name, "exported": time.strftime("%Y-%m-%d %H:%M:%S")}
    keep_display_name(voice_config, name)  # "My test voice" stays, over My_test_voice.onnx
    token.raise_if_cancelled()

    tag = uuid.uuid4().hex[:8]
    onnx_tmp = folder / f".{voice_name}.onnx.{tag}.part"
    json_tmp = folder / f".{voice_name}.onnx.json.{tag}.part"
    wav_tmp = folder / f".{voice_name}.onnx.test-{tag}.wav.part"
    final_onnx = folder / f"{voice_name}.onnx"
    final_json = folder / f"{voice_name}.onnx.json"
    try:
        report(1, _STEPS, "Converting to ONNX")
        try:
            export_onnx(generator, arch, voice_config, onnx_tmp)
        except Exception as error:
            detail = " ".join(str(error).split())[:300]
            raise ExportError(
                f"Converting “{source.name}” to ONNX failed ({type(error).__name__}: "
                f"{detail}). Nothing was added to the voices folder. Try an earlier "
                "checkpoint of this run."
            ) from error
        fsync_file(onnx_tmp)
        json_tmp.write_text(json.dumps(voice_config, ensure_ascii=False, indent=2), encoding="utf-8")
        fsync_file(json_tmp)
        token.raise_if_cancelled()

        report(2, _STEPS, "Checking that the voice speaks")
        check = run_verification(onnx_tmp, json_tmp, text, wav_tmp, cancel=token, timeout=timeout)
        token.raise_if_cancelled()

        heard, score = "", None
        if asr_model_path is not None:
            report(3, _STEPS, "Listening to the test sentence")
            heard, score = _listen(wav_tmp, text, asr_model_path, voice_config)
        token.raise_if_cancelled()

        report(4, _STEPS, f"Adding {voice_name} to the voices")
        os.replace(json_tmp, final_json)
        os.replace(onnx_tmp, final_onnx)
        fsync_dir(folder)
    finally:
        for leftover in (onnx_tmp, json_tmp, wav_tmp):
            with contextlib.suppress(OSError):
                leftover.unlink()
    report(_STEPS, _STEPS, f"Exported {voice_name}")
    return ExportResult(
        onnx_path=final_onnx, config_path=final_json, verified=True, heard=heard,
        test_sentence=text, samples=int(check.get("samples", 0)),
        sample_rate=int(check.get("sample_rate", 0)), wer=score,
    )


def export_run_voice(run_dir: Path, checkpoint: Path, out_dir: Path, name: str, *,
                     progress: ProgressCallback | None = None,
                     cancel: CancelToken | None = None) -> ExportResult:
    """Export a run's checkpoint with the run's Whisper model listening to the test sentence,
    and log an `exported` event in the run: the one export the CLI and the GUI share."""
    from voicelab.core.training.run import events as ev
    from voicelab.core.training.run import runs

    config, _lineage = runs.load_run(run_dir)
    result = export_voice(checkpoint, out_dir, name=name, progress=progress, cancel=cancel,
                          asr_model_path=runs.scoring_model(config))
    writer = ev.EventWriter(Path(run_dir) / runs.EVENTS_FILE)
    try:
        writer.emit(ev.exported(path=result.onnx_path, config=result.config_path,
                                verified=bool(result.verified), heard=str(result.heard or "")),
                    fsync=True)
    finally:
        writer.close()
    return result


def _quality(arch: Mapping[str, Any], hparams: Mapping[str, Any]) -> str | None:
    """The voice's quality name for its config, from its shape (or what the file says)."""
    found = matching_quality(arch, hparams.get("sample_rate"))
    saved = hparams.get("quality")
    return found or (str(saved).replace("-", "_") if saved else None)


def _listen(wav: Path, text: str, model_path: Path, voice_config: Mapping[str, Any]
            ) -> tuple[str, float | None]:
    import soundfile

    from voicelab.core.training.scoring.listen import transcribe
    from voicelab.core.training.scoring.wer import wer

    samples, rate = soundfile.read(str(wav), dtype="float32")
    language = str((voice_config.get("espeak") or {}).get("voice") or "en").split("-")[0]
    heard = transcribe(samples, rate, Path(model_path), language=language)
    return heard, wer(text, heard, language)
