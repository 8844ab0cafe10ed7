"""The studio's microphone: choosing it and its rate, the room check and the test recording.

A mixin of `RecordStudio` (studio.py), kept apart because it is the setting-up half of the
studio: everything here happens before (or between) the takes, and none of it is kept in
the dataset except the room's noise level and the device chosen.
"""

from __future__ import annotations

from collections.abc import Callable

from voicelab.core.recording.audio_in import AudioInputError
from voicelab.core.recording.review import TakeResult, review_take


class MicrophoneSetup:
    """Relies on the studio's recorder, folder, setup bar, view, meter, player and `_run`."""

    def _open_input(self) -> None:
        if not self.recorder.available:
            self._no_input(self.recorder.unavailable_reason)
            return
        devices = self.recorder.input.devices()
        saved = self.folder.settings()
        device = next((d for d in devices if d.name == saved.get("device")), devices[0])
        rates = self.recorder.input.rates(device.index)
        wanted = saved.get("rate") or (48000 if 48000 in rates else device.default_rate)
        rate = wanted if wanted in rates else (rates[0] if rates else device.default_rate)
        self.setup.set_devices(devices, device.index, rates, rate)
        self.choose_input(device.index, rate, save=False)

    def choose_input(self, device, rate: int, save: bool = True) -> None:
        if self.mode in ("recording", "room", "test"):
            self.recorder.discard_take()
            self.mode = "idle"
        try:
            self.recorder.open(device, rate)
        except AudioInputError as exc:
            self._no_input(str(exc), lost=False)
            return
        self.banner.setVisible(rate < self.dataset.sample_rate)
        self.banner.setText(f"The microphone records at {rate} Hz, below the dataset's "
                            f"{self.dataset.sample_rate} Hz: choose a higher rate if it offers one.")
        self._set_input_enabled(True)
        if save:
            name = next((d.name for d in self.recorder.input.devices() if d.index == device), None)
            self.folder.save_settings(device=name, rate=int(rate))

    def _no_input(self, reason: str, lost: bool = True) -> None:
        self.banner.setText(f"{reason} You can still read the prompts, and review and play the "
                            "takes kept so far.")
        self.banner.setVisible(True)
        self._set_input_enabled(False, lost)

    def _set_input_enabled(self, enabled: bool, lost: bool = True) -> None:
        self.setup.set_input_enabled(enabled)
        if not enabled and lost:
            self.setup.device_combo.setEnabled(False)
        elif not enabled:  # the device is there but would not open: let the person pick another
            self.setup.device_combo.setEnabled(True)
            self.setup.rate_combo.setEnabled(True)
        self.meter.set_enabled_input(enabled)
        self._update_buttons()

    def room_check(self, then: Callable[[], None] | None = None) -> None:
        if self.mode != "idle" or not self.recorder.is_open:
            return
        self.player.clear()
        self._after_room = then
        self.recorder.start_take(pre_roll=False)
        self.mode = "room"
        self._tick()
        self._update_buttons()

    def _finish_room(self) -> None:
        take = self.recorder.stop_take()
        self.mode = "checking"
        self._run("Checking the room's noise", self.folder.measure_room, take.samples, take.rate,
                  done=self._room_done, fail=lambda message: self._check_failed(self.index, message))

    def _room_done(self, check) -> None:
        self.mode = "idle"
        then, self._after_room = self._after_room, None
        self.setup.set_room(None if check.interrupted else check.noise_db)
        self.view.set_status("good" if check.usable else "flag", check.message)
        self._update_buttons()
        self.roomChecked.emit(check)
        if then is not None and check.usable and not self._closed:
            then()

    def toggle_test(self) -> None:
        if self.mode == "test":
            take = self.recorder.stop_take()
            self.mode = "checking"
            self._run("Checking the test recording", review_take, take, "",
                      room_noise_db=self.folder.room_noise_db(), done=self._tested,
                      fail=lambda message: self._check_failed(self.index, message))
        elif self.mode == "idle" and self.recorder.is_open:
            self.player.clear()
            self.recorder.start_take()
            self.mode = "test"
            self._tick()
        self._update_buttons()

    def _tested(self, result: TakeResult) -> None:
        self.mode = "idle"
        problems = [p.message for p in result.check.problems]
        kind = "refused" if result.refused else ("flag" if problems else "good")
        self.view.set_status(kind, f"Test recording: {result.check.figures()}. "
                                   + ("Playing it back." if self.output.available else
                                      self.output.unavailable_reason), problems)
        self.view.show_audio(result.samples, result.rate)
        self.player.show(result.samples, result.rate)
        if self.output.available:
            self.player.play()
        self._update_buttons()
        self.testReviewed.emit(result)
