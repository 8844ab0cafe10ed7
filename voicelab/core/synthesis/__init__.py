"""Speech from a voice: voices, presets, text preparation, streaming synthesis, export, history.

Modules, each holding one idea:

- `voices`: find, import and load (cached) Piper voices; the bundled default voice.
- `model`: what the engine needs from a loaded voice (`SpeechModel`) and the ONNX voice.
- `text` / `numbers`: normalization (numbers, money, abbreviations, symbols) and
  sentence splitting; `characters`: the characters a voice cannot say.
- `engine`: sentence-by-sentence streaming synthesis with progress and cancel.
- `presets`: named settings in the workspace.
- `history`: every generated clip, until cleared.
- `export`: one clip in WAV/FLAC/OGG/MP3 at any rate; batch export of a text file.
- `generate`: the entry functions the GUI and CLI call (preset + text → clip).

Importing this package imports nothing heavy; the submodules load piper/onnxruntime.
"""
