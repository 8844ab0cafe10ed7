"""Start-up time to a visible main window, against a bare PySide6 window as the peer.

Both run as fresh processes, alternately, offscreen, N times; the script prints medians of
the whole process wall time and of the app's own "shown" figure, and the ratio
VoiceLab / bare Qt. Target: the window in under 2 s, without importing torch.

    .venv/bin/python bench/bench_startup.py [--repeats 7]
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

PEER = r"""
import time, json
t0 = time.perf_counter()
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QTabWidget, QLabel
app = QApplication([])
w = QMainWindow(); tabs = QTabWidget(); tabs.addTab(QLabel("x"), "Dataset"); w.setCentralWidget(tabs)
w.resize(1200, 780); w.show()
def done():
    print(json.dumps({"shown_s": round(time.perf_counter() - t0, 3)})); app.quit()
QTimer.singleShot(0, done)
app.exec()
"""


def run(cmd, env):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    wall = time.perf_counter() - start
    report = json.loads(out.strip().splitlines()[-1])
    return wall, report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="voicelab-bench-")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", VOICELAB_HOME=home)
    ours, peer, shown, heavy = [], [], [], set()
    run([sys.executable, "-m", "voicelab", "--startup-report"], env)  # warm the file cache
    run([sys.executable, "-c", PEER], env)
    for _ in range(args.repeats):
        wall, report = run([sys.executable, "-m", "voicelab", "--startup-report"], env)
        ours.append(wall)
        shown.append(report["shown_s"])
        heavy.update(report["heavy_modules_loaded"])
        wall, _ = run([sys.executable, "-c", PEER], env)
        peer.append(wall)
    m_ours, m_peer = statistics.median(ours), statistics.median(peer)
    print(f"VoiceLab process start → window shown, wall: median {m_ours:.3f} s (min {min(ours):.3f})")
    print(f"VoiceLab in-process figure (main() start → shown): median {statistics.median(shown):.3f} s")
    print(f"bare PySide6 window, wall: median {m_peer:.3f} s (min {min(peer):.3f})")
    print(f"ratio VoiceLab / bare Qt: {m_ours / m_peer:.2f}")
    print(f"heavy modules loaded at start-up: {sorted(heavy) or 'none'}")
    print(f"target < 2 s: {'met' if m_ours < 2.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
