"""Build the packaged VoiceLab for the platform this runs on: one command, `make package`.

    .venv/bin/python packaging/build.py [--dist DIR] [--work DIR] [--no-archive] [--self-test]

1. PyInstaller turns build.spec into the one-folder app: `DIST/VoiceLab/` (Linux, Windows)
   or `DIST/VoiceLab.app` (macOS). The work folder and the output are outside git's view
   (build/ and dist/ by default, both in .gitignore).
2. The platform's package around it:
   Linux    DIST/VoiceLab-<version>-linux-<arch>.tar.gz: the folder with the .desktop file,
            the icon and an install.sh that puts both where desktops find them
   Windows  DIST/VoiceLab-<version>-windows-x64-setup.exe from packaging/windows/VoiceLab.iss
            when Inno Setup's compiler (iscc) is on PATH; otherwise the folder alone
   macOS    DIST/VoiceLab-<version>-macos-<arch>.zip of VoiceLab.app (ditto keeps its
            symlinks and signatures)
3. With --self-test, the built app runs `--self-test` and the build fails when it does.

The last line printed is a JSON summary (build seconds, folder size, archive) for scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"


def app_version() -> str:
    sys.path.insert(0, str(ROOT))
    from voicelab import __version__

    return __version__


def run_pyinstaller(dist: Path, work: Path, quiet: bool = False) -> None:
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
               "--distpath", str(dist), "--workpath", str(work)]
    if quiet:
        command += ["--log-level", "WARN"]
    command.append(str(ROOT / "build.spec"))
    print("$", " ".join(command), flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def app_folder(dist: Path) -> Path:
    """The built app: the .app bundle on macOS, the one-folder app elsewhere."""
    return dist / "VoiceLab.app" if sys.platform == "darwin" else dist / "VoiceLab"


def app_executable(dist: Path) -> Path:
    if sys.platform == "darwin":
        return dist / "VoiceLab.app" / "Contents" / "MacOS" / "VoiceLab"
    return dist / "VoiceLab" / ("VoiceLab.exe" if os.name == "nt" else "VoiceLab")


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "arm64", "aarch64": "aarch64"}.get(machine, machine)


# -- per platform ------------------------------------------------------------------------
LINUX_INSTALL = """#!/bin/sh
# Install VoiceLab for this user: the app folder stays where it is (or pass a folder to
# move it to), the menu entry and icon go where desktops look for them.
set -e
here=$(cd "$(dirname "$0")" && pwd)
target=${1:-$here}
if [ "$target" != "$here" ]; then mkdir -p "$target" && cp -a "$here/." "$target/"; fi
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$data/applications" "$data/icons/hicolor/256x256/apps"
cp "$target/voicelab.png" "$data/icons/hicolor/256x256/apps/voicelab.png"
sed "s|^Exec=.*|Exec=\\"$target/VoiceLab\\" %F|" "$target/voicelab.desktop" > "$data/applications/voicelab.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" || true
echo "VoiceLab installed: $data/applications/voicelab.desktop -> $target/VoiceLab"
"""


def package_linux(dist: Path, version: str) -> Path:
    folder = app_folder(dist)
    shutil.copy2(PACKAGING / "linux" / "voicelab.desktop", folder / "voicelab.desktop")
    shutil.copy2(PACKAGING / "icons" / "voicelab.png", folder / "voicelab.png")
    install = folder / "install.sh"
    install.write_text(LINUX_INSTALL, encoding="utf-8")
    install.chmod(0o755)
    archive = dist / f"VoiceLab-{version}-linux-{_arch()}.tar.gz"
    name = f"VoiceLab-{version}"
    # Level 6: level 9 takes twice as long on torch's libraries for a 1 % smaller file.
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        tar.add(folder, arcname=name)
    return archive


def package_windows(dist: Path, version: str) -> Path | None:
    iscc = shutil.which("iscc") or shutil.which("ISCC")
    if iscc is None:
        print("Inno Setup (iscc) not on PATH: built the folder only, no installer.", flush=True)
        return None
    subprocess.run([iscc, f"/DAppVersion={version}", f"/DSourceDir={app_folder(dist)}",
                    f"/DOutputDir={dist}", str(PACKAGING / "windows" / "VoiceLab.iss")], check=True)
    return dist / f"VoiceLab-{version}-windows-x64-setup.exe"


def package_macos(dist: Path, version: str) -> Path:
    archive = dist / f"VoiceLab-{version}-macos-{_arch()}.zip"
    subprocess.run(["ditto", "-c", "-k", "--keepParent", str(app_folder(dist)), str(archive)], check=True)
    return archive


def self_test(dist: Path, report_dir: Path, extra: list[str]) -> int:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    command = [str(app_executable(dist)), "--self-test", "--report-dir", str(report_dir), *extra]
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller",
                        help="PyInstaller's work folder (default build/pyinstaller)")
    parser.add_argument("--no-archive", action="store_true", help="build the app folder only")
    parser.add_argument("--self-test", action="store_true", help="run the built app's --self-test")
    parser.add_argument("--whisper-model", type=Path, help="a Whisper model for the self-test to listen with")
    parser.add_argument("--quiet", action="store_true", help="PyInstaller warnings only")
    args = parser.parse_args(argv)

    version = app_version()
    dist, work = args.dist.resolve(), args.work.resolve()
    start = time.perf_counter()
    run_pyinstaller(dist, work, args.quiet)
    build_s = time.perf_counter() - start
    summary: dict[str, object] = {
        "version": version, "platform": sys.platform, "app": str(app_folder(dist)),
        "executable": str(app_executable(dist)), "build_s": round(build_s, 1),
        "size_bytes": folder_size(app_folder(dist)),
    }
    if not args.no_archive:
        start = time.perf_counter()
        if sys.platform.startswith("linux"):
            archive = package_linux(dist, version)
        elif sys.platform == "darwin":
            archive = package_macos(dist, version)
        else:
            archive = package_windows(dist, version)
        summary["archive"] = str(archive) if archive else None
        summary["archive_bytes"] = archive.stat().st_size if archive else None
        summary["archive_s"] = round(time.perf_counter() - start, 1)
    code = 0
    if args.self_test:
        extra = ["--whisper-model", str(args.whisper_model)] if args.whisper_model else []
        code = self_test(dist, work / "self-test", extra)
        summary["self_test"] = "passed" if code == 0 else f"failed (exit {code})"
    size_mb = summary["size_bytes"] / 1e6  # type: ignore[operator]
    print(f"Built {summary['app']} in {build_s:.0f} s, {size_mb:.0f} MB", flush=True)
    print(json.dumps(summary), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
