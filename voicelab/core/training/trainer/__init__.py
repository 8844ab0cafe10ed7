"""The trainer process: from a run folder to checkpoints (torch, Lightning, piper.train).

    runner.py        the process itself (`python -m voicelab --run-trainer RUN_DIR`)
    signals.py       its stop signals, installed and re-installed
    callbacks.py     Lightning callbacks: events, checkpoints (atomic), stop, NaN guard, previews
    model.py         piper's VitsModel with accumulation, adamw8bit, LR decay, freezing
    prepare.py       the run's clips checked, phonemized and cached for piper; the data module
    prepare_pool.py  silence trimming and resampling on a pool of processes
    clip_store.py    prepared clips kept per workspace, so the next run links them
    bucketing.py     batches of clips of similar length
    monotonic.py     the alignment search piper's wheel lacks (numba), installed into piper
    alignment_torch.py  the same search in torch, for CUDA
    speedups.py      torch.compile where it helps
    batch_probe.py   the largest batch that fits the device

Only the trainer process, the CLI and the self-test import this package (an import-linter
contract keeps the GUI, synthesis and the dataset away from it).
"""
