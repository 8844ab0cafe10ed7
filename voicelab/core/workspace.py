"""Where VoiceLab keeps things.

One object knows every folder, so no module builds paths of its own. The data root is
`platformdirs.user_data_dir("VoiceLab")`, or the folder chosen in settings, or
`VOICELAB_HOME` when set (tests always set it to a temporary folder, so they never touch a
real user's data). Settings live in the config folder, or in `VOICELAB_HOME` too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from voicelab import APP_NAME
from voicelab.core.settings import Settings, load_settings, save_settings

ENV_HOME = "VOICELAB_HOME"
CACHE = "cache"
SUBFOLDERS = ("datasets", "runs", "voices", "models", "presets", "history", "logs")


@dataclass
class Workspace:
    root: Path
    config_dir: Path
    settings: Settings = field(default_factory=Settings)
    problems: list[str] = field(default_factory=list)
    settings_backup: Path | None = None

    @classmethod
    def open(cls, home: os.PathLike | None = None) -> Workspace:
        """Resolve the folders, load settings (never failing on a bad file) and create folders."""
        env_home = home or os.environ.get(ENV_HOME)
        if env_home:
            config_dir = Path(env_home).expanduser()
        else:
            config_dir = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
        loaded = load_settings(config_dir / "settings.yaml")
        if loaded.settings.workspace:
            root = Path(loaded.settings.workspace).expanduser()
        elif env_home:
            root = config_dir
        else:
            root = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        workspace = cls(root=root, config_dir=config_dir, settings=loaded.settings,
                        problems=list(loaded.problems), settings_backup=loaded.backup)
        workspace.ensure()
        return workspace

    def ensure(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        for name in SUBFOLDERS:
            (self.root / name).mkdir(parents=True, exist_ok=True)

    @property
    def settings_path(self) -> Path:
        return self.config_dir / "settings.yaml"

    def save_settings(self) -> None:
        save_settings(self.settings_path, self.settings)

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def voices(self) -> Path:
        return self.root / "voices"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def presets(self) -> Path:
        return self.root / "presets"

    @property
    def history(self) -> Path:
        return self.root / "history"

    @property
    def cache(self) -> Path:
        """What can be made again (prepared clips, warmed bases): safe to delete."""
        return self.root / CACHE

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def log_file(self) -> Path:
        return self.logs / "voicelab.log"


def run_cache(run_dir: Path, name: str) -> Path:
    """`<workspace>/cache/<name>` for a run in `<workspace>/runs/` (shared by the runs of a
    workspace), else the run's own `cache/<name>`."""
    run_dir = Path(run_dir).resolve()
    if run_dir.parent.name == "runs":
        return run_dir.parent.parent / CACHE / name
    return run_dir / CACHE / name
