"""Load an exported voice in a fresh process and make it speak: the proof an export worked.

An export is only reported successful once the voice has been loaded the way users will
load it (piper's own `PiperVoice.load`, ONNX Runtime) in a process that shares nothing
with the exporter (no torch, no half-initialized state), and has spoken a sentence. The
child prints one JSON line, `{"samples": n, "sample_rate": r, "peak": p}`, and writes the
audio to a WAV when asked, so the exporter can also have Whisper listen to it.

Run as `python -m voicelab.core.training.voice.verify_voice MODEL CONFIG --text … [--wav OUT]`.
The frozen app has no Python to run `-m` with, so there `verify_command` starts the app
itself as `VoiceLab --verify-voice MODEL CONFIG …`, which `voicelab/__main__.py` hands to
`main` before Qt is imported.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

FROZEN_FLAG = "--verify-voice"
DEFAULT_TEXT = "Hello! This voice was exported by VoiceLab, and it can speak."


def verify_command(model: Path, config: Path, text: str, wav: Path | None = None) -> list[str]:
    """The command line that verifies a voice in a fresh process, frozen app or not."""
    args = [str(model), str(config), "--text", text]
    if wav is not None:
        args += ["--wav", str(wav)]
    from voicelab.core.appexec import app_command, is_frozen

    if is_frozen():  # no interpreter to run -m with: the app dispatches the flag itself
        return app_command(FROZEN_FLAG, *args)
    return [sys.executable, "-m", "voicelab.core.training.voice.verify_voice", *args]


def speak(model: Path, config: Path, text: str) -> tuple:
    """(float32 samples, sample rate) of `text` spoken by the voice, unnormalized."""
    import numpy as np
    from piper import PiperVoice
    from piper.config import SynthesisConfig

    voice = PiperVoice.load(model, config_path=config)
    chunks = [chunk.audio_float_array for chunk in
              voice.synthesize(text, SynthesisConfig(normalize_audio=False))]
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return samples.astype(np.float32, copy=False), int(voice.config.sample_rate)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="verify_voice", description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("config", type=Path)
    parser.add_argument("--text", default=DEFAULT_TEXT)
    parser.add_argument("--wav", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        samples, rate = speak(args.model, args.config, args.text)
    except Exception as error:  # reported to the exporter, which words it for the user
        print(f"The voice did not load or speak: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    peak = float(abs(samples).max()) if samples.size else 0.0
    if samples.size == 0:
        print("The voice loaded but produced no audio for the test sentence.", file=sys.stderr)
        return 3
    if not math.isfinite(peak):
        print("The voice produced invalid audio (NaN or infinite samples).", file=sys.stderr)
        return 3
    if args.wav is not None:
        import soundfile

        soundfile.write(str(args.wav), samples.clip(-1, 1), rate, format="WAV", subtype="PCM_16")
    print(json.dumps({"samples": int(samples.size), "sample_rate": rate, "peak": round(peak, 6)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
