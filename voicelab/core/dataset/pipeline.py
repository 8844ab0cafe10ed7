"""Recordings in, clips out: the one entry point the Dataset tab and the CLI call.

For each recording: check it (`ingest`), copy it into the dataset (`Dataset.add_source`,
which also recognises a file it already holds by its content hash), decode it once into
the dataset's working copy, transcribe it (`asr`) or find its speech (`vad`), cut it
(`slicing`) and hand the cuts to the store, which writes the clips and saves.

Memory stays flat with a recording's length: decoding streams into the working copy, and
the rest reads it back in windows of at most ten minutes (`asr.speech_windows`) that are
transcribed, checked and cut one at a time. Each window's speech is also found by voice
activity detection, so speech the recognizer skipped is listened to again and the share of
the speech that ended up in clips is saved on the source (`coverage`); a low share comes
back as a warning in the report and shows in the Dataset tab.

Why it can be stopped at any moment and resumed:

- a source is marked "done" only after its clips are saved, in one store call each, so a
  cancel, a crash or a kill leaves sources "pending" and never half a source's clips;
- `process_pending` (and the next `add_recordings`) picks the pending ones up again, and
  `Dataset.replace_source_clips` drops whatever un-edited clips a source had first, so
  nothing is duplicated;
- clips the user edited are never replaced: the store keeps them and drops new cuts that
  overlap them.

Progress is reported in seconds of audio (`progress(done, total, "file 3/10: name.wav")`),
because that is what the time taken follows; Cancel is honoured within about a second.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voicelab.core.audio import resample
from voicelab.core.dataset.asr import ASR_RATE, ASROptions, Transcriber, pull_cancellable, speech_windows
from voicelab.core.dataset.coverage import coverage_warning, covered_seconds, listen_again, merged
from voicelab.core.dataset.ingest import (
    Decoded,
    FileProblem,
    decode_to,
    file_sha256,
    find_audio,
    header_seconds,
    problem_from,
)
from voicelab.core.dataset.records import Clip, NewClip, Source, _reviewed
from voicelab.core.dataset.slicing import (
    Cut,
    SliceOptions,
    confidence_figures,
    join_words,
    slice_regions,
    slice_transcript,
)
from voicelab.core.dataset.store import Dataset
from voicelab.core.dataset.transcribers import load_transcriber
from voicelab.core.errors import Cancelled, VoiceLabError
from voicelab.core.progress import CancelToken, ProgressCallback, no_progress

MODES = ("transcribe", "vad")


@dataclass(frozen=True)
class PipelineOptions:
    """How recordings become clips; saved in the dataset so a resume uses the same.

    `loudness_db`: when set (e.g. -20.0), every clip is scaled to that RMS level in dBFS,
    with its peak kept under -1 dBFS (a plain RMS gain per clip, applied by the store when
    it writes the clip; LUFS weighting buys little for single-speaker speech).
    """

    asr: ASROptions = ASROptions()
    slicing: SliceOptions = SliceOptions()
    mode: str = "transcribe"  # or "vad": cut at pauses only, no text
    loudness_db: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {"asr": self.asr.to_dict(), "slicing": dataclasses.asdict(self.slicing),
                "mode": self.mode, "loudness_db": self.loudness_db}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> PipelineOptions:
        data = dict(data or {})
        names = {f.name for f in dataclasses.fields(SliceOptions)}
        slicing = {k: v for k, v in dict(data.get("slicing") or {}).items() if k in names}
        mode = data.get("mode") if data.get("mode") in MODES else "transcribe"
        loudness = data.get("loudness_db")
        return cls(asr=ASROptions.from_dict(dict(data.get("asr") or {})),
                   slicing=SliceOptions(**slicing), mode=str(mode),
                   loudness_db=float(loudness) if isinstance(loudness, (int, float)) else None)


@dataclass
class AddReport:
    files_added: int = 0
    files_skipped: list[FileProblem] = field(default_factory=list)
    clips_added: int = 0
    seconds_processed: float = 0.0
    warnings: list[str] = field(default_factory=list)  # e.g. clips that hold too little speech


class AddCancelled(Cancelled):
    """Cancel pressed during `add_recordings`/`process_pending`; `report` says what got done."""

    def __init__(self, report: AddReport) -> None:
        super().__init__(f"Cancelled. {report.files_added} recording(s) and "
                         f"{report.clips_added} clip(s) were added before that and are kept.")
        self.report = report


@dataclass
class _Job:
    """One recording to process: a new file or a source already in the dataset."""

    name: str
    seconds: float  # estimate for progress, from the header
    path: Path | None = None
    source: Source | None = None


# --------------------------------------------------------------------------- entry points


def add_recordings(dataset: Dataset, paths: Iterable[os.PathLike],
                   options: PipelineOptions = PipelineOptions(), *, workspace=None,
                   transcriber: Transcriber | None = None,
                   progress: ProgressCallback | None = None,
                   cancel: CancelToken | None = None) -> AddReport:
    """Add files and folders to `dataset` and turn them into clips.

    Recordings already in the dataset are skipped (by content); sources left "pending" by
    an earlier run that was stopped are finished first. Bad files are listed in
    `files_skipped` and the rest goes on.
    """
    report = AddReport()
    files, problems = find_audio(paths)
    report.files_skipped.extend(problems)
    jobs = [_Job(s.file, s.duration, source=s) for s in dataset.sources if s.state == "pending"]
    inside = Path(dataset.path).resolve()
    for path in files:
        if inside in Path(path).resolve().parents:
            report.files_skipped.append(FileProblem(path, f"{path} is inside the dataset's own "
                                                          "folder; add the original recording."))
            continue
        try:
            seconds = header_seconds(path) or 0.0
        except VoiceLabError as exc:
            report.files_skipped.append(problem_from(path, exc))
            continue
        jobs.append(_Job(Path(path).name, seconds, path=Path(path)))
    return _run(dataset, jobs, options, report, workspace, transcriber, progress, cancel)


def process_pending(dataset: Dataset, options: PipelineOptions | None = None, *,
                    workspace=None, transcriber: Transcriber | None = None,
                    progress: ProgressCallback | None = None,
                    cancel: CancelToken | None = None, retry_failed: bool = True) -> AddReport:
    """(Re)process every source not "done": resume after a cancel, crash or kill.

    `options` default to the ones the dataset was last processed with.
    """
    if options is None:
        options = PipelineOptions.from_dict(dict(dataset.options.get("pipeline") or {}))
    states = ("pending", "failed") if retry_failed else ("pending",)
    jobs = [_Job(s.file, s.duration, source=s) for s in dataset.sources if s.state in states]
    return _run(dataset, jobs, options, AddReport(), workspace, transcriber, progress, cancel)


def retranscribe_clip(dataset: Dataset, clip_id: str, transcriber: Transcriber, *,
                      language: str | None = None,
                      cancel: CancelToken | None = None) -> Clip:
    """Transcribe one clip's audio again (the tab's "re-transcribe this clip").

    The clip keeps its bounds; its text, words and confidence are replaced and it counts
    as edited, so a later re-run of its recording leaves it alone.
    """
    clip = dataset.clip(clip_id)
    source = dataset.source(clip.source)
    samples = dataset.read_work_audio(source, clip.start, clip.end)
    audio = resample(samples, dataset.sample_rate, ASR_RATE)
    transcript = transcriber.transcribe(audio, language=language, cancel=cancel).shifted(clip.start)
    words = transcript.words
    logprob, no_speech = confidence_figures(words, transcript.segments)
    return dataset.update_transcript(
        clip_id, join_words(words) if words else transcript.text, _word_rows(words),
        avg_logprob=logprob, no_speech_prob=no_speech, language=transcript.language)


# --------------------------------------------------------------------------- the work


def _run(dataset: Dataset, jobs: list[_Job], options: PipelineOptions, report: AddReport,
         workspace, transcriber: Transcriber | None, progress: ProgressCallback | None,
         cancel: CancelToken | None) -> AddReport:
    progress = progress or no_progress
    if options.mode not in MODES:
        raise VoiceLabError(f"Unknown slicing mode '{options.mode}'; use one of {', '.join(MODES)}.")
    if not jobs:
        progress(0, 0, "Nothing to process")
        return report
    if options.mode == "transcribe" and transcriber is None:
        # Before any file is copied: a missing model should not leave sources behind.
        transcriber = load_transcriber(options.asr, workspace)
    dataset.set_options(pipeline=options.to_dict(), min_seconds=options.slicing.min_seconds,
                        max_seconds=options.slicing.max_seconds, language=options.asr.language,
                        loudness_db=options.loudness_db)
    for job in jobs:
        if not job.seconds and job.source is not None:
            job.seconds = _header_or_zero(dataset.source_path(job.source))
    total = sum(job.seconds for job in jobs)
    by_seconds = total > 0  # else (no durations known) count files
    total = total if by_seconds else float(len(jobs))
    done = 0.0
    for number, job in enumerate(jobs, 1):
        label = f"file {number}/{len(jobs)}: {job.name}"
        span = job.seconds if by_seconds else 1.0
        start_at = done

        def step(seconds: float, what: str, _start=start_at, _span=span, _label=label) -> None:
            inside = min(max(0.0, seconds), _span) if by_seconds else 0.0
            progress(min(total, _start + inside), total, f"{_label} — {what}")

        try:
            _raise_if_cancelled(cancel)
            added = _do_job(dataset, job, options, transcriber, report, step, cancel)
        except Cancelled:
            raise AddCancelled(report) from None
        done += span
        progress(min(total, done), total, label + (" — done" if added is not None else " — skipped"))
    return report


def _do_job(dataset: Dataset, job: _Job, options: PipelineOptions,
            transcriber: Transcriber | None, report: AddReport,
            step: Callable[[float, str], None], cancel: CancelToken | None) -> int | None:
    """Process one job; returns the clips added, or None when the file was skipped."""
    source = job.source
    if source is None:
        assert job.path is not None
        try:
            digest = file_sha256(job.path)
        except VoiceLabError as exc:
            report.files_skipped.append(problem_from(job.path, exc))
            return None
        held = next((s for s in dataset.sources if s.sha256 == digest), None)
        if held is not None and held.state == "done":
            report.files_skipped.append(FileProblem(
                job.path, f"{job.path} is already in the dataset (as {held.file}); skipped."))
            return None
        step(0.0, "decoding")
        # Decoded before the file is added, so a bad file leaves no source behind; under a
        # name of its content until it has a source id.
        incoming = dataset.path / "work" / f".incoming-{digest[:16]}.wav"
        try:
            decoded = _call_cancellable(
                lambda: decode_to(job.path, incoming, dataset.sample_rate, cancel), cancel)
        except Cancelled:
            raise
        except VoiceLabError as exc:
            report.files_skipped.append(problem_from(job.path, exc))
            return None
        try:
            source, _ = dataset.add_source(job.path, sha256=digest)
            os.replace(incoming, dataset.work_audio_path(source))
        except OSError as exc:  # the dataset's disk, not the user's file: stop the batch
            raise VoiceLabError(f"Could not copy {job.path} into {dataset.path / 'sources'}: "
                                f"{exc.strerror or exc}. Free some disk space and add it "
                                "again; what was added so far is kept.") from None
        finally:
            incoming.unlink(missing_ok=True)
        decoded = dataclasses.replace(decoded, work=dataset.work_audio_path(source))
    else:
        step(0.0, "decoding")
        try:
            decoded = _call_cancellable(lambda: decode_to(
                dataset.source_path(source), dataset.work_audio_path(source), dataset.sample_rate,
                cancel), cancel)
        except Cancelled:
            raise
        except VoiceLabError as exc:
            dataset.mark_source(source.id, "failed", error=str(exc))
            report.files_skipped.append(problem_from(dataset.source_path(source), exc))
            return None
    try:
        count = _process_source(dataset, source, decoded, options, transcriber, step, cancel)
    except Cancelled:
        raise
    except VoiceLabError as exc:
        dataset.mark_source(source.id, "failed", error=str(exc))
        report.files_skipped.append(FileProblem(Path(source.original), str(exc)))
        return None
    warning = coverage_warning(dataset.source(source.id))
    if warning:
        report.warnings.append(warning)
    report.files_added += 1
    report.clips_added += count
    report.seconds_processed += decoded.duration
    return count


def _header_or_zero(path: Path) -> float:
    try:
        return header_seconds(path) or 0.0
    except VoiceLabError:
        return 0.0


def _process_source(dataset: Dataset, source: Source, decoded: Decoded, options: PipelineOptions,
                    transcriber: Transcriber | None, step: Callable[[float, str], None],
                    cancel: CancelToken | None) -> int:
    """Working copy → windows → cuts → clips saved → source "done"; returns the clip count."""
    language: str | None = None  # the first window's, when the options say "auto"
    cuts: list[Cut] = []
    voiced: list[tuple[float, float]] = []
    for offset, window in speech_windows(decoded.work):
        _raise_if_cancelled(cancel)

        def at(done: float, total: float, message: str, _offset: float = offset) -> None:
            # Capped: a window resampled to 16 kHz may end a few samples past the recording.
            step(min(decoded.duration, _offset + done),
                 "finding speech" if options.mode == "vad" else "transcribing")

        found, regions, language = _window_cuts(window, options, transcriber, language, at, cancel)
        cuts.extend(cut.shifted(offset) for cut in found)
        voiced.extend((start + offset, end + offset) for start, end in regions)
    _raise_if_cancelled(cancel)  # the last point to stop: what follows is one store commit
    kept = [(c.start, c.end) for c in dataset.clips if c.source == source.id and _reviewed(c)]
    spans = [(c.start, c.end) for c in cuts] + kept
    speech = sum(end - start for start, end in merged(voiced))
    facts = {"duration": round(decoded.duration, 3), "voiced": round(speech, 2),
             "covered": round(covered_seconds(voiced, spans), 2)}
    step(decoded.duration, "writing clips")
    clips = dataset.replace_source_clips(source.id, [_new_clip(c) for c in cuts],
                                         state="done", language=language, facts=facts)
    return len(clips)


def _window_cuts(window: np.ndarray, options: PipelineOptions, transcriber: Transcriber | None,
                 language: str | None, progress: ProgressCallback,
                 cancel: CancelToken | None) -> tuple[list[Cut], list[tuple[float, float]], str | None]:
    """One window's cuts, its voiced regions and the language heard (times in the window)."""
    from voicelab.core.dataset.vad import speech_regions

    duration = window.shape[0] / ASR_RATE
    if options.mode == "vad":
        regions = speech_regions(window, max_seconds=options.slicing.max_seconds,
                                 padding=options.slicing.padding, cancel=cancel, progress=progress)
        return slice_regions(regions, duration, window, ASR_RATE, options.slicing), regions, None
    assert transcriber is not None
    transcript = transcriber.transcribe(window, language=language or options.asr.language,
                                        cancel=cancel, progress=progress)
    language = language or transcript.language
    regions = speech_regions(window, cancel=cancel)
    transcript = listen_again(transcript, window, regions, transcriber, language=language,
                              cancel=cancel)
    return slice_transcript(transcript, window, ASR_RATE, options.slicing), regions, language


def _new_clip(cut: Cut) -> NewClip:
    return NewClip(start=cut.start, end=cut.end, text=cut.text, words=_word_rows(cut.words),
                   avg_logprob=cut.avg_logprob, no_speech_prob=cut.no_speech_prob,
                   language=cut.language)


def _word_rows(words: Sequence) -> list[list]:
    """(text, start, end, probability) rows: the probability lets review show doubtful words."""
    return [[w.text.strip(), round(float(w.start), 3), round(float(w.end), 3),
             round(float(w.probability), 3)] for w in words]


def _call_cancellable(function: Callable, cancel: CancelToken | None):
    """`function()` in a worker thread, so a long decode does not hold up Cancel."""
    for value in pull_cancellable(lambda: (function() for _ in range(1)), cancel,
                                  name="voicelab-decode"):
        return value
    raise RuntimeError("unreachable: the worker produced no value")


def _raise_if_cancelled(cancel: CancelToken | None) -> None:
    if cancel is not None:
        cancel.raise_if_cancelled()
