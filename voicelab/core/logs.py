"""Logging to the workspace's rotating log file.

One setup function, called once by the GUI, the CLI and the trainer subprocess, so every
part writes to the same place a person (or a bug report) can find: `<workspace>/logs`.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_HANDLER_NAME = "voicelab-file"


def setup_logging(log_file: Path, level: int = logging.INFO, max_bytes: int = 2_000_000,
                  backups: int = 5) -> logging.Handler:
    """Attach a rotating file handler for `log_file` to the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            if Path(getattr(handler, "baseFilename", "")) == Path(log_file).resolve():
                return handler
            root.removeHandler(handler)
            handler.close()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True
    )
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    return handler
