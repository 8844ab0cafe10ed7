"""How good a voice is at a step: previews and their scores.

    previews.py     speak the preview sentences with a checkpoint, write and score them
    listen.py       Whisper hears a preview (faster-whisper)
    wer.py          word error rate after the same text normalization as synthesis
    pitch.py        median F0, spread in semitones, voiced frames, the decoder's frame-rate buzz
    likeness.py     speaker likeness (resemblyzer), 0 the base voice, 1 the dataset's speaker
    naturalness.py  DNSMOS (speechmos' ONNX models), 1–5
"""
