"""Datasets: recordings in, a reviewed LJSpeech training set out.

`store` holds a dataset on disk and every edit to it; `pipeline` turns recordings into clips
(decode, transcribe, slice); `coverage` checks that the recordings' speech reached the
clips; `flags` says which clips look wrong; `ljspeech` moves plain LJSpeech folders in and
out. The GUI and the CLI call these, never each other.
"""
