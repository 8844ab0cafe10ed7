"""The entry functions the Generate tab and the CLI call: a preset and text in, clips out.

They join the pieces (preset → voice → engine → history/export) so the GUI and the CLI
do it the same way, and so a preset whose voice is gone fails here with a message that
names the preset, not deep inside ONNX Runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voicelab.core.progress import CancelToken, ProgressCallback, no_progress
from voicelab.core.synthesis.engine import SentenceAudio, SynthesisOptions, synthesize
from voicelab.core.synthesis.errors import PresetError, VoiceError
from voicelab.core.synthesis.export import BatchResult, export_batch, read_batch_lines
from voicelab.core.synthesis.history import History, HistoryEntry
from voicelab.core.synthesis.model import SpeechModel
from voicelab.core.synthesis.presets import Preset, validate_preset
from voicelab.core.synthesis.voices import VoiceInfo, find_voice, load_voice
from voicelab.core.workspace import Workspace


@dataclass(frozen=True)
class VoiceSetup:
    """Everything a preset resolves to: the loaded voice and the settings to use it with."""

    preset: Preset
    voice: VoiceInfo
    model: SpeechModel
    options: SynthesisOptions
    output_format: str
    output_rate: int


def setup_preset(workspace: Workspace, preset: Preset) -> VoiceSetup:
    """Resolve and load a preset's voice; PresetError/VoiceError say what is wrong."""
    validate_preset(preset)
    try:
        voice = find_voice(workspace, preset.voice)
    except VoiceError as exc:
        raise PresetError(f"Preset '{preset.name}' cannot be used: {exc}") from None
    if voice.problem:
        raise PresetError(f"Preset '{preset.name}' cannot be used: {voice.problem}")
    model = load_voice(voice)
    try:
        speaker_id = voice.speaker_id(preset.speaker)
    except VoiceError as exc:
        raise PresetError(f"Preset '{preset.name}': {exc}") from None
    options = SynthesisOptions(
        speaker_id=speaker_id, speed=preset.speed, noise_scale=preset.variation,
        noise_w=preset.rhythm_variation, sentence_pause=preset.sentence_pause,
        volume=preset.volume,
    )
    return VoiceSetup(preset, voice, model, options, preset.format,
                      preset.sample_rate or model.config.sample_rate)


def generate_clip(workspace: Workspace, text: str, preset: Preset, *,
                  on_sentence: Callable[[SentenceAudio], None] | None = None,
                  progress: ProgressCallback = no_progress,
                  cancel: CancelToken | None = None,
                  history: History | None = None) -> HistoryEntry:
    """Speak `text` with a preset and keep the clip in the history.

    `on_sentence` receives each sentence's audio as soon as it is made (start playback
    there); the returned entry points at the whole clip on disk.
    """
    setup = setup_preset(workspace, preset)
    speech = synthesize(setup.model, text, setup.options, on_sentence=on_sentence,
                        progress=progress, cancel=cancel)
    store = history if history is not None else History.open(workspace)
    return store.add(speech.samples, speech.sample_rate, text=text, voice=setup.voice.id,
                     preset=preset.name, speaker=preset.speaker)


def generate_batch(workspace: Workspace, lines_file: Path, folder: Path, preset: Preset, *,
                   progress: ProgressCallback = no_progress,
                   cancel: CancelToken | None = None) -> BatchResult:
    """One clip per line of a text file, in the preset's export format and rate."""
    lines = read_batch_lines(lines_file)
    setup = setup_preset(workspace, preset)
    return export_batch(setup.model, lines, folder, setup.options, setup.output_format,
                        setup.output_rate, progress=progress, cancel=cancel)
