"""`voicelab-cli dataset create|add|list|show|export|import`: datasets, headless.

The same core calls as the Dataset tab (`Dataset`, `add_recordings`, `process_pending`,
`export_ljspeech`, `import_ljspeech`), so a dataset prepared on a server opens in the GUI
as if it had been made there. `add` with no paths resumes whatever an earlier run left
unfinished (the recordings it was given are queued in the dataset before any work starts,
so even a kill while the model loads loses none); Ctrl-C stops within a second and keeps
everything done so far. Every flag is checked before anything is saved.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path

from voicelab.cli.dataset_arg import open_dataset, recovery_hint
from voicelab.core.errors import VoiceLabError
from voicelab.core.workspace import Workspace

EXIT_PROBLEMS = 1
#: The clip levels `--normalize` takes (dBFS RMS; speech datasets sit around -20).
LOUDNESS_DBFS = (-60.0, -3.0)


def add_parser(sub) -> None:
    dataset = sub.add_parser("dataset", help="create datasets and turn recordings into clips")
    actions = dataset.add_subparsers(dest="action", required=True)

    create = actions.add_parser("create", help="a new, empty dataset in the workspace")
    create.add_argument("name")
    create.add_argument("--rate", type=int, default=22050, metavar="HZ",
                        help="sample rate of the clips (default 22050)")
    create.add_argument("--validation-share", type=float, default=0.1, metavar="SHARE",
                        help="share of clips kept for validation (default 0.1)")

    add = actions.add_parser("add", help="add recordings (files or folders) and make clips; "
                                         "without paths, finish what an earlier run left pending")
    add.add_argument("name")
    add.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    add.add_argument("--model", help="Whisper size, e.g. tiny.en, base.en, small, large-v3 "
                                     "(default: the settings' asr_model)")
    add.add_argument("--model-path", type=Path, help="a faster-whisper model folder to use instead")
    add.add_argument("--backend", choices=("faster-whisper", "openai-whisper"))
    add.add_argument("--language", help="'auto' or a language code such as en (default: settings)")
    add.add_argument("--device", choices=("auto", "cpu", "cuda"))
    add.add_argument("--sequential", action="store_true",
                     help="transcribe window by window instead of in batches")
    add.add_argument("--vad", action="store_true",
                     help="cut at pauses only, without transcribing (you type the text)")
    add.add_argument("--min", type=float, metavar="SECONDS", help="shortest clip (default 1)")
    add.add_argument("--max", type=float, metavar="SECONDS", help="longest clip (default 12)")
    add.add_argument("--normalize", type=float, metavar="DBFS",
                     help="scale every clip to this RMS level, e.g. -20")
    add.add_argument("--retry-failed", action="store_true",
                     help="also process again recordings that failed before")

    actions.add_parser("list", help="the datasets in the workspace")

    show = actions.add_parser("show", help="a dataset's summary (and, with --clips, its clips)")
    show.add_argument("name")
    show.add_argument("--clips", action="store_true", help="list every clip")

    export = actions.add_parser("export", help="write the usable clips as an LJSpeech folder")
    export.add_argument("name")
    export.add_argument("folder", type=Path)
    export.add_argument("--normalized", action="store_true",
                        help="add LJSpeech's third column: the text with numbers spelled out")
    export.add_argument("--overwrite", action="store_true",
                        help="replace a metadata.csv already in the folder")

    importer = actions.add_parser("import", help="make a dataset from an LJSpeech folder")
    importer.add_argument("folder", type=Path)
    importer.add_argument("--name", help="the new dataset's name (default: the folder's)")
    importer.add_argument("--rate", type=int, metavar="HZ",
                          help="sample rate of the dataset (default: the wavs')")
    rename = actions.add_parser("rename", help="rename a dataset (its runs follow it)")
    rename.add_argument("name")
    rename.add_argument("new_name")
    delete = actions.add_parser("delete", help="delete a dataset (your original recordings stay)")
    delete.add_argument("name")
    from voicelab.cli import record as cli_record

    cli_record.add_arguments(actions.add_parser(
        "record", help="read prompts into a microphone; each take is checked and kept as a clip"))
    dataset.set_defaults(func=cmd_dataset)


def cmd_dataset(args: argparse.Namespace, ws: Workspace) -> int:
    handlers = {"create": _create, "add": _add, "list": _list, "show": _show,
                "export": _export, "import": _import, "rename": _rename, "delete": _delete,
                "record": _record}
    return handlers[args.action](args, ws)


def _record(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.cli.record import record

    return record(args, ws)


# -- helpers -------------------------------------------------------------------------------------
def _options(args: argparse.Namespace, ws: Workspace, dataset):
    """The dataset's last options (else the settings'), changed by the flags given."""
    from voicelab.core.dataset.asr import ASROptions
    from voicelab.core.dataset.pipeline import PipelineOptions

    saved = dataset.options.get("pipeline")
    options = PipelineOptions.from_dict(saved) if saved else PipelineOptions(
        asr=ASROptions.from_settings(ws.settings))
    asr = dataclasses.replace(options.asr, **{k: v for k, v in {
        "model": args.model, "backend": args.backend, "language": args.language,
        "device": args.device,
        "model_path": str(args.model_path) if args.model_path else None}.items() if v is not None})
    if args.model and not args.model_path:
        asr = dataclasses.replace(asr, model_path=None)  # a size asked for by name wins
    if args.sequential:
        asr = dataclasses.replace(asr, batched=False)
    slicing = options.slicing
    if args.min is not None or args.max is not None:
        slicing = dataclasses.replace(slicing, min_seconds=args.min if args.min is not None
                                      else slicing.min_seconds,
                                      max_seconds=args.max if args.max is not None
                                      else slicing.max_seconds)
    if not 0 < slicing.min_seconds < slicing.max_seconds:
        raise VoiceLabError(f"--min ({slicing.min_seconds:g} s) must be above 0 and below --max "
                            f"({slicing.max_seconds:g} s).")
    mode = "vad" if args.vad else options.mode
    loudness = args.normalize if args.normalize is not None else options.loudness_db
    _check_options(args, asr.language, slicing, loudness)
    return PipelineOptions(asr=asr, slicing=slicing, mode=mode, loudness_db=loudness)


def _check_options(args: argparse.Namespace, language, slicing, loudness) -> None:
    """Refuse, before the options are saved with the dataset, what would fail later: an
    unknown language fails transcription, and then training (espeak), hours on."""
    from voicelab.core.settings import check_setting

    expected = check_setting("asr_language", language)
    if expected is not None:
        given = ("--language" if args.language is not None else
                 "The language saved with this dataset (give --language to change it)")
        raise VoiceLabError(f"{given} {language!r} must be {expected}. Nothing was added.")
    if not all(math.isfinite(s) for s in (slicing.min_seconds, slicing.max_seconds)):
        raise VoiceLabError("--min and --max must be numbers of seconds, e.g. --min 1 --max 12.")
    low, high = LOUDNESS_DBFS
    if loudness is not None and not low <= loudness <= high:
        raise VoiceLabError(f"--normalize {loudness:g} is not a clip level: give an RMS level in "
                            f"dBFS from {low:g} to {high:g}, such as -20. Nothing was added.")


def _check_transcription(options, ws: Workspace) -> None:
    """Refuse before anything starts when the Whisper model cannot transcribe the language
    (not downloaded, or English-only for another language), naming the command that fixes it."""
    if options.mode != "transcribe" or options.asr.model_path or options.asr.backend != "faster-whisper":
        return
    from voicelab.core.models import ModelManager
    from voicelab.core.models_whisper import advise

    advice = advise(ModelManager(ws), options.asr.model, options.asr.language)
    if advice.blocking:
        ways = [f"run `voicelab-cli models download whisper:{c.model}` and add with `--model {c.model}`"
                if c.download else f"add with `--model {c.model}`" for c in advice.choices]
        raise VoiceLabError(f"{advice.text} Nothing was added; to go on, " + "; or ".join(ways) + ".")


def _print_report(report, verb: str) -> None:
    print(f"{verb} {report.files_added} recording(s): {report.clips_added} clip(s) from "
          f"{report.seconds_processed:.1f} s of audio.")
    for problem in report.files_skipped:
        print(f"skipped: {_problem_line(problem)}", file=sys.stderr)
    for warning in report.warnings:  # e.g. a recording whose clips hold too little of its speech
        print(f"warning: {warning}", file=sys.stderr)


def _problem_line(problem) -> str:
    """A skipped file's line, its name quoted (and escaped, as Python writes it) when the name
    holds a character that does not print: a newline in a crafted name could otherwise fake
    a line of output. Plain names stay as they are."""
    name = str(problem.path)
    text = str(problem)
    if not name.isprintable():
        text = text.replace(name, repr(name))
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


# -- commands ------------------------------------------------------------------------------------
def _rename(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.inventory import rename_dataset

    open_dataset(ws, args.name)  # the "no such dataset" message lists the names
    folder = rename_dataset(ws, args.name, args.new_name)
    print(f"Renamed dataset '{args.name}' to '{folder.name}' ({folder}).")
    return 0


def _delete(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.inventory import delete_dataset

    open_dataset(ws, args.name)
    users = delete_dataset(ws, args.name)
    kept = f" Runs trained on it keep their prepared copy: {', '.join(users.runs)}." if users.runs else ""
    print(f"Deleted dataset '{args.name}'.{kept}")
    return 0


def _create(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.dataset.store import Dataset, dataset_folder

    folder = dataset_folder(ws, args.name)
    dataset = Dataset.create(folder, folder.name, sample_rate=args.rate,
                             validation_share=args.validation_share)
    print(f"Created dataset '{dataset.name}' in {dataset.path}")
    return 0


def _add(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.cli.terminal import TerminalProgress, cancel_on_ctrl_c
    from voicelab.core.dataset.ingest import find_audio
    from voicelab.core.dataset.pipeline import AddCancelled, add_recordings, process_pending

    dataset = open_dataset(ws, args.name)
    options = _options(args, ws, dataset)
    _check_transcription(options, ws)
    progress, cancel = TerminalProgress(), cancel_on_ctrl_c()
    paths = list(args.paths) or [Path(p) for p in dataset.queued]
    if paths and not args.paths:
        print(f"Resuming {len(paths)} recording(s) an earlier `dataset add` did not reach.",
              file=sys.stderr)
    try:
        if paths:
            files, _ = find_audio(paths)
            dataset.queue(files)  # before any work: a kill from here on loses none of them
            report = add_recordings(dataset, paths, options, workspace=ws,
                                    progress=progress, cancel=cancel)
            dataset.unqueue(files + paths)  # the ones refused (or gone) leave the queue too
            if args.retry_failed:
                extra = process_pending(dataset, options, workspace=ws, progress=progress,
                                        cancel=cancel)
                report.files_added += extra.files_added
                report.clips_added += extra.clips_added
                report.seconds_processed += extra.seconds_processed
                report.files_skipped += extra.files_skipped
                report.warnings += extra.warnings
        else:
            report = process_pending(dataset, options, workspace=ws, progress=progress,
                                     cancel=cancel, retry_failed=args.retry_failed)
    except AddCancelled as stopped:
        print(str(stopped), file=sys.stderr)
        raise
    _print_report(report, "Added" if paths else "Processed")
    summary = dataset.summary()
    print(f"Dataset '{dataset.name}': {summary.usable_clips} usable clips, "
          f"{summary.usable_seconds / 60:.1f} min. {summary.hint}")
    failed = [p for p in report.files_skipped if "already in the dataset" not in p.reason]
    return EXIT_PROBLEMS if failed and not report.files_added else 0


def _list(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.dataset.store import list_datasets

    datasets = list_datasets(ws)
    if not datasets:
        print("No datasets yet; create one with `voicelab-cli dataset create NAME`.",
              file=sys.stderr)
        return 0
    width = max(len("name"), *(len(d.name) for d in datasets))
    print(f"{'name':{width}s}  {'clips':>6s}  {'minutes':>7s}  path")
    for info in datasets:
        if info.problem:
            print(f"{info.name:{width}s}  {'-':>6s}  {'-':>7s}  {info.path}  (damaged)")
            print(f"warning: {info.problem} {recovery_hint(info.path)}", file=sys.stderr)
            continue
        print(f"{info.name:{width}s}  {info.clips:6d}  {info.usable_seconds / 60:7.1f}  {info.path}")
    return 0


def _show(args: argparse.Namespace, ws: Workspace) -> int:
    dataset = open_dataset(ws, args.name)
    summary = dataset.summary()
    states = {}
    for source in dataset.sources:
        states[source.state] = states.get(source.state, 0) + 1
    print(f"name:        {dataset.name}")
    print(f"path:        {dataset.path}")
    print(f"sample rate: {dataset.sample_rate} Hz")
    print(f"recordings:  {len(dataset.sources)} "
          f"({', '.join(f'{n} {s}' for s, n in sorted(states.items())) or 'none'})")
    print(f"clips:       {summary.clips} ({summary.usable_clips} usable, {summary.flagged} flagged, "
          f"{summary.excluded} excluded)")
    print(f"usable:      {summary.usable_seconds / 60:.1f} min")
    print(f"hint:        {summary.hint}")
    for source in dataset.sources:
        if source.state == "failed":
            print(f"failed:      {source.file}: {source.error}")
    if args.clips:
        for clip in dataset.clips:
            marks = ",".join(clip.flags) or "-"
            state = "excluded" if clip.excluded else ("edited" if clip.edited else "")
            print(f"{clip.id}\t{clip.duration:5.2f}s\t{marks}\t{state}\t{clip.text}")
    return 0


def _export(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.cli.terminal import TerminalProgress, cancel_on_ctrl_c
    from voicelab.core.dataset.ljspeech import export_ljspeech

    dataset = open_dataset(ws, args.name)
    folder = export_ljspeech(dataset, args.folder, normalized=args.normalized,
                             overwrite=args.overwrite, progress=TerminalProgress(),
                             cancel=cancel_on_ctrl_c())
    print(folder)
    return 0


def _import(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.cli.terminal import TerminalProgress, cancel_on_ctrl_c
    from voicelab.core.dataset.ljspeech import import_ljspeech
    from voicelab.core.dataset.store import dataset_folder

    target = dataset_folder(ws, args.name or Path(args.folder).expanduser().resolve().name)
    dataset, problems = import_ljspeech(args.folder, target, target.name,
                                        sample_rate=args.rate, progress=TerminalProgress(),
                                        cancel=cancel_on_ctrl_c())
    for problem in problems:
        print(f"skipped: {_problem_line(problem)}", file=sys.stderr)
    print(f"Imported {len(dataset.clips)} clips into dataset '{dataset.name}' ({dataset.path}).")
    return 0
