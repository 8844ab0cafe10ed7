#!/bin/sh
# System libraries VoiceLab needs on Debian/Ubuntu: PortAudio for playback, espeak-ng and sox
# for test speech, ffmpeg, Xvfb for screenshots, and the xcb libraries Qt's xcb platform loads.
# Skips quietly where apt is missing (other distributions: install the same by hand).
set -e
PKGS="libportaudio2 espeak-ng sox ffmpeg xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-image0 \
libxcb-render-util0 libxcb-cursor0 libxcb-shape0 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-get not found: install these yourself if missing: $PKGS"
  exit 0
fi
missing=""
for p in $PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "Installing system packages:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
