"""The committed packaging files: icons per platform, the Linux archive, desktop and plist values."""

from __future__ import annotations

import plistlib
import runpy
import tarfile
from configparser import ConfigParser
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT
PACKAGING = REPO / "packaging"


def test_icons_exist_in_each_platforms_format():
    Image = pytest.importorskip("PIL.Image")  # pillow comes with piper-tts[train] (tensorboard)

    png = Image.open(PACKAGING / "icons" / "voicelab.png")
    assert png.format == "PNG" and png.size == (256, 256) and png.mode == "RGBA"
    ico = Image.open(PACKAGING / "icons" / "voicelab.ico")
    assert ico.format == "ICO" and {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    icns = Image.open(PACKAGING / "icons" / "voicelab.icns")
    assert icns.format == "ICNS" and icns.size == (1024, 1024)
    # Drawn from the SVG, not blank: the corners are transparent, the middle is not.
    assert png.getpixel((0, 0))[3] == 0 and png.getpixel((128, 128))[3] == 255


def test_desktop_file_launches_voicelab_with_its_icon():
    entry = ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(PACKAGING / "linux" / "voicelab.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Exec"].startswith("VoiceLab")
    assert desktop["Icon"] == "voicelab" and desktop["Terminal"] == "false"


def test_macos_plist_asks_for_the_microphone():
    with open(PACKAGING / "macos" / "Info.plist", "rb") as handle:
        plist = plistlib.load(handle)
    assert plist["CFBundleIdentifier"].count(".") >= 2
    assert "record" in plist["NSMicrophoneUsageDescription"]
    assert plist["NSHighResolutionCapable"] is True


def test_windows_version_numbers_come_from_the_app_version():
    numeric = runpy.run_path(str(PACKAGING / "windows" / "version_info.py"))["numeric"]
    assert numeric("0.1.0") == (0, 1, 0, 0)
    assert numeric("1.2.3rc1+local") == (1, 2, 3, 0)
    iss = (PACKAGING / "windows" / "VoiceLab.iss").read_text(encoding="utf-8")
    assert "VoiceLab.exe" in iss and "voicelab.ico" in iss and "{#AppVersion}" in iss


def test_linux_archive_holds_the_app_with_its_menu_entry(tmp_path, monkeypatch):
    build = runpy.run_path(str(PACKAGING / "build.py"))
    app = tmp_path / "dist" / "VoiceLab"
    (app / "_internal").mkdir(parents=True)
    (app / "VoiceLab").write_bytes(b"\x7fELF")
    (app / "VoiceLab").chmod(0o755)
    archive = build["package_linux"](tmp_path / "dist", "9.8.7")
    assert archive.name.startswith("VoiceLab-9.8.7-linux-") and archive.name.endswith(".tar.gz")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        mode = tar.getmember("VoiceLab-9.8.7/VoiceLab").mode
        install = tar.extractfile("VoiceLab-9.8.7/install.sh").read().decode()
    assert {"VoiceLab-9.8.7/VoiceLab", "VoiceLab-9.8.7/voicelab.desktop", "VoiceLab-9.8.7/voicelab.png",
            "VoiceLab-9.8.7/install.sh", "VoiceLab-9.8.7/_internal"} <= names
    assert mode & 0o111
    assert "applications" in install and "hicolor" in install


@pytest.mark.skipif(not Path("/bin/sh").exists(), reason="needs a POSIX shell")
def test_linux_install_script_writes_a_menu_entry_that_points_at_the_app(tmp_path):
    import subprocess

    build = runpy.run_path(str(PACKAGING / "build.py"))
    app = tmp_path / "dist" / "VoiceLab"
    app.mkdir(parents=True)
    (app / "VoiceLab").write_text("#!/bin/sh\n", encoding="utf-8")
    build["package_linux"](tmp_path / "dist", "1.0")
    data = tmp_path / "share"
    done = subprocess.run(["sh", str(app / "install.sh")], env={"XDG_DATA_HOME": str(data), "HOME": str(tmp_path),
                                                              "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    entry = (data / "applications" / "voicelab.desktop").read_text(encoding="utf-8")
    assert f'Exec="{app}/VoiceLab" %F' in entry
    assert (data / "icons" / "hicolor" / "256x256" / "apps" / "voicelab.png").is_file()
