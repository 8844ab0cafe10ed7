"""Piper's VITS model described without building it: the shape of a voice.

    qualities.py     the one table of Piper's qualities (rate, decoder, channels)
    architecture.py  a generator's hyper-parameters read from a checkpoint; the generator rebuilt
    speakers.py      folding a multi-speaker base into one speaker
    voice_config.py  the `.onnx.json` a voice ships with, and sample phoneme ids in its map

The bottom layer of training: everything above may ask what shape a voice has.
"""
