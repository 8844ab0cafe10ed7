"""The studio's takes: record one, stop it, have it checked, keep it or record it again.

A mixin of `RecordStudio` (studio.py), kept apart because it is the reading half of the
studio, as `MicrophoneSetup` is the setting-up half: what a person does to the take of the
prompt in view. Checking and keeping run as jobs (`_run`), so the studio moves on to the
next prompt while a kept take is still being written into the dataset.
"""

from __future__ import annotations

from voicelab.core.recording.review import TakeResult, review_take
from voicelab.ui.error_dialog import show_error


class TakeActions:
    """Relies on the studio's recorder, folder, prompts, view, player, `mode`, `go_to`, `_run`
    and `_update_buttons`, and emits its `takeReviewed` and `takeKept`."""

    def toggle_record(self) -> None:
        if self.mode == "recording":
            self.stop_and_review()
        elif self.mode == "test":
            self.toggle_test()
        elif self.mode == "idle":
            self.start_take()

    def start_take(self) -> None:
        if not self.recorder.is_open:
            self.view.set_status("refused", self.recorder.unavailable_reason or
                                 "The microphone is not open: choose one above.")
            return
        if self.prompt in self._keeping:  # the take being kept would be written over
            self.view.set_status("info", "Still keeping the last take of this prompt; a moment…")
            return
        if self.folder.room_noise_db() is None:  # the room check comes before the first prompt
            self.room_check(then=self.start_take)
            return
        self.player.clear()
        self.result = None
        self.view.show_heard("")
        self._show_prompt()
        self.recorder.start_take(self.folder.take_path(self.prompt))
        self.mode = "recording"
        self._tick()
        self._update_buttons()

    def stop_and_review(self) -> None:
        take = self.recorder.stop_take()
        self.mode = "idle"
        self._review(review_take, take, "Checking the take")

    def _review(self, func, what, message: str) -> None:
        self.mode = "checking"
        self.view.set_status("info", f"{message}…")
        index, prompt = self.index, self.prompt
        self._run(f"Checking take {index + 1}", func, what, prompt,
                  room_noise_db=self.folder.room_noise_db(), hearing=self.hearing,
                  language=self.prompts.language,
                  done=lambda result: self._reviewed(index, result),
                  fail=lambda message: self._check_failed(index, message))
        self._update_buttons()

    def _reviewed(self, index: int, result: TakeResult) -> None:
        self.mode = "idle" if self.mode == "checking" else self.mode
        if index == self.index:
            self.result = result
            self.view.show_result(result, self.recorder.is_open)
            self.player.show(result.samples, result.rate)
            self._show_prompt()
        self._update_buttons()
        self.takeReviewed.emit(result)

    def _check_failed(self, index: int, message: str) -> None:
        self.mode = "idle" if self.mode == "checking" else self.mode
        if index == self.index:
            self.view.set_status("refused", message)
        self._update_buttons()

    def keep_and_next(self) -> None:
        if self.mode == "recording":
            self.stop_and_review()
            return
        if self.mode != "idle":
            return
        result = self.result
        if result is None:
            if self.folder.kept_clip(self.prompt) is not None:
                self.next()
            else:
                self.view.set_status("info", "Nothing to keep yet: press R and read the prompt.")
            return
        if result.refused:
            self.view.set_status("refused", "This take cannot be kept: record it again (R).",
                                 result.messages())
            return
        index, prompt = self.index, self.prompt
        self._keeping.add(prompt)
        job = self._run(f"Keeping take {index + 1}", self.folder.keep, prompt, result.check,
                        self.prompts.language, done=self._kept,
                        fail=lambda message: show_error(self, "The take was not kept", message))
        job.ended.connect(lambda: self._keeping.discard(prompt))
        self.result = None
        if index + 1 < len(self.prompts.prompts):
            self.go_to(index + 1)
        else:
            self.view.set_status("good", "That was the last prompt. Thank you!")

    def _kept(self, clip) -> None:
        self._show_prompt()
        self.takeKept.emit(clip.id)

    def retake(self) -> None:
        if self.mode == "recording":
            self.recorder.discard_take()
            self.mode = "idle"
        if self.mode == "idle":
            self.start_take()

    def play(self) -> None:
        if self.mode in ("recording", "room", "test"):
            return
        if not self.output.available:
            self.view.set_status("refused", self.output.unavailable_reason)
            return
        self.player.toggle()
