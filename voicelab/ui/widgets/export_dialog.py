"""The Export clip dialog: a file name made from what the clip says, its folder, the format,
the sample rate and, for MP3, the bitrate.

VoiceLab's own dialog, not the platform's save dialog, because the choices that decide the
file (its rate, an MP3's bitrate) belong beside its name, and a save dialog only returns a
path. The name is the core's proposal (`export_name`: the clip's words, free in the
folder) and stays editable. While it is still the proposal, a new format or folder
proposes again; once edited, only its ending follows the format (and a typed ending picks
the format). A name that is taken says Export replaces the file; one that cannot be a
file says why, and Export waits. MP3 offers only the rates MPEG defines and the bitrates
the chosen rate can carry (`mp3_bitrate_range`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from voicelab.core.audio import DEFAULT_MP3_KBPS, MP3_BITRATES, MP3_SAMPLE_RATES, WRITE_FORMATS, mp3_bitrate_range
from voicelab.core.names import BadName, check_name, export_name
from voicelab.core.synthesis.presets import SAMPLE_RATES
from voicelab.ui.wheel_guard import guard_wheel

_FORMAT_LABELS = {"wav": "WAV", "flac": "FLAC (lossless, smaller)", "ogg": "Ogg Vorbis", "mp3": "MP3"}


@dataclass(frozen=True)
class ExportChoice:
    """Where a clip goes and how it is written."""

    path: Path
    sample_rate: int | None  # None: the clip's own
    mp3_kbps: int | None  # MP3 only


class ExportDialog(QDialog):
    def __init__(self, text: str, clip_rate: int, folder: Path, format: str = "wav",
                 sample_rate: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export clip")
        self.setMinimumWidth(560)
        self._text, self._clip_rate = text, int(clip_rate)
        self._proposed = ""
        self.name_edit = QLineEdit(objectName="exportName")
        self.folder_edit = QLineEdit(str(folder), objectName="exportFolder")
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(choose)
        self.format_combo = QComboBox(objectName="exportFormat")
        for fmt in WRITE_FORMATS:
            self.format_combo.addItem(_FORMAT_LABELS[fmt], fmt)
        self.format_combo.setCurrentIndex(max(0, self.format_combo.findData(format)))
        self.rate_combo = QComboBox(objectName="exportRate")
        self.rate_combo.addItem(f"As the voice ({self._clip_rate:,} Hz)", 0)
        for rate in sorted(set(SAMPLE_RATES) | ({sample_rate} if sample_rate else set())):
            self.rate_combo.addItem(f"{rate:,} Hz", rate)
        self.rate_combo.setCurrentIndex(max(0, self.rate_combo.findData(sample_rate or 0)))
        self.bitrate_combo = QComboBox(objectName="exportBitrate")
        for kbps in MP3_BITRATES:
            self.bitrate_combo.addItem(f"{kbps} kbps", kbps)
        self.bitrate_combo.setCurrentIndex(self.bitrate_combo.findData(DEFAULT_MP3_KBPS))
        self.note = QLabel(objectName="exportNote")
        self.note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        self.form = QFormLayout()
        self.form.addRow("File name:", self.name_edit)
        self.form.addRow("Folder:", folder_row)
        self.form.addRow("Format:", self.format_combo)
        self.form.addRow("Sample rate:", self.rate_combo)
        self.form.addRow("MP3 bitrate:", self.bitrate_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)

        self._propose()
        self._limit_choices()
        self.name_edit.textEdited.connect(self._name_edited)
        self.name_edit.textChanged.connect(self._check)
        self.folder_edit.textChanged.connect(self._folder_changed)
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        self.rate_combo.currentIndexChanged.connect(self._limit_choices)
        guard_wheel(self)
        self.name_edit.setFocus()
        self.name_edit.setSelection(0, len(Path(self._proposed).stem))  # type over the words only

    # -- what was chosen ----------------------------------------------------------------------
    def format(self) -> str:
        return self.format_combo.currentData()

    def sample_rate(self) -> int | None:
        """The rate chosen, None for the clip's own."""
        return self.rate_combo.currentData() or None

    def folder(self) -> Path:
        return Path(self.folder_edit.text().strip()).expanduser()

    def path(self) -> Path:
        """The file the export writes: the name in the folder, with the format's ending when
        the name has no audio ending of its own."""
        name = self.name_edit.text().strip()
        if _ending(name) is None:
            name = f"{name}.{self.format()}"
        return self.folder() / name

    def choice(self) -> ExportChoice:
        return ExportChoice(self.path(), self.sample_rate(),
                            self.bitrate_combo.currentData() if self.format() == "mp3" else None)

    # -- keeping the fields consistent --------------------------------------------------------
    def _propose(self) -> None:
        self._proposed = export_name(self._text, self.folder(), self.format())
        self.name_edit.setText(self._proposed)

    def _name_edited(self, text: str) -> None:
        """A typed audio ending picks the format."""
        index = self.format_combo.findData(_ending(text.strip()))
        if index >= 0 and index != self.format_combo.currentIndex():
            self.format_combo.setCurrentIndex(index)

    def _format_changed(self) -> None:
        name = self.name_edit.text().strip()
        if not name or name == self._proposed:
            self._propose()
        else:
            stem = name[: -len(_ending(name)) - 1] if _ending(name) else name
            if f"{stem}.{self.format()}" != name:
                self.name_edit.setText(f"{stem}.{self.format()}")
        self._limit_choices()

    def _folder_changed(self) -> None:
        if self.name_edit.text().strip() == self._proposed:
            self._propose()  # free in the new folder
        self._check()

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", str(self.folder()))
        if folder:
            self.folder_edit.setText(folder)

    def _limit_choices(self) -> None:
        """MP3: only MPEG's rates, and only the bitrates the rate carries."""
        mp3 = self.format() == "mp3"
        for index in range(self.rate_combo.count()):
            rate = self.rate_combo.itemData(index) or self._clip_rate
            _enable(self.rate_combo, index, not mp3 or rate in MP3_SAMPLE_RATES)
        if not _enabled(self.rate_combo, self.rate_combo.currentIndex()):
            self.rate_combo.setCurrentIndex(self.rate_combo.findData(22050))
        rate = self.sample_rate() or self._clip_rate
        low, high = mp3_bitrate_range(rate)
        for index in range(self.bitrate_combo.count()):
            _enable(self.bitrate_combo, index, low <= self.bitrate_combo.itemData(index) <= high)
        if not _enabled(self.bitrate_combo, self.bitrate_combo.currentIndex()):
            allowed = [i for i in range(self.bitrate_combo.count()) if _enabled(self.bitrate_combo, i)]
            self.bitrate_combo.setCurrentIndex(allowed[-1])
        self.bitrate_combo.setToolTip(
            f"An MP3 at {rate:,} Hz carries at most {high} kbps"
            + ("; choose 32,000 Hz or more for a higher bitrate." if high < 320 else "."))
        self.form.setRowVisible(self.bitrate_combo, mp3)
        self._check()

    def _check(self) -> None:
        """Say what Export would do, or why it cannot."""
        problem = None
        try:
            check_name(self.name_edit.text(), "file")
        except BadName as error:
            problem = str(error)
        if problem is None and not self.folder().is_dir():
            problem = f"The folder {self.folder()} does not exist; choose another."
        replaces = problem is None and self.path().exists()
        self.note.setText(problem or (f"{self.path().name} is already in this folder: Export "
                                      f"replaces it." if replaces else ""))
        ok = self.buttons.button(QDialogButtonBox.Ok)
        ok.setEnabled(problem is None)
        ok.setText("Replace" if replaces else "Export")

    def accept(self) -> None:
        if self.buttons.button(QDialogButtonBox.Ok).isEnabled():
            super().accept()


def ask_export(parent: QWidget | None, text: str, clip_rate: int, folder: Path, format: str,
               sample_rate: int | None) -> ExportChoice | None:
    """Ask where and how to export a clip that says `text`; None when the user cancelled.
    `format` and `sample_rate` are the preset's, offered first."""
    dialog = ExportDialog(text, clip_rate, folder, format, sample_rate, parent)
    try:
        return dialog.choice() if dialog.exec() == QDialog.Accepted else None
    finally:
        dialog.deleteLater()


def _ending(name: str) -> str | None:
    """The audio format a file name ends in ("oga" counts as Ogg), or None."""
    suffix = Path(name).suffix.lower().lstrip(".")
    suffix = "ogg" if suffix == "oga" else suffix
    return suffix if suffix in WRITE_FORMATS else None


def _enable(combo: QComboBox, index: int, on: bool) -> None:
    combo.model().item(index).setEnabled(on)


def _enabled(combo: QComboBox, index: int) -> bool:
    return index >= 0 and combo.model().item(index).isEnabled()
