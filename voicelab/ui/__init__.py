"""PySide6 user interface: thin widgets over `voicelab.core`; no business logic here."""
