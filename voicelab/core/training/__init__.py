"""Training a Piper voice: configuration, the trainer process, checkpoints, previews and export.

The trainer side (a run from settings to a trained checkpoint):

    config.py     every setting of a run, validated; Piper's qualities (`QUALITIES`)
    runs.py       run folders: create (train.yaml + lineage), list, status, checkpoints, lock
    data.py       the run's copy of the split, checked and cached for piper before step 1
    monotonic.py  the alignment search piper's wheel lacks (numba), installed into piper
    model.py      piper's VitsModel with accumulation, adamw8bit, per-epoch LR decay
    callbacks.py  Lightning callbacks: events, checkpoints (atomic), stop, NaN guard, previews
    runner.py     the trainer process itself (`python -m voicelab --run-trainer RUN_DIR`)
    events.py     the JSON-lines protocol between trainer, GUI, CLI and events.jsonl
    event_text.py events and scores in words, the same in the GUI and the CLI
    process.py    `TrainerProcess`: start the trainer as a child, read its events, stop it

The checkpoint side (what a checkpoint is and becomes): `base.py` (base checkpoints),
`architecture.py`, `speakers.py`, `previews.py`, `ranking.py`, `export_check.py` (is it
ready to export?), `export.py`, `checkpoint_voice.py` and their helpers.

torch, Lightning and piper.train are imported only inside the trainer process and the
functions that need them; `config`, `runs`, `events` and `process` stay light for the GUI.
"""
