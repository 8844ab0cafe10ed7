"""The trainer's event protocol: the only module that builds or parses training events.

The trainer process writes one JSON object a line to its stdout (read by `process.py`, the
GUI's controller and the CLI) and appends the same line to the run's `events.jsonl`, so a
chart or a run's status can always be rebuilt from disk (`read_events`, `training_history`).
Every event carries `"v": 1` (this protocol's version), `"type"` and `"time"` (Unix seconds).

    type        fields (besides v, type, time)
    ----------  ------------------------------------------------------------------------------
    preparing   done, total, message (checking and caching the clips before training)
    prepared    train, validation (usable utterances), dropped (list of {id, reason}),
                unknown_phonemes (list of str), seconds (total audio in training)
    warmup      stage ("speaking", "encoder", "discriminator", "cached", "done"), done, total
                (step N of M in the stage), overall (share of the whole warm-up done, 0-1),
                eta_s (seconds left in the whole warm-up, or null), message: warming an .onnx
                voice base's untrained parts (training/warmup.py); the "done" event carries
                report (dict)
    started     config (dict: every setting), device (str, e.g. "cpu", "cuda:0 (NVIDIA H100)"),
                devices (int), parameters (int: trainable parameters of generator+discriminator),
                step, epoch (where training begins: 0 for a new run), resumed_from (checkpoint
                path or null), train_utterances, validation_utterances, steps_per_epoch,
                base (null, or {path, sha256, origin, loaded, missing, ...}: counts of what the
                base gave the model, from base.load_base_weights' report)
    step        step (training batches done, over all epochs; counts on across resumes),
                epoch, losses ({loss_g, loss_d, mel, kl, dur, fm, gen, disc}: floats),
                lr (generator learning rate), steps_per_s, eta_s (null when open-ended)
    validation  step, epoch, losses ({loss_g (val_loss), mel, kl, dur, fm, gen, disc})
    checkpoint  step, epoch, path (absolute), reason ("interval", "epoch", "stop", "final")
    preview     step, epoch, previews (list of {path, text, heard, wer, pitch, similarity,
                likeness, naturalness}), wer (mean or null), pitch (null or {median_hz,
                spread_st, frame_rate_share, voiced_frames}: voiced-frame-weighted over the
                previews; per preview also frame_rate_hz; pitch.py), similarity (mean cosine to
                the dataset speaker), likeness (0 where the run started, 1 the speaker; null
                when unknown; likeness.py), naturalness (mean DNSMOS 1-5; naturalness.py)
    exported    path (the .onnx), config (its .onnx.json), verified (bool), heard (str)
    heartbeat   step (latest), phase ("preparing", "training", "validating", "saving",
                "previewing", "stopping"), since_step_s (seconds since the last step or null)
    stopped     step, epoch, checkpoint (path or null), reason ("user", "signal"), during
                ("preparing", "warmup" or "training": a stop in the warm-up keeps its work
                for the next attempt)
    finished    step, epoch, checkpoint (path of the final checkpoint, which exists and loads)
    error       message (what happened and what to change), hint (short advice or ""),
                kind ("oom", "nan", "data", "config", "base", "internal", ...), traceback

Heartbeats only go to stdout: they say "alive" to a watcher and carry no history, so they
stay out of `events.jsonl`. Step events are throttled by the trainer to at most about ten a
second. A line this version cannot read (another version, a half-written last line after a
crash) is skipped by the readers, never fatal.
"""

from __future__ import annotations

import io
import json
import math
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

VERSION = 1
TYPES = ("preparing", "prepared", "warmup", "started", "step", "validation", "checkpoint", "preview", "exported",
         "heartbeat", "stopped", "finished", "error")
#: Events after which the trainer exits; a run's status comes from the last of these.
TERMINAL_TYPES = ("stopped", "finished", "error")
#: The losses a step event reports, in chart order. Piper logs "train_<name>" for the last six.
LOSS_NAMES = ("loss_g", "loss_d", "mel", "kl", "dur", "fm", "gen", "disc")
#: Not written to events.jsonl (see the module docstring).
STDOUT_ONLY_TYPES = ("heartbeat",)

Event = dict[str, Any]


# -- building ------------------------------------------------------------------------------------
def _event(event_type: str, /, **fields: Any) -> Event:
    if event_type not in TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    event: Event = {"v": VERSION, "type": event_type, "time": round(time.time(), 3)}
    event.update(fields)
    return event


def _number(value: Any) -> float | None:
    """A float JSON can hold: NaN and infinities become None (json would write invalid NaN)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _losses(losses: Mapping[str, Any]) -> dict[str, float | None]:
    return {name: _number(value) for name, value in losses.items()}


def warmup(*, stage: str, done: float, total: float, message: str,
           report: Mapping[str, Any] | None = None, overall: float | None = None,
           eta_s: float | None = None) -> Event:
    fields: dict[str, Any] = {"stage": str(stage), "done": round(float(done), 2),
                              "total": round(float(total), 2), "message": message,
                              "overall": _rounded(overall, 4), "eta_s": _rounded(eta_s, 1)}
    if report is not None:
        fields["report"] = {key: _number(value) if isinstance(value, float) else value
                            for key, value in report.items()}
    return _event("warmup", **fields)


def started(*, config: Mapping[str, Any], device: str, devices: int, parameters: int, step: int,
            epoch: int, resumed_from: str | None, train_utterances: int,
            validation_utterances: int, steps_per_epoch: int,
            base: Mapping[str, Any] | None = None, frozen: Sequence[str] = ()) -> Event:
    """`frozen`: the generator parts kept as the base has them (config.FREEZABLE names)."""
    return _event("started", config=dict(config), device=device, devices=int(devices),
                  parameters=int(parameters), frozen=[str(name) for name in frozen],
                  step=int(step), epoch=int(epoch),
                  resumed_from=resumed_from, train_utterances=int(train_utterances),
                  validation_utterances=int(validation_utterances),
                  steps_per_epoch=int(steps_per_epoch), base=None if base is None else dict(base))


def preparing(*, done: float, total: float, message: str) -> Event:
    return _event("preparing", done=round(float(done), 2), total=round(float(total), 2),
                  message=message)


def prepared(*, train: int, validation: int, dropped: Sequence[Mapping[str, str]],
             unknown_phonemes: Sequence[str], seconds: float) -> Event:
    return _event("prepared", train=int(train), validation=int(validation),
                  dropped=[dict(item) for item in dropped],
                  unknown_phonemes=list(unknown_phonemes), seconds=round(float(seconds), 2))


def step(*, step: int, epoch: int, losses: Mapping[str, Any], lr: float | None,
         steps_per_s: float | None, eta_s: float | None) -> Event:
    return _event("step", step=int(step), epoch=int(epoch), losses=_losses(losses),
                  lr=_number(lr), steps_per_s=_rounded(steps_per_s, 3), eta_s=_rounded(eta_s, 1))


def validation(*, step: int, epoch: int, losses: Mapping[str, Any]) -> Event:
    return _event("validation", step=int(step), epoch=int(epoch), losses=_losses(losses))


def checkpoint(*, step: int, epoch: int, path: os.PathLike | str, reason: str) -> Event:
    return _event("checkpoint", step=int(step), epoch=int(epoch), path=str(path), reason=reason)


def preview(*, step: int, epoch: int, previews: Sequence[Mapping[str, Any]],
            likeness: float | None = None, pitch: Mapping[str, Any] | None = None) -> Event:
    """`likeness` and `pitch` are the round's: its mean similarity on the run's scale
    (likeness.py), its previews' voiced frames pooled (previews.round_pitch)."""
    items = [{"path": str(p.get("path")), "text": p.get("text"), "heard": p.get("heard"),
              "wer": _number(p.get("wer")), "pitch": _pitch(p.get("pitch")),
              "similarity": _number(p.get("similarity")), "likeness": _number(p.get("likeness")),
              "naturalness": _number(p.get("naturalness"))} for p in previews]
    return _event("preview", step=int(step), epoch=int(epoch), previews=items,
                  wer=_mean(item["wer"] for item in items), pitch=_pitch(pitch),
                  similarity=_mean(item["similarity"] for item in items), likeness=_number(likeness),
                  naturalness=_mean(item["naturalness"] for item in items))


def _mean(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return _number(sum(present) / len(present)) if present else None


def _pitch(value: Any) -> dict[str, Any] | None:
    """A preview's pitch numbers (training/pitch.py) as JSON-safe plain data, or None."""
    if not isinstance(value, Mapping):
        return None
    return {key: (_number(item) if isinstance(item, float) else item) for key, item in value.items()}


def exported(*, path: os.PathLike | str, config: os.PathLike | str, verified: bool,
             heard: str = "") -> Event:
    return _event("exported", path=str(path), config=str(config), verified=bool(verified),
                  heard=heard)


def heartbeat(*, step: int | None, phase: str, since_step_s: float | None) -> Event:
    return _event("heartbeat", step=step, phase=phase, since_step_s=_rounded(since_step_s, 1))


def stopped(*, step: int, epoch: int, checkpoint: os.PathLike | str | None, reason: str,
            during: str = "training") -> Event:
    return _event("stopped", step=int(step), epoch=int(epoch),
                  checkpoint=None if checkpoint is None else str(checkpoint), reason=reason,
                  during=during)


def finished(*, step: int, epoch: int, checkpoint: os.PathLike | str) -> Event:
    return _event("finished", step=int(step), epoch=int(epoch), checkpoint=str(checkpoint))


def error(*, message: str, hint: str = "", kind: str = "internal", traceback: str = "") -> Event:
    return _event("error", message=message, hint=hint, kind=kind, traceback=traceback)


def _rounded(value: float | None, digits: int) -> float | None:
    number = _number(value)
    return None if number is None else round(number, digits)


# -- encoding and parsing ------------------------------------------------------------------------
def encode(event: Mapping[str, Any]) -> str:
    """One line of JSON (no newline inside: json escapes them), without the trailing newline."""
    return json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def parse_line(line: str | bytes) -> Event | None:
    """The event on one line, or None for anything that is not a version-1 event."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("v") != VERSION or event.get("type") not in TYPES:
        return None
    return event


def read_events(path: os.PathLike | str) -> list[Event]:
    """Every readable event in an events.jsonl, in order; [] when the file does not exist."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return []
    events = []
    for raw in data.split(b"\n"):
        event = parse_line(raw)
        if event is not None:
            events.append(event)
    return events


def iter_lines(stream: IO[bytes] | IO[str]) -> Iterator[Event]:
    """Events from a stream (a pipe), line by line, skipping lines that are not events."""
    for raw in stream:
        event = parse_line(raw)
        if event is not None:
            yield event


def training_history(events: Iterable[Mapping[str, Any]]) -> dict[str, list[Event]]:
    """Step, validation and preview events as a chart should show them.

    After a kill, the trainer resumes from its last checkpoint, so the log holds steps it
    trained twice. A `started` event with a step earlier than logged steps rewinds the
    history: the later steps of the abandoned attempt are dropped.
    """
    history: dict[str, list[Event]] = {"step": [], "validation": [], "preview": []}
    for event in events:
        kind = event.get("type")
        if kind == "started":
            resume = int(event.get("step") or 0)
            for key in history:
                history[key] = [e for e in history[key] if int(e.get("step") or 0) <= resume]
        elif kind in history:
            history[kind].append(dict(event))
    return history


def last_terminal(events: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The last stopped/finished/error event if nothing started after it, else None."""
    for event in reversed(events):
        kind = event.get("type")
        if kind in TERMINAL_TYPES:
            return event
        if kind == "started":
            return None
    return None


# -- writing -------------------------------------------------------------------------------------
class EventWriter:
    """Writes events to a stream (the trainer's stdout) and appends them to events.jsonl.

    Thread-safe: the training loop and the heartbeat thread share one writer. When the
    reader of the stream goes away (the GUI crashed), writing to the stream stops and
    training goes on, logging to the file only. `fsync=True` on `emit` makes the line
    durable (used for checkpoints and the final events, so the log matches the files).
    """

    def __init__(self, log_path: os.PathLike | str | None, stream: IO[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._stream = stream
        self._file: IO[bytes] | None = None
        if log_path is not None:
            path = Path(log_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            _repair_tail(path)
            self._file = open(path, "ab")

    def emit(self, event: Event, *, fsync: bool = False) -> None:
        line = encode(event)
        with self._lock:
            if self._file is not None and event.get("type") not in STDOUT_ONLY_TYPES:
                self._file.write(line.encode("utf-8") + b"\n")
                self._file.flush()
                if fsync:
                    os.fsync(self._file.fileno())
            if self._stream is not None:
                try:
                    self._stream.write(line + "\n")
                    self._stream.flush()
                except (BrokenPipeError, OSError, ValueError):
                    self._stream = None  # nobody listens any more; the file still has it all

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _repair_tail(path: Path) -> None:
    """Cut a half-written last line (a kill mid-write) so the next event starts a line."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with open(path, "rb+") as handle:
        start = max(0, size - 65536)
        handle.seek(start)
        tail = handle.read()
        if tail.endswith(b"\n"):
            return
        cut = tail.rfind(b"\n")
        if cut >= 0:
            handle.truncate(start + cut + 1)
        elif start == 0:
            handle.truncate(0)  # the only line is broken
        else:  # one enormous broken line: end it rather than guess where it began
            handle.seek(0, io.SEEK_END)
            handle.write(b"\n")
