"""Render the app icon for every platform from its one source, resources/icons/voicelab.svg.

Each platform wants its own container: Linux desktops a PNG (hicolor theme, 256 px),
Windows an .ico holding 16 to 256 px images (Explorer, taskbar, installer), macOS an
.icns holding 16 to 1024 px. Qt renders the SVG at each size (a downscaled big bitmap
blurs the small sizes), Pillow writes the containers. The results are committed, so a build
needs neither step; run this again after editing the SVG:

    .venv/bin/python packaging/make_icons.py
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "resources" / "icons" / "voicelab.svg"
OUT = ROOT / "packaging" / "icons"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def render(size: int):
    """The SVG drawn at `size` x `size` pixels, as a Pillow RGBA image."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise SystemExit(f"{SOURCE} is not a valid SVG")
    image = QImage(size, size, QImage.Format_ARGB32)
    image.fill(Qt.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return Image.open(io.BytesIO(bytes(data))).convert("RGBA")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.instance() is None:  # QPainter needs a GUI application (fonts, plugins)
        _app = QGuiApplication(sys.argv[:1])  # noqa: F841 - must stay alive while rendering
    OUT.mkdir(parents=True, exist_ok=True)
    images = {size: render(size) for size in sorted(set(ICO_SIZES) | set(ICNS_SIZES))}
    images[256].save(OUT / "voicelab.png")
    images[512].save(OUT / "voicelab-512.png")
    images[256].save(OUT / "voicelab.ico", sizes=[(s, s) for s in ICO_SIZES],
                     append_images=[images[s] for s in ICO_SIZES if s != 256])
    images[1024].save(OUT / "voicelab.icns", append_images=[images[s] for s in ICNS_SIZES if s != 1024])
    for name in ("voicelab.png", "voicelab-512.png", "voicelab.ico", "voicelab.icns"):
        print(f"{OUT / name}  {(OUT / name).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
