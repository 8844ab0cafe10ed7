"""Plain LJSpeech folders in and out: `wavs/<id>.wav` plus a `|`-separated `metadata.csv`.

LJSpeech is what Piper's trainer and most TTS tools read, so a VoiceLab dataset can leave
as one (`export_ljspeech`) and one made elsewhere can come in (`import_ljspeech`).

`metadata.csv` comes in two shapes: `id|text`, and LJSpeech's own `id|raw|normalized`.
The raw column is kept on import, because VoiceLab keeps transcripts as spoken and spells
them out only when asked (`textclean.spoken_text`); on export `normalized=True` adds that
spelled-out third column.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from voicelab.core.dataset.ingest import FileProblem
from voicelab.core.dataset.records import DatasetError, NewClip
from voicelab.core.dataset.store import Dataset
from voicelab.core.dataset.textclean import clean_text, spoken_text
from voicelab.core.errors import VoiceLabError
from voicelab.core.fileio import atomic_write_text
from voicelab.core.names import BadName, within
from voicelab.core.progress import CancelToken, ProgressCallback, no_progress

METADATA = "metadata.csv"


def export_ljspeech(dataset: Dataset, folder: Path, *, normalized: bool = False,
                    overwrite: bool = False, progress: ProgressCallback | None = None,
                    cancel: CancelToken | None = None) -> Path:
    """Copy the dataset's usable clips (not excluded, with text) to an LJSpeech folder.

    metadata.csv is written last and atomically, so a cancelled or failed export never
    leaves a manifest naming wavs that are not there.
    """
    progress = progress or no_progress
    folder = Path(folder).expanduser()
    clips = dataset.usable_clips()
    if not clips:
        raise DatasetError(f"Dataset '{dataset.name}' has no usable clips to export: add "
                           "recordings, and make sure not every clip is excluded or empty.")
    if folder.exists() and not folder.is_dir():
        raise DatasetError(f"{folder} is a file; choose a folder to export into.")
    if (folder / METADATA).exists() and not overwrite:
        raise DatasetError(f"{folder} already holds an LJSpeech {METADATA}; choose an empty "
                           "folder, or allow overwriting it.")
    wavs = folder / "wavs"
    try:
        wavs.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"Cannot create {wavs}: {exc.strerror or exc}.") from None
    language = _language(dataset)
    rows = []
    for index, clip in enumerate(clips):
        if cancel is not None:
            cancel.raise_if_cancelled()
        progress(index, len(clips), f"Copying {clip.id}.wav")
        source = dataset.clip_path(clip.id)
        if not source.is_file():
            raise DatasetError(f"The audio of clip {clip.id} ({source}) is missing; open the "
                               "dataset in VoiceLab (or re-run processing) to rebuild it.")
        try:
            shutil.copyfile(source, wavs / f"{clip.id}.wav")
        except OSError as exc:
            raise DatasetError(f"Cannot write {wavs / (clip.id + '.wav')}: "
                               f"{exc.strerror or exc}.") from None
        text = clean_text(clip.text)
        rows.append(f"{clip.id}|{text}|{spoken_text(text, language)}" if normalized
                    else f"{clip.id}|{text}")
    atomic_write_text(folder / METADATA, "".join(f"{row}\n" for row in rows))
    progress(len(clips), len(clips), f"Exported {len(clips)} clips to {folder}")
    return folder


def read_metadata(folder: Path) -> tuple[list[tuple[str, str]], list[FileProblem]]:
    """(id, text) rows of an LJSpeech folder's metadata.csv; bad lines become problems."""
    file = Path(folder) / METADATA
    if not file.is_file():
        raise DatasetError(f"{folder} is not an LJSpeech folder: it has no {METADATA} "
                           "(lines of id|text next to a wavs/ folder).")
    try:
        lines = file.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise DatasetError(f"{file} is not UTF-8 text; save it as UTF-8 and import again.") from None
    except OSError as exc:
        raise DatasetError(f"Cannot read {file}: {exc.strerror or exc}.") from None
    rows, problems = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        columns = line.split("|")
        if len(columns) < 2 or not columns[0].strip():
            problems.append(FileProblem(file, f"{file}, line {number}: expected id|text, got "
                                              f"{line[:60]!r}."))
            continue
        clip_id = columns[0].strip()
        for ending in (".wav", ".WAV"):
            if clip_id.endswith(ending):
                clip_id = clip_id[: -len(ending)]
        if clip_id.startswith("wavs/"):
            clip_id = clip_id[len("wavs/"):]
        raw = columns[1].strip()
        text = raw or (columns[2].strip() if len(columns) > 2 else "")
        rows.append((clip_id, clean_text(text)))
    return rows, problems


def import_ljspeech(folder: Path, target: Path, name: str | None = None, *,
                    sample_rate: int | None = None, progress: ProgressCallback | None = None,
                    cancel: CancelToken | None = None) -> tuple[Dataset, list[FileProblem]]:
    """A new dataset at `target` with one clip per row of `folder`'s metadata.csv.

    Each wav becomes a source (copied; the folder is not changed) holding one clip that
    spans it, with the row's text. The dataset's rate is `sample_rate`, else the first
    wav's. Rows whose wav is missing or unreadable, or not inside the folder's wavs/
    (a crafted `../../secret` row), are skipped and listed.
    """
    progress = progress or no_progress
    folder = Path(folder).expanduser()
    listed, problems = read_metadata(folder)
    rows = _wavs_inside(folder, listed, problems)
    if not rows:
        raise DatasetError(f"{folder / METADATA} lists no clips"
                           + (" inside the folder." if listed else "."))
    rate = sample_rate or _first_rate(rows) or 22050
    dataset = Dataset.create(Path(target), name, sample_rate=rate)
    with dataset.batch():  # one save at the end, not three per row
        _import_rows(rows, dataset, rate, problems, progress, cancel)
    progress(len(rows), len(rows), f"Imported {len(dataset.clips)} clips")
    return dataset, problems


def _wavs_inside(folder: Path, rows, problems: list[FileProblem]) -> list[tuple[Path, str]]:
    """(wav, text) of the rows whose wav is inside the imported folder, in its wavs/; a
    row that reaches out (`../../secret`, an absolute path, a link out) is a problem, so a
    crafted manifest cannot copy a file from elsewhere into the dataset."""
    found = []
    for clip_id, text in rows:
        try:
            found.append((within(folder / "wavs", f"{clip_id}.wav", "clip"), text))
        except BadName as error:
            problems.append(FileProblem(folder / METADATA, f"{folder / METADATA}: {error}"))
    return found


def _import_rows(rows, dataset, rate, problems, progress, cancel) -> None:
    from voicelab.core.audio import read_audio

    for index, (wav, text) in enumerate(rows):
        if cancel is not None:
            cancel.raise_if_cancelled()
        progress(index, len(rows), f"Importing {wav.name}")
        if not wav.is_file():
            problems.append(FileProblem(wav, f"{wav} is listed in {METADATA} but missing."))
            continue
        try:
            samples, _ = read_audio(wav, dataset.sample_rate)
        except VoiceLabError as exc:
            problems.append(FileProblem(wav, str(exc)))
            continue
        source, is_new = dataset.add_source(wav)
        if not is_new:
            problems.append(FileProblem(wav, f"{wav} has the same audio as {source.file}; "
                                             "imported once."))
            continue
        dataset.write_work_audio(source, samples)
        dataset.replace_source_clips(source.id, [NewClip(0.0, len(samples) / rate, text)], state="done")


def _first_rate(rows) -> int | None:
    import soundfile

    for wav, _ in rows[:20]:
        try:
            return int(soundfile.info(str(wav)).samplerate)
        except (OSError, RuntimeError, soundfile.LibsndfileError):
            continue
    return None


def _language(dataset: Dataset) -> str:
    language = dataset.options.get("language")
    if isinstance(language, str) and language not in ("", "auto"):
        return language
    found = next((s.language for s in dataset.sources if s.language), None)
    return found or "en"
