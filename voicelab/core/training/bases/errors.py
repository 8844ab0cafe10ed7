"""What goes wrong when a file is to become a base, in one module every reader shares."""

from voicelab.core.errors import VoiceLabError


class BaseCheckpointError(VoiceLabError):
    """The base checkpoint cannot seed this training run; the message says what to choose."""


class OnnxVoiceError(BaseCheckpointError):
    """The .onnx file cannot become a trainable base; the message says why and what to use."""
