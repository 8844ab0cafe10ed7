"""The version resource of VoiceLab.exe (Explorer's Properties → Details), from one version string.

build.spec calls `version_info(voicelab.__version__)` on Windows, so the numbers in the
file's properties can never disagree with the app's own. Windows wants four 16-bit numbers;
a version like "0.2.0rc1" keeps its leading digits ("0.2.0.0") for the numeric fields and
its full text for the string fields.
"""

from __future__ import annotations

import re

COMPANY = "VoiceLab"
DESCRIPTION = "VoiceLab voice-cloning studio"
COPYRIGHT = "VoiceLab contributors, GPL-3.0-or-later"


def numeric(version: str) -> tuple:
    release = re.match(r"[\d.]*", version).group(0)  # "0.2.0rc1+local" -> "0.2.0"
    numbers = [int(n) for n in release.split(".") if n][:4]
    return tuple(numbers + [0] * (4 - len(numbers)))


def version_info(version: str):
    from PyInstaller.utils.win32.versioninfo import (
        FixedFileInfo,
        StringFileInfo,
        StringStruct,
        StringTable,
        VarFileInfo,
        VarStruct,
        VSVersionInfo,
    )

    numbers = numeric(version)
    strings = [
        StringStruct("CompanyName", COMPANY),
        StringStruct("FileDescription", DESCRIPTION),
        StringStruct("FileVersion", version),
        StringStruct("InternalName", "VoiceLab"),
        StringStruct("LegalCopyright", COPYRIGHT),
        StringStruct("OriginalFilename", "VoiceLab.exe"),
        StringStruct("ProductName", "VoiceLab"),
        StringStruct("ProductVersion", version),
    ]
    return VSVersionInfo(
        ffi=FixedFileInfo(filevers=numbers, prodvers=numbers, mask=0x3F, flags=0x0,
                          OS=0x40004, fileType=0x1, subtype=0x0, date=(0, 0)),
        kids=[StringFileInfo([StringTable("040904B0", strings)]),  # US English, Unicode
              VarFileInfo([VarStruct("Translation", [0x0409, 1200])])],
    )
