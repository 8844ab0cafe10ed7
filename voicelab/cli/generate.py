"""`voicelab-cli say|batch|voices|presets …`: speak text and manage voices and presets, headless.

The same core calls as the Generate tab (`generate_clip`, `generate_batch`, `PresetStore`,
`import_voice`), so a clip made here sounds the same, lands in the same history and uses
the same presets as one made in the GUI.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from voicelab.core.errors import VoiceLabError
from voicelab.core.workspace import Workspace


def add_parser(sub) -> None:
    say = sub.add_parser("say", help="speak a text into an audio file (and the history)")
    say.add_argument("text", help="the text to speak; '-' reads it from standard input")
    say.add_argument("--preset", help="the preset to speak with (default: the default preset)")
    say.add_argument("--voice", help="use this voice id instead of the preset's (see `voices list`)")
    say.add_argument("-o", "--output", type=Path,
                     help="where to write the clip: .wav, .flac, .ogg or .mp3 "
                          "(default: only keep it in the history and print its path)")
    say.add_argument("--rate", type=int, metavar="HZ",
                     help="sample rate of the file (default: the preset's, else the voice's)")
    say.set_defaults(func=cmd_say)

    batch = sub.add_parser("batch", help="one clip per line of a text file, plus metadata.csv")
    batch.add_argument("lines", type=Path, help="a UTF-8 text file, one clip per non-blank line")
    batch.add_argument("-o", "--output", type=Path, required=True, metavar="DIR",
                       help="the folder for the clips")
    batch.add_argument("--preset", help="the preset to speak with (default: the default preset)")
    batch.add_argument("--voice", help="use this voice id instead of the preset's")
    batch.add_argument("--format", choices=_write_formats(),
                       help="clip format (default: the preset's)")
    batch.add_argument("--rate", type=int, metavar="HZ", help="sample rate of the clips")
    batch.set_defaults(func=cmd_batch)

    voices = sub.add_parser("voices", help="list or import voices")
    voice_actions = voices.add_subparsers(dest="action", required=True)
    voice_actions.add_parser("list", help="the voices presets can use, with any problems")
    importer = voice_actions.add_parser("import", help="copy a Piper .onnx voice (and its .json) in")
    importer.add_argument("path", type=Path)
    importer.add_argument("--name", help="the name to keep it under (default: the file's)")
    renamer = voice_actions.add_parser("rename", help="rename a voice; presets using it follow")
    renamer.add_argument("voice")
    renamer.add_argument("new_name")
    deleter = voice_actions.add_parser("delete", help="delete a voice's .onnx and .onnx.json")
    deleter.add_argument("voice")
    voices.set_defaults(func=cmd_voices)

    presets = sub.add_parser("presets", help="list, show, create, delete presets; set the default")
    preset_actions = presets.add_subparsers(dest="action", required=True)
    preset_actions.add_parser("list", help="all presets; * marks the default")
    show = preset_actions.add_parser("show", help="every setting of one preset")
    show.add_argument("name")
    create = preset_actions.add_parser("create", help="a new preset (unset values keep their defaults)")
    create.add_argument("name")
    create.add_argument("--voice", help="voice id (see `voices list`; default: the built-in voice)")
    create.add_argument("--speaker", help="speaker name of a multi-speaker voice")
    create.add_argument("--speed", type=float, help="1.0 = the voice's pace; 1.25 = 25%% faster")
    create.add_argument("--variation", type=float, help="noise scale, 0 to 5")
    create.add_argument("--rhythm-variation", type=float, help="noise w, 0 to 5")
    create.add_argument("--sentence-pause", type=float, help="seconds between sentences")
    create.add_argument("--volume", type=float, help="1.0 = as made")
    create.add_argument("--format", choices=_write_formats(), help="export format")
    create.add_argument("--rate", type=int, metavar="HZ", help="export sample rate")
    create.add_argument("--default", action="store_true", help="also make it the default preset")
    delete = preset_actions.add_parser("delete", help="remove a preset")
    delete.add_argument("name")
    default = preset_actions.add_parser("default", help="make a preset the default")
    default.add_argument("name")
    presets.set_defaults(func=cmd_presets)


def _write_formats():
    from voicelab.core.audio import WRITE_FORMATS

    return WRITE_FORMATS


# -- helpers -------------------------------------------------------------------------------------
def _open_presets(ws: Workspace):
    from voicelab.core.synthesis.presets import PresetStore

    store = PresetStore.open(ws)
    for problem in store.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return store


def _preset_names(store) -> str:
    names = store.names()
    if not names:
        return "There are no presets yet; create one with `voicelab-cli presets create NAME`."
    return "Presets: " + ", ".join(names) + "."


def _get_preset(store, name: str):
    if name not in store:
        raise VoiceLabError(f"There is no preset named '{name}'. {_preset_names(store)}")
    return store.get(name)


def _choose_preset(ws: Workspace, name: str | None, voice: str | None):
    """The named preset (else the default one, else the built-in voice's settings), voice replaced."""
    store = _open_presets(ws)
    preset = _get_preset(store, name) if name is not None else store.default()
    if voice is not None:
        _check_voice(ws, voice)
        preset = dataclasses.replace(preset, voice=voice, speaker=None)
    return preset


def _check_voice(ws: Workspace, voice_id: str) -> None:
    from voicelab.core.synthesis.voices import list_voices

    voices = list_voices(ws)
    if not any(v.id == voice_id for v in voices):
        raise VoiceLabError(f"There is no voice '{voice_id}'. Voices: "
                            f"{', '.join(v.id for v in voices)} (see `voicelab-cli voices list`).")


def _check_rate(rate: int | None) -> None:
    if rate is not None and not 4000 <= rate <= 192000:
        raise VoiceLabError(f"--rate must be a sample rate from 4000 to 192000 Hz, not {rate}.")


# -- say and batch -------------------------------------------------------------------------------
def cmd_say(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.cli.terminal import TerminalProgress, cancel_on_ctrl_c
    from voicelab.core.audio import MP3_SAMPLE_RATES, format_for_path
    from voicelab.core.synthesis.export import export_entry
    from voicelab.core.synthesis.generate import generate_clip

    text = sys.stdin.read() if args.text == "-" else args.text
    if not text.strip():
        raise VoiceLabError('There is no text to speak: give it in quotes, e.g. '
                            '`voicelab-cli say "Hello there." -o hello.wav`.')
    _check_rate(args.rate)
    preset = _choose_preset(ws, args.preset, args.voice)
    fmt = None
    if args.output is not None:
        fmt = format_for_path(args.output)  # a bad ending fails before any synthesis
        if args.output.is_dir():
            raise VoiceLabError(f"{args.output} is a folder; give a file name such as "
                                f"{args.output / 'speech.wav'}.")
        if fmt == "mp3" and args.rate is not None and args.rate not in MP3_SAMPLE_RATES:
            raise VoiceLabError(f"MP3 cannot be written at {args.rate} Hz; choose one of "
                                f"{', '.join(str(r) for r in MP3_SAMPLE_RATES)} Hz.")
    entry = generate_clip(ws, text, preset, progress=TerminalProgress(), cancel=cancel_on_ctrl_c())
    if args.output is None:
        print(entry.path)
        return 0
    rate = args.rate or preset.sample_rate or entry.sample_rate
    if fmt == "mp3" and rate not in MP3_SAMPLE_RATES:
        rate = min(MP3_SAMPLE_RATES, key=lambda r: abs(r - rate))  # MP3 knows only these
    args.output.parent.mkdir(parents=True, exist_ok=True)
    path = export_entry(entry, args.output, fmt, rate)
    print(path)
    return 0


def cmd_batch(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.cli.terminal import TerminalProgress, cancel_on_ctrl_c
    from voicelab.core.synthesis.generate import generate_batch

    _check_rate(args.rate)
    preset = _choose_preset(ws, args.preset, args.voice)
    changes = {}
    if args.format is not None:
        changes["format"] = args.format
    if args.rate is not None:
        changes["sample_rate"] = args.rate
    if changes:
        preset = dataclasses.replace(preset, **changes)
    if args.output.exists() and not args.output.is_dir():
        raise VoiceLabError(f"{args.output} is a file; -o must name a folder for the clips.")
    result = generate_batch(ws, args.lines, args.output, preset,
                            progress=TerminalProgress(), cancel=cancel_on_ctrl_c())
    print(f"{len(result.clips)} clips and {result.index_path.name} written.", file=sys.stderr)
    print(result.folder)
    return 0


# -- voices --------------------------------------------------------------------------------------
def cmd_voices(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.synthesis.voice_import import import_voice
    from voicelab.core.synthesis.voices import list_voices

    if args.action == "list":
        voices = list_voices(ws)
        width = max(len("id"), *(len(v.id) for v in voices))
        names = max(len("name"), *(len(v.label) for v in voices))
        print(f"{'id':{width}s}  {'name':{names}s}  {'language':10s} {'speakers':8s} problem")
        for voice in voices:
            speakers = str(len(voice.speakers)) if voice.speakers else "1"
            print(f"{voice.id:{width}s}  {voice.label:{names}s}  {voice.language or '-':10s} "
                  f"{speakers:8s} {voice.problem or '-'}")
        return 0
    if args.action == "import":
        from voicelab.cli.terminal import TerminalProgress, cancel_on_ctrl_c

        voice = import_voice(ws, args.path, args.name, progress=TerminalProgress(unit="bytes"),
                             cancel=cancel_on_ctrl_c())
        print(f"Imported {voice.id}: {voice.model_path}")
        return 0
    if args.action == "rename":
        from voicelab.core.inventory import rename_voice

        print(f"Renamed voice '{args.voice}' to '{rename_voice(ws, args.voice, args.new_name)}'.")
        return 0
    if args.action == "delete":
        from voicelab.core.inventory import delete_voice

        users = delete_voice(ws, args.voice)
        note = (f" The presets {', '.join(users.presets)} now name a missing voice; choose another "
                "for them in the Generate tab." if users.presets else "")
        print(f"Deleted voice '{args.voice}'.{note}")
        return 0
    raise VoiceLabError(f"Unknown voices action {args.action!r}.")


# -- presets -------------------------------------------------------------------------------------
def cmd_presets(args: argparse.Namespace, ws: Workspace) -> int:
    from voicelab.core.synthesis.errors import PresetError
    from voicelab.core.synthesis.presets import Preset, preset_problem
    from voicelab.core.synthesis.voices import list_voices

    store = _open_presets(ws)
    if args.action == "list":
        if not len(store):
            print("No presets yet; `voicelab-cli say` uses the built-in voice. "
                  "Create one with `voicelab-cli presets create NAME`.", file=sys.stderr)
            return 0
        voices = list_voices(ws)
        print(f"  {'name':24s} {'voice':32s} {'speed':>5s} {'format':6s} problem")
        for preset in store.list():
            mark = "*" if preset.name == store.default_name else " "
            problem = preset_problem(preset, voices) or "-"
            print(f"{mark} {preset.name:24s} {preset.voice:32s} {preset.speed:5g} "
                  f"{preset.format:6s} {problem}")
        return 0
    if args.action == "show":
        preset = _get_preset(store, args.name)
        for key, value in preset.to_dict().items():
            print(f"{key}: {'' if value is None else value}")
        print(f"default: {'yes' if preset.name == store.default_name else 'no'}")
        problem = preset_problem(preset, list_voices(ws))
        if problem:
            print(f"problem: {problem}")
        return 0
    if args.action == "create":
        fields = {
            "voice": args.voice, "speaker": args.speaker, "speed": args.speed,
            "variation": args.variation, "rhythm_variation": args.rhythm_variation,
            "sentence_pause": args.sentence_pause, "volume": args.volume,
            "format": args.format, "sample_rate": args.rate,
        }
        preset = Preset(name=args.name, **{k: v for k, v in fields.items() if v is not None})
        if args.voice is not None:
            _check_voice(ws, args.voice)
        problem = preset_problem(preset, list_voices(ws))
        if problem:
            raise PresetError(problem)
        created = store.create(preset)
        if args.default:
            store.set_default(created.name)
        print(f"Created preset '{created.name}'.")
        return 0
    if args.action == "delete":
        preset = _get_preset(store, args.name)
        store.delete(preset.name)
        print(f"Deleted preset '{preset.name}'.")
        return 0
    if args.action == "default":
        preset = _get_preset(store, args.name)
        store.set_default(preset.name)
        print(f"'{preset.name}' is now the default preset.")
        return 0
    raise VoiceLabError(f"Unknown presets action {args.action!r}.")
