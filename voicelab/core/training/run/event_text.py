"""Training events and voice scores in the words a person reads, the same in the GUI and the CLI.

The Training tab's log, progress bar and status bar, the previews list, the checkpoint
table, the export messages and `voicelab-cli train` all say the same things about a run: a
warm-up's stage and time left, a stop that kept its work, a preview round's scores. Each is
written here once, so the two shells cannot drift apart. Plain strings, no Qt.

The scores read as: WER "12%" (words Whisper heard wrong), likeness "0.42" (0 the voice the
run started from, 1 the dataset's speaker; below 0 or above 1 is possible), naturalness
"3.4 / 5" (DNSMOS); "–" where a score is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from voicelab.core.progress import format_time_left

UNKNOWN = "–"
#: A warm-up stage (warmup.py) as (what happens, what its steps count).
_WARMUP_STAGES = {
    "speaking": ("the base voice speaks its warm-up sentences", "sentence"),
    "encoder": ("teaching the posterior encoder", "step"),
    "discriminator": ("teaching the discriminator", "step"),
}


def as_number(value: Any) -> float | None:
    """A score of an event as a float, None where it is missing or not a number."""
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def wer_text(value: Any) -> str:
    number = as_number(value)
    return UNKNOWN if number is None else f"{100 * number:.0f}%"


def likeness_text(value: Any) -> str:
    number = as_number(value)
    return UNKNOWN if number is None else f"{number:.2f}"


def naturalness_text(value: Any) -> str:
    number = as_number(value)
    return UNKNOWN if number is None else f"{number:.1f} / 5"


def scores_text(scores: Mapping[str, Any]) -> str:
    """"WER 12%, likeness 0.42, naturalness 3.4 / 5" from a preview event (or any mapping with
    those keys); a score that is unknown is left out, "no scores" when all are."""
    parts = [f"{label} {text(scores.get(key))}" for key, label, text in
             (("wer", "WER", wer_text), ("likeness", "likeness", likeness_text),
              ("naturalness", "naturalness", naturalness_text)) if as_number(scores.get(key)) is not None]
    return ", ".join(parts) or "no scores"


def preview_text(event: Mapping[str, Any]) -> str:
    """One line for a preview round: its step, its clips and its scores."""
    step = event.get("step")
    when = f"step {step}" + (" (the voice before training)" if step == 0 else "")
    clips = len(event.get("previews") or [])
    scores = scores_text(event)
    if as_number(event.get("wer")) is None:
        scores = "no WER (no Whisper model)" + ("" if scores == "no scores" else f", {scores}")
    return f"Previews at {when}: {clips} clip(s), {scores}"


def warmup_status(event: Mapping[str, Any], *, time_left: bool = True) -> str:
    """Where a voice base's warm-up is, from a `warmup` event: "Warm-up · teaching the
    posterior encoder: step 120 of 300 · 1 min left" (the time left is the whole warm-up's;
    `time_left=False` leaves it out for a bar that shows it itself)."""
    stage = event.get("stage")
    if stage == "cached":
        return "Warm-up taken from the cache"
    if stage == "done":
        report = event.get("report") or {}
        if report.get("cached"):
            return "Warm-up taken from the cache"
        if report.get("skipped"):
            return f"Warm-up skipped: {report['skipped']}"
        if report.get("clips") is not None:
            return f"Warm-up done ({report.get('clips')} clips, {report.get('seconds')} s)"
        return "Warm-up done"
    if stage not in _WARMUP_STAGES:
        message = str(event.get("message") or "")
        return "Warm-up" + (f" · {message}" if message else "")
    what, unit = _WARMUP_STAGES[str(stage)]
    done, total = int(as_number(event.get("done")) or 0), int(as_number(event.get("total")) or 0)
    text = f"Warm-up · {what}: {unit} {done:,} of {total:,}"
    eta = as_number(event.get("eta_s"))
    if time_left and eta is not None:
        text += f" · {format_time_left(eta)}"
    return text


def warmup_fraction(event: Mapping[str, Any]) -> float | None:
    """The share of the whole warm-up done (0–1), None when it cannot be told. Older logs
    have no `overall`: their stage's own share stands in."""
    overall = as_number(event.get("overall"))
    if overall is None:
        total = as_number(event.get("total")) or 0.0
        overall = (as_number(event.get("done")) or 0.0) / total if total else None
    return None if overall is None else max(0.0, min(1.0, overall))


def stopped_text(event: Mapping[str, Any]) -> str:
    """What a `stopped` event means for the run, and what Resume will do."""
    who = "by you" if event.get("reason") == "user" else "by a signal"
    during = event.get("during")
    if during == "warmup":
        return f"Stopped {who} during the warm-up; its work is kept and Resume continues it."
    checkpoint = event.get("checkpoint")
    name = Path(str(checkpoint)).name if checkpoint else "none"
    return f"Stopped {who} at step {event.get('step')}; checkpoint {name}. Resume continues from there."


def frozen_text(event: Mapping[str, Any]) -> str:
    """"; kept as the base has them: posterior encoder, text encoder" for a started event."""
    frozen = [str(name).replace("_", " ") for name in event.get("frozen") or []]
    return f"; kept as the base has them: {', '.join(frozen)}" if frozen else ""


def _num(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{float(value):.{digits}g}"


def _name(path: Any) -> str:
    return Path(str(path)).name if path else "none"


def event_line(event: Mapping[str, Any]) -> str | None:
    """One line for an event (several for an error), or None for events not worth a line:
    the Training tab's log and `voicelab-cli train` print the same lines."""
    kind = event.get("type")
    step, epoch = event.get("step"), event.get("epoch")
    if kind == "preparing":
        return f"Preparing the clips: {event.get('message') or ''}".rstrip(": ")
    if kind == "warmup":  # "cached" is followed by "done", which says so
        return None if event.get("stage") == "cached" else warmup_status(event)
    if kind == "prepared":
        dropped = event.get("dropped") or []
        line = (f"Data: {event.get('train')} training and {event.get('validation')} validation "
                f"clips, {float(event.get('seconds') or 0) / 60:.1f} min of audio")
        if dropped:
            reasons = "; ".join(f"{d.get('id')}: {d.get('reason')}" for d in dropped[:3])
            line += f". {len(dropped)} clip(s) left out ({reasons}{'; …' if len(dropped) > 3 else ''})"
        unknown = event.get("unknown_phonemes") or []
        if unknown:
            line += f". Unknown phonemes: {' '.join(unknown[:10])}"
        return line
    if kind == "started":
        line = (f"Training on {event.get('device')} ({event.get('devices')} device(s)), "
                f"{float(event.get('parameters') or 0) / 1e6:.1f} M parameters, "
                f"{event.get('steps_per_epoch')} steps per epoch")
        if event.get("resumed_from"):
            line += f"; resumed at step {step} from {_name(event.get('resumed_from'))}"
        base = event.get("base")
        if base:
            line += f"; base {_name(base.get('path'))}"
        return line + frozen_text(event)
    if kind == "step":
        losses = event.get("losses") or {}
        return (f"Epoch {epoch}, step {step}: loss_g {_num(losses.get('loss_g'))}, "
                f"mel {_num(losses.get('mel'))}, {_num(event.get('steps_per_s'))} steps/s")
    if kind == "validation":
        losses = event.get("losses") or {}
        return (f"Validation at step {step}: mel {_num(losses.get('mel'))}, "
                f"loss_g {_num(losses.get('loss_g'))}")
    if kind == "checkpoint":
        return f"Checkpoint at step {step} ({event.get('reason')}): {_name(event.get('path'))}"
    if kind == "preview":
        return preview_text(event)
    if kind == "exported":
        state = "verified" if event.get("verified") else "NOT verified"
        return f"Exported the voice {event.get('path')} ({state})"
    if kind == "stopped":
        return stopped_text(event)
    if kind == "finished":
        return f"Finished at step {step}; final checkpoint {_name(event.get('checkpoint'))}."
    if kind == "error":
        line = f"Error ({event.get('kind') or 'internal'}): {event.get('message')}"
        if event.get("hint"):
            line += f"\n    Hint: {event['hint']}"
        return line
    return None


def total_steps(config: Mapping[str, Any], steps_per_epoch: Any) -> int | None:
    """The step a run ends at (its `started` event's config and steps per epoch), or None
    when it is open-ended."""
    totals = []
    if config.get("max_steps"):
        totals.append(int(config["max_steps"]))
    if config.get("max_epochs") and steps_per_epoch:
        totals.append(int(config["max_epochs"]) * int(steps_per_epoch))
    return min(totals) if totals else None
