"""What a run starts from: a Piper checkpoint or a published `.onnx` voice, checked and made
trainable.

    errors.py       BaseCheckpointError, OnnxVoiceError
    base.py         inspect a base (safe loader), check it fits the run's quality, load it
    base_summary.py a base in plain words for the Training tab and the CLI
    onnx_voice.py   an `.onnx` voice rebuilt as a PyTorch generator
    onnx_arch.py    its hyper-parameters from tensor shapes and node attributes
    onnx_proof.py   the rebuilt generator checked against onnxruntime on the same phonemes
    warmup.py       the parts an `.onnx` never held (posterior encoder, discriminator) warmed
                    from the voice's own speech, cached per voice
"""
