"""Start-up time of the packaged app to a visible window, against `python -m voicelab`.

The packaged app unpacks nothing (one-folder build) but loads its modules from a zip
archive and its libraries from its own folder, so its start-up can differ from a source
run's either way. Both run `--startup-report` as fresh processes, alternately, offscreen,
with a fresh workspace; the script prints the medians of the whole process wall time and of
the app's own "shown" figure (main() start to window shown), and the ratio packaged/python.

    .venv/bin/python bench/bench_frozen_startup.py [--app dist/VoiceLab/VoiceLab] [--repeats 7]

Build the app first (`make package`), or pass --build to build it into a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def default_app() -> Path:
    if sys.platform == "darwin":
        return ROOT / "dist" / "VoiceLab.app" / "Contents" / "MacOS" / "VoiceLab"
    return ROOT / "dist" / "VoiceLab" / ("VoiceLab.exe" if os.name == "nt" else "VoiceLab")


def start_once(command: Sequence[str], env: dict[str, str]) -> tuple[float, dict]:
    """(wall seconds from exec to exit, the app's JSON report) of one start."""
    start = time.perf_counter()
    done = subprocess.run(list(command), capture_output=True, text=True, env=env, timeout=120)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if not report.get("visible"):
        raise SystemExit(f"{command[0]}: the window was not visible: {report}")
    return wall, report


def measure(commands: dict[str, list[str]], repeats: int) -> dict[str, dict[str, list[float]]]:
    home = tempfile.mkdtemp(prefix="voicelab-bench-")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", VOICELAB_HOME=home)
    results = {name: {"wall": [], "shown": []} for name in commands}
    for command in commands.values():  # warm the file cache once each
        start_once(command, env)
    for _ in range(repeats):
        for name, command in commands.items():
            wall, report = start_once(command, env)
            results[name]["wall"].append(wall)
            results[name]["shown"].append(float(report["shown_s"]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=None, help="the packaged app's executable")
    parser.add_argument("--build", action="store_true", help="build the app into a temporary folder first")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    app = args.app or default_app()
    if args.build:
        dist = Path(tempfile.mkdtemp(prefix="voicelab-dist-"))
        subprocess.run([sys.executable, str(ROOT / "packaging" / "build.py"), "--no-archive", "--quiet",
                        "--dist", str(dist), "--work", str(dist / "work")], check=True)
        app = dist / "VoiceLab" / ("VoiceLab.exe" if os.name == "nt" else "VoiceLab")
    if not app.is_file():
        raise SystemExit(f"No packaged app at {app}: run `make package` or pass --build / --app.")
    commands = {
        "packaged": [str(app), "--startup-report"],
        "python": [sys.executable, "-m", "voicelab", "--startup-report"],
    }
    results = measure(commands, args.repeats)
    medians = {name: {k: statistics.median(v) for k, v in r.items()} for name, r in results.items()}
    for name, label in (("packaged", f"packaged app ({app})"), ("python", "python -m voicelab")):
        wall = results[name]["wall"]
        print(f"{label}: process start → window shown and closed, wall median "
              f"{medians[name]['wall']:.3f} s (min {min(wall):.3f}, max {max(wall):.3f}); "
              f"in-process figure median {medians[name]['shown']:.3f} s")
    ratio_wall = medians["packaged"]["wall"] / medians["python"]["wall"]
    ratio_shown = medians["packaged"]["shown"] / medians["python"]["shown"]
    print(f"ratio packaged / python: wall {ratio_wall:.2f}, in-process {ratio_shown:.2f} "
          f"({args.repeats} runs each, alternating)")
    print(json.dumps({"packaged": medians["packaged"], "python": medians["python"],
                      "ratio_wall": round(ratio_wall, 3), "ratio_shown": round(ratio_shown, 3)}))


if __name__ == "__main__":
    main()
