"""A take streams into a temporary file while it is recorded, and becomes the take when it stops.

The input's thread only queues each block (`put` never waits); a writer thread of its own
writes them. The file is opened with `fileio.atomic_open`, so while the take runs it has a
temporary name (`.take_<key>.wav.<random>.tmp`, next to the take), and `finish` flushes,
fsyncs and renames it onto `takes/<key>.wav`: a take appears whole or not at all, and a
retake replaces the previous take of that prompt in one step. A process killed mid-take
leaves only the temporary file, which `takes.TakeFolder` removes the next time the dataset
is recorded into; `abort` (a window closed mid-take, a take thrown away) removes it at once.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np

from voicelab.core.errors import VoiceLabError
from voicelab.core.fileio import atomic_open

_FINISH = object()
_ABORT = object()


class TakeError(VoiceLabError):
    """A take could not be written or read back; the message names the file and the fix."""


class _Aborted(Exception):
    pass


class TakeWriter:
    """Writes one take, mono 16-bit WAV at `rate`, to `path` when `finish`ed."""

    def __init__(self, path: Path, rate: int) -> None:
        self.path = Path(path)
        self.rate = int(rate)
        self.frames = 0
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._done = False
        self._thread = threading.Thread(target=self._run, name=f"take-writer {self.path.name}",
                                        daemon=True)
        self._thread.start()

    def put(self, block: np.ndarray) -> None:
        """Queue a block (any thread; returns at once)."""
        self._queue.put(block)

    def _run(self) -> None:
        import soundfile

        try:
            with atomic_open(self.path, "wb") as handle:
                with soundfile.SoundFile(handle, "w", samplerate=self.rate, channels=1,
                                         format="WAV", subtype="PCM_16") as out:
                    while True:
                        block = self._queue.get()
                        if block is _FINISH:
                            break
                        if block is _ABORT:
                            raise _Aborted()
                        out.write(np.clip(block, -1.0, 1.0))
                        self.frames += len(block)
        except _Aborted:
            pass  # atomic_open removed the temporary file
        except (OSError, RuntimeError, ValueError) as exc:  # disk full, folder gone, libsndfile
            self._error = exc

    def finish(self, timeout_s: float = 30.0) -> Path:
        """Write what is queued, then the file becomes `path`. Blocks: call off the UI thread."""
        if self._done:
            raise TakeError("This take was already finished or thrown away.")
        self._done = True
        self._queue.put(_FINISH)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise TakeError(f"Writing the take {self.path} did not finish within {timeout_s:g} s; "
                            "is the disk very slow or full?")
        if self._error is not None:
            reason = getattr(self._error, "strerror", None) or self._error
            raise TakeError(f"Cannot write the take {self.path}: {reason}. Free some disk space "
                            "and record it again.")
        return self.path

    def abort(self, wait: bool = True) -> None:
        """Throw the take away: the temporary file is removed and `path` is left as it was."""
        if self._done:
            return
        self._done = True
        self._queue.put(_ABORT)
        if wait:
            self._thread.join(10.0)

    def is_alive(self) -> bool:
        return self._thread.is_alive()


def read_take(path: Path) -> tuple[np.ndarray, int]:
    """A take file's samples (float32 mono) and rate."""
    import soundfile

    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as exc:
        raise TakeError(f"Cannot read the take {path}: {exc}. Record the prompt again.") from None
    return samples.mean(axis=1).astype(np.float32), int(rate)
