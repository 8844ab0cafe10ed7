"""What tests share, so no test imports another test module:

    paths.py                REPO_ROOT and the recorded test data
    cli.py                  `voicelab-cli` run in this process
    trainer.py              a trainer child with the tiny model; a fake trainer for the controller
    training_data.py        test-only trainer hooks (a save that hangs) and scored runs
    checkpoint_builders.py  checkpoints of every generation, hostile pickles, tiny exported voices
    dataset_audio.py        recordings with known words, in any format and rate
    speech.py               Whisper on speech, WER
    voices.py               the built-in joe voice's files
    drops.py                drag-and-drop onto a window
    hf_server.py            a Hugging Face hub on 127.0.0.1 for the real download code

The tiny model itself is the self-test's (voicelab/selftest/tiny.py): one model for the
self-test, the tests and bench/.
"""
