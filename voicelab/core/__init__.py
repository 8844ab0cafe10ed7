"""Qt-free core of VoiceLab.

Everything here runs headless: the GUI, the CLI and the trainer subprocess all call these
functions. An import-linter contract in pyproject.toml keeps Qt out of this package.
"""

import os as _os

# huggingface_hub otherwise reports usage to huggingface.co (not to HF_ENDPOINT), which a
# desktop app working offline or against a mirror must not do. Set before it is imported.
_os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
