"""The recording studio window: one prompt at a time, a live meter, each take judged at once.

Keys, as people expect from recording tools: Space or R records and stops, Enter keeps the
take and moves on, Backspace records the prompt again, ←/→ move between prompts, P plays
the take, T makes a test recording that plays back, N measures the room's noise.

What runs where (the window never waits on audio, disk or Whisper):
- the microphone's thread hands blocks to `Recorder`'s capture, which only queues;
- a take streams into its file on a writer thread (`TakeWriter`);
- the UI thread reads the meter every `METER_MS` and draws it;
- each stopped take is committed, checked and heard by `review_take` in a worker job,
  and a kept take goes into the dataset by `TakeFolder.keep` in another; the studio moves
  on to the next prompt at once, so reading is never held up by the writing.

With no microphone the studio says why in its banner and stays open: the prompts, the takes
kept so far and playing them back all work.

This module holds the window, its prompts and plumbing; what is done to a take is in
`take_actions.py`, choosing and testing the microphone in `microphone.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from voicelab.core.errors import VoiceLabError
from voicelab.core.recording.audio_in import AudioInput
from voicelab.core.recording.checks import ROOM_CHECK_S
from voicelab.core.recording.prompts import bundled_sets
from voicelab.core.recording.recorder import Recorder
from voicelab.core.recording.review import Hearing, TakeResult, review_file
from voicelab.core.recording.take_writer import read_take
from voicelab.core.recording.takes import TakeFolder
from voicelab.ui.audio_out import AudioOutput
from voicelab.ui.error_dialog import show_error
from voicelab.ui.studio.level_meter import LevelMeter
from voicelab.ui.studio.microphone import MicrophoneSetup
from voicelab.ui.studio.setup_bar import SetupBar
from voicelab.ui.studio.take_actions import TakeActions
from voicelab.ui.studio.take_view import TakeView
from voicelab.ui.widgets.clip_player import ClipPlayer
from voicelab.ui.workers import JobManager

METER_MS = 33  # the meter's fixed drawing rate: 30 a second
KEYS = ("Space/R record · stop   Enter keep and go on   Backspace retake   ←/→ prompts   "
        "P play   T test recording   N room check")


class RecordStudio(MicrophoneSetup, TakeActions, QWidget):
    """The studio for one dataset (a window of its own)."""

    takeReviewed = Signal(object)  # TakeResult, once the checks of a take are done
    takeKept = Signal(str)  # the clip id a kept take became
    roomChecked = Signal(object)  # RoomCheck
    testReviewed = Signal(object)  # TakeResult of a test recording

    def __init__(self, workspace, dataset, jobs: JobManager, output: AudioOutput,
                 audio_input: AudioInput, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.Window)
        self.workspace = workspace
        self.dataset = dataset
        self.jobs = jobs
        self.output = output
        self.folder = TakeFolder(dataset)
        self.recorder = Recorder(audio_input)
        self.hearing = Hearing(workspace)
        self.prompts = self.folder.prompt_set()
        self.index = self.folder.first_unrecorded(self.prompts.prompts)
        self.result: TakeResult | None = None
        self.mode = "idle"  # idle | recording | checking | room | test
        self._after_room: Callable[[], None] | None = None
        self._keeping: set = set()  # prompts whose take a job is putting into the dataset
        self._closed = False
        self.setWindowTitle(f"Record — {dataset.name}")
        self.setFocusPolicy(Qt.StrongFocus)
        self._build()
        self._shortcuts()
        self._open_input()
        self.timer = QTimer(self, interval=METER_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self.go_to(self.index)
        if self.recorder.is_open:
            self._run("Loading Whisper for the word check", self.hearing.load,
                      done=self._hearing_loaded)

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.setup = SetupBar()
        self.setup.rates_for = self.recorder.input.rates
        self.setup.inputChosen.connect(self.choose_input)
        self.setup.promptSetChosen.connect(self.use_prompt_set)
        self.setup.promptFileChosen.connect(self.use_prompt_file)
        self.setup.roomCheckRequested.connect(lambda: self.room_check())
        self.setup.testRequested.connect(self.toggle_test)
        self.setup.set_prompt_sets(bundled_sets(), self.prompts)
        self.setup.set_room(self.folder.room_noise_db())
        self.banner = QLabel()
        self.banner.setObjectName("studioBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("QLabel#studioBanner { color: #b45309; }")
        self.banner.setVisible(False)
        self.view = TakeView()
        self.meter = LevelMeter()
        self.view.extra.addWidget(self.meter)
        self.prev_button = QPushButton("◀ Previous")
        self.record_button = QPushButton("● Record")
        self.keep_button = QPushButton("✓ Keep")
        self.retake_button = QPushButton("↺ Retake")
        self.play_button = QPushButton("Play")
        self.next_button = QPushButton("Next ▶")
        buttons = QHBoxLayout()
        for button, slot, tip in (
                (self.prev_button, self.previous, "Previous prompt (←)"),
                (self.record_button, self.toggle_record, "Record or stop (Space or R)"),
                (self.keep_button, self.keep_and_next, "Keep the take and go on (Enter)"),
                (self.retake_button, self.retake, "Record this prompt again (Backspace)"),
                (self.play_button, None, "Play the take (P)"),
                (self.next_button, self.next, "Next prompt (→)")):
            button.setFocusPolicy(Qt.NoFocus)
            button.setToolTip(tip)
            if slot is not None:
                button.clicked.connect(slot)
            buttons.addWidget(button)
        self.player = ClipPlayer(self.output, self.view.waveform, self.play_button, self)
        self.play_button.setToolTip("Play the take (P)" if self.output.available
                                    else self.output.unavailable_reason)
        self.player.failed.connect(lambda message: self.view.set_status("refused", message))
        self.progress_label = QLabel()
        self.progress_label.setObjectName("studioProgress")
        self.progress_label.setWordWrap(True)
        keys = QLabel(KEYS)
        keys.setObjectName("studioKeys")
        keys.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.addWidget(self.setup)
        layout.addWidget(self.banner)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_label)
        layout.addWidget(keys)
        self.resize(1100, 720)

    def _shortcuts(self) -> None:
        for keys, slot in ((("Space", "R"), self.toggle_record),
                           (("Return", "Enter"), self.keep_and_next),
                           (("Backspace",), self.retake), (("Left",), self.previous),
                           (("Right",), self.next), (("P",), self.play),
                           (("T",), self.toggle_test), (("N",), lambda: self.room_check())):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), self, context=Qt.WindowShortcut)
                shortcut.activated.connect(slot)

    def _tick(self) -> None:
        """The fixed-rate UI update: the meter, and the clock of a take or check."""
        if not self.recorder.is_open:
            return
        if self.recorder.stalled():
            if self.mode in ("recording", "room", "test"):
                self.mode = "idle"
            self.recorder.close()  # a take in progress is thrown away
            self._no_input("The microphone stopped sending audio (was it unplugged?). Choose it "
                           "again above, or another one.", lost=False)
            return
        self.meter.set_level(self.recorder.meter())
        seconds = self.recorder.recorded_s()
        if self.mode == "recording":
            self.view.set_status("recording", f"Recording {seconds:.1f} s: read the prompt, "
                                              "then press Space.")
        elif self.mode == "test":
            self.view.set_status("recording", f"Test recording {seconds:.1f} s: say something, "
                                              "then press T or Space to hear it.")
        elif self.mode == "room":
            left = max(0.0, ROOM_CHECK_S - seconds)
            self.view.set_status("info", f"Room check: stay silent… {left:.0f} s")
            if seconds >= ROOM_CHECK_S:
                self._finish_room()

    # -- prompts ----------------------------------------------------------------------------
    @property
    def prompt(self) -> str:
        return self.prompts.prompts[self.index]

    def go_to(self, index: int) -> None:
        if self.mode in ("recording", "room", "test"):
            self.view.set_status("info", "Stop the recording first (Space).")
            return
        if self.mode == "checking":  # its verdict belongs to this prompt: wait for it (a second)
            return
        self.player.clear()
        self.index = max(0, min(len(self.prompts.prompts) - 1, index))
        self.result = None
        self.view.show_heard("")
        self.view.show_audio(None, 0)
        self._show_prompt()
        pending = self.folder.pending(self.prompt)
        kept = self.folder.kept_clip(self.prompt)
        if self.prompt in self._keeping:
            self.view.set_status("info", "Keeping this take…")
        elif pending is not None:
            self._review(review_file, pending, "Checking the take left from last time")
        elif kept is not None:
            self.view.set_status("good", "Kept. Record it again with R, or go on with Enter or →.")
            index_now = self.index
            self._run("Loading the kept take", lambda path, progress, cancel: read_take(path),
                      self.dataset.clip_path(kept.id),
                      done=lambda loaded: self._show_kept(index_now, loaded))
        else:
            self.view.set_status("info", "Press R (or Space) and read the prompt aloud."
                                 if self.recorder.is_open else "")
        self._update_buttons()

    def previous(self) -> None:
        self.go_to(self.index - 1)

    def next(self) -> None:
        self.go_to(self.index + 1)

    def _show_kept(self, index: int, loaded) -> None:
        if index == self.index and self.result is None and self.mode == "idle":
            samples, rate = loaded
            self.player.show(samples, rate)

    def _show_prompt(self) -> None:
        kept = self.folder.kept_clip(self.prompt)
        missed = self.result.words.missed if self.result is not None and self.result.mismatched else ()
        self.view.show_prompt(self.index, len(self.prompts.prompts), self.prompt,
                              kept.duration if kept is not None else None, missed)
        self.progress_label.setText(self.folder.progress(self.prompts.prompts).text())

    def use_prompt_set(self, set_id: str) -> None:
        self._switch_prompts(lambda: self.folder.use_bundled(set_id))

    def use_prompt_file(self, path: Path) -> None:
        self._switch_prompts(lambda: self.folder.use_file(Path(path)))

    def _switch_prompts(self, choose) -> None:
        if self.mode != "idle":
            self.view.set_status("info", "Finish the take first.")
            return
        try:
            self.prompts = choose()
        except VoiceLabError as exc:
            show_error(self, "Cannot use these prompts", str(exc))
            return
        self.setup.set_prompt_sets(bundled_sets(), self.prompts)
        self.go_to(self.folder.first_unrecorded(self.prompts.prompts))

    # -- plumbing ---------------------------------------------------------------------------
    def _run(self, title: str, func, *args, done=None, fail=None, **kwargs):
        job = self.jobs.run(title, func, *args, holds=[("dataset", self.dataset.name)], **kwargs)
        if done is not None:  # a job may end after the window closed: then nobody is told
            job.finished.connect(lambda value: None if self._closed else done(value))
        if fail is not None:
            job.failed.connect(lambda message, _details: None if self._closed else fail(message))
        return job

    def _hearing_loaded(self, note: str) -> None:
        if note and self.mode == "idle" and self.result is None:
            self.view.set_status("flag", note)

    def _update_buttons(self) -> None:
        idle = self.mode == "idle"
        live = self.recorder.is_open
        self.record_button.setText("■ Stop" if self.mode in ("recording", "test") else "● Record")
        self.record_button.setEnabled(live and self.mode in ("idle", "recording", "test"))
        self.retake_button.setEnabled(live and self.mode in ("idle", "recording"))
        self.keep_button.setEnabled(idle and self.result is not None and not self.result.refused)
        self.prev_button.setEnabled(idle and self.index > 0)
        self.next_button.setEnabled(idle and self.index + 1 < len(self.prompts.prompts))
        self.play_button.setEnabled(self.mode in ("idle", "checking"))
        self.setup.room_button.setEnabled(live and idle)
        self.setup.test_button.setEnabled(live and self.mode in ("idle", "test"))

    def follow_dataset(self, name: str) -> None:
        """The Dataset tab now shows another dataset (or this one was renamed): close."""
        if name != self.dataset.name:
            self.close()

    def closeEvent(self, event) -> None:
        self._closed = True
        self.timer.stop()
        self.player.stop()
        self.recorder.close()  # a take still recording is thrown away; kept takes are on disk
        super().closeEvent(event)


def open_studio(workspace, dataset, jobs: JobManager, output: AudioOutput, audio_input: AudioInput,
                parent: QWidget | None = None) -> RecordStudio:
    """Make and show the studio for `dataset` (the Dataset tab's Record button)."""
    studio = RecordStudio(workspace, dataset, jobs, output, audio_input, parent)
    studio.show()
    studio.raise_()
    studio.activateWindow()
    return studio
