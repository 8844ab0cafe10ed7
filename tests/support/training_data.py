"""Test-only training helpers, built on the one tiny model (voicelab/selftest/tiny.py).

The tiny model, its trainer hook, its config and the spoken dataset it trains on are the
app's (the self-test and bench/ train them too). What only tests need stays here: a hook
whose second checkpoint save hangs half-written (to kill a trainer at the worst moment),
and run folders with scores and checkpoints but no training behind them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voicelab.selftest.tiny import tiny_discriminator

#: Environment variable naming a file: `tiny_and_hanging_save` creates it when it hangs.
SAVE_MARKER_ENV = "VOICELAB_TEST_SAVE_MARKER"


def tiny_and_hanging_save(model: Any) -> None:
    """Trainer hook: tiny discriminator, and the second checkpoint save hangs half-written.

    The save writes half of a real checkpoint through the same atomic writer, creates the
    file named by `VOICELAB_TEST_SAVE_MARKER` and sleeps, so a test can SIGKILL the trainer
    at the worst moment: in the middle of writing a checkpoint.
    """
    import io
    import os
    import time

    import torch

    from voicelab.core.fileio import atomic_open
    from voicelab.core.training.trainer import callbacks

    tiny_discriminator(model)
    original = callbacks.AtomicCheckpointIO.save_checkpoint
    saves = []

    def hanging(self, checkpoint, path, storage_options=None):
        saves.append(path)
        if len(saves) < 2:
            return original(self, checkpoint, path, storage_options)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        data = buffer.getvalue()
        with atomic_open(path, "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
            Path(os.environ[SAVE_MARKER_ENV]).write_text(str(path), encoding="utf-8")
            time.sleep(120)
            handle.write(data[len(data) // 2:])

    callbacks.AtomicCheckpointIO.save_checkpoint = hanging


class ScoredRun:
    """A run folder as a trainer leaves it, without training: train.yaml naming a dataset,
    checkpoint files and an events.jsonl of preview rounds and checkpoints written with the
    trainer's own event builders (for the ranking, export checks, and what the shells show)."""

    def __init__(self, root: Path, dataset: str = "joe") -> None:
        import yaml

        from voicelab.core.training.run import events

        self.root = Path(root)
        (self.root / "checkpoints").mkdir(parents=True)
        (self.root / "train.yaml").write_text(yaml.safe_dump({"dataset": f"/datasets/{dataset}"}),
                                              encoding="utf-8")
        self._events = events
        self.writer = events.EventWriter(self.root / "events.jsonl")

    def preview(self, step: int, *, wer: float | None = None, likeness: float | None = None,
                naturalness: float | None = None) -> None:
        self.writer.emit(self._events.preview(step=step, epoch=0, likeness=likeness, previews=[
            {"path": "00.wav", "text": "a", "heard": "b", "wer": wer, "likeness": likeness,
             "naturalness": naturalness}]))

    def checkpoint(self, step: int, **scores: Any) -> Path:
        """A checkpoint file of `step`, after its preview round when `scores` are given."""
        if scores:
            self.preview(step, **scores)
        path = self.root / "checkpoints" / f"step-{step}.ckpt"
        path.write_bytes(b"weights of step %d" % step)
        self.writer.emit(self._events.checkpoint(step=step, epoch=0, path=path, reason="interval"))
        return path

    def close(self) -> None:
        self.writer.close()
