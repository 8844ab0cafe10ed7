"""Runtime hook of the packaged app: sounddevice loads the PortAudio bundled with it.

On Linux sounddevice looks for PortAudio only with `ctypes.util.find_library("portaudio")`
(its `_sounddevice_data` fallback exists on Windows and macOS alone), which finds a system
copy or nothing. The build bundles libportaudio.so.2 in the app folder, so a machine
without libportaudio2 installed can still play audio; this points the lookup at that copy,
the one the app was built and tested with. Other names resolve as before.
"""

import ctypes.util
import os
import sys


def _point_at_bundled_portaudio():
    if not sys.platform.startswith("linux"):
        return
    bundled = os.path.join(getattr(sys, "_MEIPASS", ""), "libportaudio.so.2")
    if not os.path.isfile(bundled):
        return
    system_lookup = ctypes.util.find_library

    def find_library(name):
        if name == "portaudio":
            return bundled
        return system_lookup(name)

    ctypes.util.find_library = find_library


_point_at_bundled_portaudio()
