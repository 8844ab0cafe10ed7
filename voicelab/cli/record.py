"""`voicelab-cli dataset record NAME [--prompts FILE]`: the recording studio in a terminal.

For a server with a USB microphone, or anyone who prefers a terminal: the same prompt sets,
the same microphone code, the same checks and the same takes folder as the GUI's studio
(`voicelab.core.recording`), so a dataset can be recorded partly here and partly there.
One key and Enter per step: Enter records and stops, then Enter keeps a good take, `r`
records it again, `s` skips the prompt, `b` goes back, `q` quits. On a terminal a level
meter runs while recording. Playback is the GUI's (the CLI loads no audio output).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from voicelab.core.errors import VoiceLabError

METER_WIDTH = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--prompts", type=Path, metavar="FILE",
                        help="your own prompts: a UTF-8 text file, one prompt a line")
    parser.add_argument("--set", metavar="ID", help="a bundled prompt set: en, de, fr or es "
                                                    "(default: the dataset's, else English)")
    parser.add_argument("--language", help="the language of --prompts, e.g. en (default: detect)")
    parser.add_argument("--device", type=int, metavar="N", help="input device number "
                                                                "(see --list-devices)")
    parser.add_argument("--rate", type=int, metavar="HZ", help="recording rate (default 48000 "
                                                               "where the device has it)")
    parser.add_argument("--list-devices", action="store_true", help="list input devices and exit")
    parser.add_argument("--no-words", action="store_true",
                        help="do not check the words with Whisper (faster on a slow machine)")


class _Meter:
    """A one-line level meter on the terminal while a take records (a thread of its own)."""

    def __init__(self, recorder, stream) -> None:
        self.recorder, self.stream = recorder, stream
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="terminal-meter", daemon=True)

    def __enter__(self) -> _Meter:
        if getattr(self.stream, "isatty", lambda: False)():
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            level = self.recorder.meter()
            filled = int(max(0.0, min(1.0, (level.rms_db + 60) / 60)) * METER_WIDTH)
            clip = " CLIP" if level.clipped else "     "
            self.stream.write(f"\r  ● {self.recorder.recorded_s():5.1f} s  [{'#' * filled:<{METER_WIDTH}}] "
                              f"{level.rms_db:4.0f} dB{clip}  Enter stops ")
            self.stream.flush()

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
            self.stream.write("\r" + " " * 70 + "\r")


def _ask(stdin, out, question: str) -> str | None:
    out.write(f"  {question} > ")
    out.flush()
    line = stdin.readline()
    if not line:  # end of input: treated as quit
        return None
    return line.strip().lower()


def _choose_input(audio_input, takes, args):
    devices = audio_input.devices()
    saved = takes.settings()
    if args.device is not None:
        device = next((d for d in devices if d.index == args.device), None)
        if device is None:
            raise VoiceLabError(f"There is no input device {args.device}; see --list-devices.")
    else:
        device = next((d for d in devices if d.name == saved.get("device")), devices[0])
    rates = audio_input.rates(device.index)
    rate = args.rate or saved.get("rate") or (48000 if 48000 in rates else device.default_rate)
    return device, int(rate)


def record(args: argparse.Namespace, ws, audio_input=None, stdin=None, out=None) -> int:
    """The command; `audio_input`, `stdin` and `out` are for tests (a microphone double)."""
    from voicelab.cli.dataset_arg import open_dataset
    from voicelab.core.recording import audio_in
    from voicelab.core.recording.checks import ROOM_CHECK_S
    from voicelab.core.recording.recorder import Recorder
    from voicelab.core.recording.review import Hearing
    from voicelab.core.recording.takes import TakeFolder

    stdin, out = stdin or sys.stdin, out or sys.stdout
    audio_input = audio_input or audio_in.default_input()
    if args.list_devices:
        for device in audio_input.devices():
            mark = " (default)" if device.is_default else ""
            print(f"{device.index:3d}  {device.name}{mark}  {device.default_rate} Hz", file=out)
        if not audio_input.available:
            print(audio_input.unavailable_reason, file=sys.stderr)
        return 0
    dataset = open_dataset(ws, args.name)
    takes = TakeFolder(dataset)
    if args.prompts:
        takes.use_file(args.prompts, args.language)
    elif args.set:
        takes.use_bundled(args.set)
    prompts = takes.prompt_set()
    if not audio_input.available:
        raise VoiceLabError(audio_input.unavailable_reason)
    device, rate = _choose_input(audio_input, takes, args)
    recorder = Recorder(audio_input)
    recorder.open(device.index, rate)
    takes.save_settings(device=device.name, rate=rate)
    try:
        print(f"Recording '{dataset.name}' with {device.name} at {rate} Hz; prompts: "
              f"{prompts.name}.", file=out)
        print(takes.progress(prompts.prompts).text(), file=out)
        if takes.room_noise_db() is None and not _room_check(recorder, takes, stdin, out, ROOM_CHECK_S):
            return 0
        hearing = None if args.no_words else Hearing(ws)
        return _session(recorder, takes, prompts, hearing, stdin, out)
    finally:
        recorder.close()  # a take still recording is thrown away; kept takes are on disk


def _room_check(recorder, takes, stdin, out, seconds: float) -> bool:
    if _ask(stdin, out, f"Room check: stay silent for {seconds:g} seconds. Enter starts, q quits") in (None, "q"):
        return False
    recorder.start_take(pre_roll=False)
    while recorder.recorded_s() < seconds:
        if recorder.stalled():
            raise VoiceLabError("The microphone stopped sending audio (was it unplugged?).")
        time.sleep(0.05)
    take = recorder.stop_take()
    check = takes.measure_room(take.samples, take.rate)
    print(f"  {check.message}", file=out)
    return True


def _session(recorder, takes, prompts, hearing, stdin, out) -> int:
    from voicelab.core.recording.review import review_take

    texts = prompts.prompts
    index = takes.first_unrecorded(texts)
    while 0 <= index < len(texts):
        prompt = texts[index]
        kept = " (kept; Enter records it again)" if takes.kept_clip(prompt) is not None else ""
        print(f"\n[{index + 1}/{len(texts)}] {prompt}{kept}", file=out)
        answer = _ask(stdin, out, "Enter: record · s: skip · b: back · q: quit")
        if answer in (None, "q"):
            break
        if answer in ("s", "b"):
            index += 1 if answer == "s" else -1
            index = max(0, index)
            continue
        while True:  # record until a take is kept, or the person moves on
            recorder.start_take(takes.take_path(prompt))
            out.write("  ● Recording: read the prompt, then press Enter.\n")
            out.flush()
            with _Meter(recorder, out):
                stopped = stdin.readline()
            take = recorder.stop_take()
            if not stopped:  # end of input mid-take: that take is thrown away
                if take.writer is not None:
                    take.writer.abort()
                return 0
            result = review_take(take, prompt, room_noise_db=takes.room_noise_db(), hearing=hearing,
                                 language=prompts.language)
            verdict = ("Refused" if result.refused else "Flagged" if result.flagged else "Good take")
            print(f"  {verdict}: {result.check.figures()}.", file=out)
            for message in result.messages():
                print(f"    - {message}", file=out)
            if result.words is not None and result.words.checked:
                print(f"    heard: {result.words.heard}", file=out)
            choices = "Enter: record again · s: skip · q: quit" if result.refused else \
                "Enter: keep · r: record again · s: skip · q: quit"
            answer = _ask(stdin, out, choices)
            if answer in (None, "q"):
                print(takes.progress(texts).text(), file=out)
                return 0
            if answer == "s":
                index += 1
                break
            if answer == "" and not result.refused:
                clip = takes.keep(prompt, result.check, prompts.language)
                print(f"  Kept as {clip.id}. {takes.progress(texts).text()}", file=out)
                index += 1
                break
    print(takes.progress(texts).text(), file=out)
    return 0
