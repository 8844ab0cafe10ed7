"""Before a checkpoint becomes a voice: is it ready, and what does the export prove?

An export proves that the voice *loads and speaks* (verify_voice.py: piper loads it in a
fresh process and it says a sentence). It cannot prove the voice is any good: a checkpoint
of step 8 exports as well as one of step 8000. The preview round that scores the checkpoint
(ranking.preview_for, the same match the ranking makes) can, so export shows its scores and,
before exporting, says in plain words what is wrong with a voice that is not ready:

* preview WER above `ranking.INTELLIGIBLE_WER`: Whisper understood fewer than half of its
  words (the voice is not intelligible yet);
* likeness below 0: it sounds less like the dataset's speaker than the voice the run
  started from (likeness.py).

The GUI asks "keep training?" and the CLI refuses without `--force` when there are concerns.
A checkpoint no preview round scores (previews off) has no concerns, and its scores are said
to be unknown rather than guessed; after its export, the test sentence Whisper heard is its
score (`heard_concerns`), and a voice Whisper cannot understand is reported as not ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicelab.core.training.run.event_text import as_number, likeness_text, scores_text, wer_text


@dataclass(frozen=True)
class ExportCheck:
    """The scores of the checkpoint to export and what speaks against exporting it."""

    checkpoint: Path
    step: int | None  # the step of the preview round that scores it; None when none does
    wer: float | None
    likeness: float | None
    naturalness: float | None
    concerns: tuple[str, ...]

    @property
    def scores(self) -> str:
        """"Scores at step 8: WER 96%, likeness -0.12, naturalness 2.1 / 5." or why there are none."""
        if self.step is None:
            return ("Its scores are unknown: no preview round scored this checkpoint (previews are "
                    "off, or none ran since the checkpoint before it).")
        scores = {"wer": self.wer, "likeness": self.likeness, "naturalness": self.naturalness}
        return f"Scores at step {self.step}: {scores_text(scores)}."


def speaker_name(run_dir: Path) -> str:
    """Who the run's dataset speaks as: its dataset's folder name."""
    from voicelab.core.errors import VoiceLabError
    from voicelab.core.training.run import runs

    try:
        config, _lineage = runs.load_run(Path(run_dir))
    except VoiceLabError:
        return "the dataset's speaker"
    return Path(config.dataset).name or "the dataset's speaker"


def check_export(run_dir: Path, checkpoint: Path) -> ExportCheck:
    """The scores of `checkpoint` in `run_dir` and the concerns about exporting it."""
    from voicelab.core.training.run.ranking import INTELLIGIBLE_WER, preview_for

    preview = preview_for(run_dir, checkpoint) or {}
    step = preview.get("step")
    wer, likeness = as_number(preview.get("wer")), as_number(preview.get("likeness"))
    concerns = []
    if wer is not None and wer > INTELLIGIBLE_WER:
        concerns.append(f"This voice is not intelligible yet: WER {wer_text(wer)} at step {step}.")
    if likeness is not None and likeness < 0:
        concerns.append(f"It sounds less like {speaker_name(run_dir)} than the voice it started from "
                        f"(likeness {likeness_text(likeness)} at step {step}).")
    return ExportCheck(checkpoint=Path(checkpoint), step=None if not preview else int(step or 0),
                       wer=wer, likeness=likeness, naturalness=as_number(preview.get("naturalness")),
                       concerns=tuple(concerns))


def heard_concerns(result: Any) -> tuple[str, ...]:
    """What the export's own test sentence says against the voice: Whisper understood too
    little of it. This is the only score a checkpoint no preview round scored has, and a
    voice that is pure noise must not be called ready because it loads and makes sound."""
    from voicelab.core.training.run.ranking import INTELLIGIBLE_WER

    wer = as_number(getattr(result, "wer", None))
    if wer is None or wer <= INTELLIGIBLE_WER:
        return ()
    return (f"Whisper understood little of its test sentence (WER {wer_text(wer)}): this voice "
            "is not intelligible yet.",)


def export_summary(result: Any, check: ExportCheck | None) -> str:
    """What an export (export.ExportResult) proved, and the voice's scores."""
    wer = as_number(getattr(result, "wer", None))
    heard = (f" (Whisper heard “{result.heard}”" + (f", WER {wer_text(wer)}" if wer is not None else "")
             + ")") if result.heard or wer is not None else ""
    text = (f"Checked: it loads in a fresh process and speaks{heard}." if result.verified else
            "It did NOT pass its check (load in a fresh process and speak).")
    return text if check is None else f"{text} {check.scores}"
