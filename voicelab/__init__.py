"""VoiceLab: a desktop studio that turns recordings of one voice into a Piper TTS voice."""

__version__ = "0.1.0"
APP_NAME = "VoiceLab"
