"""Which checkpoints of a run to keep, which is best, and the ranking file the GUI shows.

A real checkpoint is hundreds of MB (weights plus optimizer state), and a run writes one
per epoch, so a run would fill a disk without pruning. After every checkpoint the trainer
calls `update_ranking`: it reads the run's `events.jsonl` (through `events.read_events`,
the protocol's only parser), gives each checkpoint on disk its validation mel loss and its
preview round (WER, likeness), keeps the newest (training resumes from it), the best, and
the `keep_best` best by mel and by WER, deletes the rest, and writes
`checkpoints/ranking.json` atomically.

"Best" (`best_checkpoint`, what export picks by default) is the voice most like the
speaker among those that can be understood. WER is a gate, because a voice that cannot be
understood is useless however much it sounds like someone: a checkpoint passes when its
preview WER is at most `WER_TOLERANCE` above the lowest preview WER of the run's
checkpoints (tiny.en on a few sentences moves in coarse, noisy steps, so such WERs count as
equal) and at most `INTELLIGIBLE_WER`. Among those that pass, the highest likeness
(likeness.py: 0 the voice the run started from, 1 the dataset's speaker) wins, then the
validation mel loss (piper's raw mel L1, its recommended quality signal). Checkpoints that
fail the gate follow, lowest WER first. Without likeness (older runs, no speaker encoder)
this is what it always was: lowest WER (within the tolerance) first, then mel; without
previews, mel decides alone. A checkpoint with no score at all is never "best": right after
a Stop, the checkpoint just saved has had no validation or preview round yet, and calling
it best (as the newest once was, when nothing had a score) recommended a voice nobody had
heard. Until something is scored there is no best, only the newest, which resume uses.

A checkpoint is matched to the validation and preview of its own step; when none has that
exact step, to the latest one since the previous checkpoint (a checkpoint written at a
step interval after an epoch's validation). The step-0 preview round speaks for the voice
the run started from, never for a trained checkpoint. `preview_for` gives the round that
scores one checkpoint by the same rule (what export shows and checks). Only `.ckpt` files
inside the run folder that a `checkpoint` event names are ever deleted.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

PathLike = Union[str, "os.PathLike[str]"]
RANKING_FILE = "ranking.json"
WER_TOLERANCE = 0.05
#: Above this preview WER a voice is not intelligible yet: never best over one below it, and
#: export asks first (export_check.py).
INTELLIGIBLE_WER = 0.5
_MEL_KEYS = ("mel", "val_mel")


@dataclass(frozen=True)
class RankedCheckpoint:
    """One kept checkpoint with its scores; `rank` 1 is the best."""

    path: Path
    step: int
    epoch: int | None
    mel: float | None  # validation mel L1 (lower is better)
    wer: float | None  # mean preview WER (lower is better)
    rank: int
    reasons: tuple[str, ...]  # why it is kept: "best", "last", "mel", "wer"
    likeness: float | None = None  # the preview round's likeness (higher is better)

    @property
    def scored(self) -> bool:
        """True once a validation or preview round has scored it."""
        return any(value is not None for value in (self.mel, self.wer, self.likeness))

    @property
    def is_best(self) -> bool:
        # `scored` too: a ranking file written before unscored checkpoints lost "best".
        return "best" in self.reasons and self.scored

    @property
    def is_last(self) -> bool:
        return "last" in self.reasons

    def to_dict(self, run_dir: Path) -> dict[str, Any]:
        try:
            shown = self.path.relative_to(run_dir).as_posix()
        except ValueError:
            shown = str(self.path)
        return {"path": shown, "step": self.step, "epoch": self.epoch, "mel": self.mel,
                "wer": self.wer, "likeness": self.likeness, "rank": self.rank,
                "reasons": list(self.reasons)}


@dataclass
class _Candidate:
    path: Path
    step: int
    epoch: int | None
    order: int  # position in the log, to break step ties
    mel: float | None = None
    preview: Mapping[str, Any] | None = None  # the preview event that scores it

    @property
    def wer(self) -> float | None:
        return _finite((self.preview or {}).get("wer"))

    @property
    def likeness(self) -> float | None:
        return _finite((self.preview or {}).get("likeness"))


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _mel(event: Mapping[str, Any]) -> float | None:
    losses = event.get("losses") or {}
    for key in _MEL_KEYS:
        if key in losses:
            return _finite(losses[key])
    return None


def _resolve(run_dir: Path, raw: str) -> Path | None:
    """The checkpoint file an event names, also when the run folder has moved."""
    path = Path(raw)
    candidates = [path if path.is_absolute() else run_dir / path]
    candidates.append(run_dir / "checkpoints" / path.name)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _candidates(run_dir: Path, events: Sequence[Mapping[str, Any]]) -> list[_Candidate]:
    by_path: dict[Path, _Candidate] = {}
    for order, event in enumerate(events):
        if event.get("type") != "checkpoint" or not event.get("path"):
            continue
        path = _resolve(run_dir, str(event["path"]))
        if path is None:
            continue
        key = path.resolve()
        by_path[key] = _Candidate(path=path, step=int(event.get("step") or 0),
                                  epoch=event.get("epoch"), order=order)
    return sorted(by_path.values(), key=lambda c: (c.step, c.order))


def _attach(candidates: list[_Candidate], scored: Iterable[tuple[int, Any]], field: str) -> None:
    """Give each checkpoint the score of its step, else the latest since the previous one.

    The previous one of the first checkpoint is step 0, where the run started: a score of
    step 0 (the step-0 previews of the voice before training) belongs to no trained
    checkpoint."""
    values = [(step, value) for step, value in scored if value is not None]
    previous_step = 0
    for candidate in candidates:
        exact = [value for step, value in values if step == candidate.step]
        window = [value for step, value in values if previous_step < step <= candidate.step]
        chosen = exact[-1] if exact else (window[-1] if window else None)
        setattr(candidate, field, chosen)
        previous_step = candidate.step


def _wer_key(candidate: _Candidate) -> tuple:
    """Lowest WER first (WERs within `WER_TOLERANCE` count as equal), then lowest mel."""
    wer = candidate.wer
    wer_bucket = math.floor(wer / WER_TOLERANCE + 1e-9) if wer is not None else math.inf
    mel = candidate.mel if candidate.mel is not None else math.inf
    return (wer_bucket, mel, -candidate.step, -candidate.order)


def _has_score(candidate: _Candidate) -> bool:
    return candidate.mel is not None or candidate.wer is not None or candidate.likeness is not None


def _best_key(candidates: Sequence[_Candidate]):
    """The sort key of "best" (module docstring): scored at all, the WER gate, likeness, then
    `_wer_key`."""
    wers = [c.wer for c in candidates if c.wer is not None]
    gate = min(min(wers) + WER_TOLERANCE, INTELLIGIBLE_WER) + 1e-9 if wers else None

    def key(candidate: _Candidate) -> tuple:
        passes = gate is not None and candidate.wer is not None and candidate.wer <= gate
        likeness = candidate.likeness if passes else None
        return (not _has_score(candidate), not passes, likeness is None,
                -(likeness or 0.0)) + _wer_key(candidate)

    return key


def rank(candidates: Sequence[_Candidate], keep_best: int) -> list[tuple[_Candidate, tuple[str, ...]]]:
    """The checkpoints to keep, best first, with the reasons each is kept."""
    if not candidates:
        return []
    reasons: dict[int, list[str]] = {id(c): [] for c in candidates}
    ordered = sorted(candidates, key=_best_key(candidates))
    if _has_score(ordered[0]):  # the scored sort first: none scored, none best
        reasons[id(ordered[0])].append("best")
    last = max(candidates, key=lambda c: (c.step, c.order))
    reasons[id(last)].append("last")
    by_mel = sorted((c for c in candidates if c.mel is not None), key=lambda c: (c.mel, -c.step))
    for c in by_mel[:keep_best]:
        reasons[id(c)].append("mel")
    by_wer = sorted((c for c in candidates if c.wer is not None), key=_wer_key)
    for c in by_wer[:keep_best]:
        reasons[id(c)].append("wer")
    if not by_mel and not by_wer:  # nothing scored yet: keep the newest few
        for c in sorted(candidates, key=lambda c: (-c.step, -c.order))[:keep_best]:
            reasons[id(c)].append("recent")
    return [(c, tuple(reasons[id(c)])) for c in ordered if reasons[id(c)]]


def _scored(folder: Path) -> tuple[list[_Candidate], list]:
    """(every checkpoint on disk with its mel and preview round, the run's events)."""
    from voicelab.core.training.run.events import read_events, training_history

    events = read_events(folder / "events.jsonl")
    history = training_history(events)
    candidates = _candidates(folder, events)
    _attach(candidates, ((int(e.get("step") or 0), _mel(e)) for e in history["validation"]), "mel")
    _attach(candidates, ((int(e.get("step") or 0), e) for e in history["preview"]), "preview")
    return candidates, events


def _ranked(folder: Path, keep_best: int) -> tuple[list[_Candidate], list[RankedCheckpoint], set]:
    """(every checkpoint on disk, the kept ones best first, ids of the kept candidates)."""
    candidates, _events = _scored(folder)
    kept = rank(candidates, keep_best)
    ranked = [
        RankedCheckpoint(path=c.path, step=c.step, epoch=c.epoch, mel=c.mel, wer=c.wer,
                         rank=index, reasons=reasons, likeness=c.likeness)
        for index, (c, reasons) in enumerate(kept, start=1)
    ]
    return candidates, ranked, {id(c) for c, _ in kept}


def preview_for(run_dir: PathLike, checkpoint: PathLike) -> Mapping[str, Any] | None:
    """The preview event that scores `checkpoint` (the rule of the module docstring), or None.

    A checkpoint the log does not name is matched as if it were the run's only one: the
    round of its step (from its file name), else the latest round before it."""
    from voicelab.core.training.run.events import training_history
    from voicelab.core.training.run.runs import checkpoint_step

    candidates, events = _scored(Path(run_dir))
    wanted = Path(checkpoint).resolve()
    for candidate in candidates:
        if candidate.path.resolve() == wanted:
            return candidate.preview
    step = checkpoint_step(Path(checkpoint))
    if step is None:
        return None
    alone = _Candidate(path=Path(checkpoint), step=step, epoch=None, order=0)
    _attach([alone], ((int(e.get("step") or 0), e) for e in training_history(events)["preview"]),
            "preview")
    return alone.preview


def update_ranking(run_dir: PathLike, *, keep_best: int = 3, delete: bool = True
                   ) -> list[RankedCheckpoint]:
    """Rank the run's checkpoints, delete the ones not kept, write the ranking file.

    Returns the kept checkpoints, best first. `keep_best` counts per measure (mel, WER),
    so with the best and the newest up to 2 × keep_best + 2 checkpoints stay (the best by
    likeness may be neither). A checkpoint with no score of its own
    (written between validations) is kept only while it is the newest. With
    `delete=False` nothing is deleted (the ranking lists the ones that would be kept).
    """
    from voicelab.core.fileio import atomic_write_text

    folder = Path(run_dir)
    keep_best = max(1, int(keep_best))
    candidates, ranked, kept_ids = _ranked(folder, keep_best)
    deleted: list[str] = []
    if delete:
        for candidate in candidates:
            if id(candidate) in kept_ids:
                continue
            path = candidate.path
            if path.suffix == ".ckpt" and _inside(path, folder):
                try:
                    path.unlink()
                    deleted.append(path.name)
                except FileNotFoundError:
                    pass
                except OSError:  # in use (Windows) or read-only: keep it, try next time
                    continue
    document = {
        "v": 1,
        "updated": round(time.time(), 3),
        "keep_best": keep_best,
        "wer_tolerance": WER_TOLERANCE,
        "intelligible_wer": INTELLIGIBLE_WER,
        "best": next((r.to_dict(folder)["path"] for r in ranked if r.is_best), None),
        "last": next((r.to_dict(folder)["path"] for r in ranked if r.is_last), None),
        "checkpoints": [r.to_dict(folder) for r in ranked],
        "deleted": deleted,
    }
    target = folder / "checkpoints" / RANKING_FILE
    atomic_write_text(target, json.dumps(document, ensure_ascii=False, indent=2))
    return ranked


def read_ranking(run_dir: PathLike) -> list[RankedCheckpoint]:
    """The ranking file's checkpoints that still exist, best first; [] when there is none."""
    folder = Path(run_dir)
    try:
        document = json.loads((folder / "checkpoints" / RANKING_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    ranked = []
    for item in document.get("checkpoints") or []:
        path = _resolve(folder, str(item.get("path") or ""))
        if path is None:
            continue
        ranked.append(RankedCheckpoint(
            path=path, step=int(item.get("step") or 0), epoch=item.get("epoch"),
            mel=_finite(item.get("mel")), wer=_finite(item.get("wer")),
            rank=int(item.get("rank") or len(ranked) + 1), reasons=tuple(item.get("reasons") or ()),
            likeness=_finite(item.get("likeness")),  # absent from files written before likeness
        ))
    return ranked


def current_ranking(run_dir: PathLike) -> list[RankedCheckpoint]:
    """The ranking file's checkpoints, or, where it is missing or names none that still
    exist, the ranking computed from events.jsonl with their scores (nothing written, nothing
    deleted: the trainer may be writing). What a view of the run shows."""
    ranked = read_ranking(run_dir)
    if ranked:
        return ranked
    _, recomputed, _ = _ranked(Path(run_dir), 1)
    return recomputed


def best_checkpoint(run_dir: PathLike) -> Path | None:
    """The checkpoint to export by default: the ranking's best that still exists.

    Recomputed from events.jsonl (nothing written, nothing deleted) when the ranking file
    is missing or its best is gone; None when the run has no checkpoint with a score yet.
    """
    best = [r for r in read_ranking(run_dir) if r.is_best]
    if best:
        return best[0].path
    _, recomputed, _ = _ranked(Path(run_dir), 1)
    return next((r.path for r in recomputed if r.is_best), None)
