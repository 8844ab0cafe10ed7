"""A run's bookkeeping, which the GUI and the CLI read while a trainer writes it.

    config.py      every setting of a run, validated (`TrainConfig`)
    snapshot.py    the run's own copy of its dataset's split; what a run reads of a dataset
    runs.py        run folders: list, status, lock, checkpoints, stop requests, limits
    events.py      the JSON-lines protocol between trainer, GUI, CLI and events.jsonl
    event_text.py  events and scores in words, the same in the GUI and the CLI
    process.py     `TrainerProcess`: start the trainer as a child, read its events, stop it
    ranking.py     checkpoints ranked by their preview scores; which to keep

No torch, Lightning, piper, onnx or Whisper here (an import-linter contract): listing runs
and drawing a chart must be instant in the GUI.
"""
