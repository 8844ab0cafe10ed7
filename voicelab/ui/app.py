"""GUI entry point (`voicelab`, `python -m voicelab`).

Start-up imports only Qt and the light parts of the core: torch, lightning, piper.train and
faster-whisper are imported later, inside the work that needs them, so the window appears
fast. `--startup-report` prints how long that took and which heavy modules were loaded.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
import time
from pathlib import Path

_T0 = time.perf_counter()

HEAVY_MODULES = ("torch", "lightning", "piper.train", "faster_whisper", "ctranslate2", "onnxruntime")

log = logging.getLogger("voicelab")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="voicelab", description="VoiceLab desktop app")
    parser.add_argument("--screenshot", metavar="PNG", type=Path,
                        help="save a screenshot of the main window once it is shown, then quit")
    parser.add_argument("--startup-report", action="store_true",
                        help="print start-up time and loaded heavy modules as JSON, then quit")
    parser.add_argument("--tab", choices=("dataset", "training", "generate"),
                        help="open on this tab")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    # Qt's own options (-platform, -style, …) pass through untouched.
    args, _unknown = parser.parse_known_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    from voicelab import __version__

    if args.version:
        print(f"VoiceLab {__version__}")
        return 0

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from voicelab.core.logs import setup_logging
    from voicelab.core.workspace import Workspace
    from voicelab.ui.error_dialog import install_excepthook
    from voicelab.ui.main_window import MainWindow
    from voicelab.ui.theme import apply_theme

    workspace = Workspace.open()
    setup_logging(workspace.log_file)
    log.info("VoiceLab %s starting; workspace %s", __version__, workspace.root)
    for problem in workspace.problems:
        log.warning("Settings: %s", problem)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("VoiceLab")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("VoiceLab")
    _set_icon(app)
    install_excepthook(workspace.log_file)
    apply_theme(app, workspace.settings.theme)

    window = MainWindow(workspace)
    if args.tab:
        window.tabs.setCurrentIndex(("dataset", "training", "generate").index(args.tab))
    window.show()
    # What is loaded by now lives as long as the app: keep it out of the garbage collector's
    # full passes, whose pause grows with every object tracked and, taken on any thread,
    # freezes the window (a few hundred ms once the speech models are loaded).
    gc.collect()
    gc.freeze()

    if args.startup_report:
        def report() -> None:
            shown = time.perf_counter() - _T0
            print(json.dumps({
                "shown_s": round(shown, 3),
                "visible": window.isVisible(),
                "heavy_modules_loaded": [m for m in HEAVY_MODULES if m in sys.modules],
            }), flush=True)
            window.close()
            app.quit()
        QTimer.singleShot(0, report)
    elif args.screenshot:
        def shoot() -> None:
            args.screenshot.parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(args.screenshot))
            print(f"Saved {args.screenshot}", flush=True)
            window.close()
            app.quit()
        QTimer.singleShot(800, shoot)
    return app.exec()


def _set_icon(app) -> None:
    from PySide6.QtGui import QIcon

    from voicelab.resources import resource_path

    icon = resource_path("icons", "voicelab.svg")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))


if __name__ == "__main__":
    sys.exit(main())
