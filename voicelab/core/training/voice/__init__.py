"""A trained checkpoint made into a voice a person can use.

    export.py            checkpoint → `.onnx` + `.onnx.json`, verified in a fresh process, logged
    export_check.py      is it ready? (scores, the export's own test sentence) in words
    verify_voice.py      the fresh-process check: the exported voice loads and speaks
    checkpoint_voice.py  a checkpoint spoken directly (PyTorch), to hear it before export
"""
