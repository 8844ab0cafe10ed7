"""Training a Piper voice, in layers (each imports only those below it; import-linter checks):

    new_run.py  trainer/  voice/   create a run · the trainer process · a checkpoint made a voice
    bases/                         what a run starts from, checked and made trainable
    run/                           the bookkeeping the GUI reads: settings, runs, events (no torch)
    scoring/                       previews and their scores
    vits/                          Piper's model shape: qualities, architecture, voice config

torch, Lightning and piper.train are imported only inside the trainer process and the
functions that need them.
"""
