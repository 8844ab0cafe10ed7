"""Where the repository and the tests' recorded data are, for tests at any depth."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT / "tests" / "data"
