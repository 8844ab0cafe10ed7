"""piper's data module fed from the run's prepared clips (`prepared.json`), with the run's
own split instead of piper's random one; its datasets, loaders and collation are piper's."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from voicelab.core.training.run.config import TrainConfig
from voicelab.core.training.run.snapshot import DATA_DIR
from voicelab.core.training.trainer.prepare import CACHE_DIR, PIPER_CONFIG_FILE, Prepared


def make_datamodule(run_dir: Path, config: TrainConfig, prepared: Prepared | None, *,
                    batch_size: int | None = None) -> Any:
    """piper's `VitsDataModule` with the run's prepared split (its loaders and collate)."""
    from piper.train.vits.dataset import CachedUtterance, VitsDataModule, VitsDataset

    hp = config.model_hparams()

    class RunDataModule(VitsDataModule):
        """Reads `prepared.json` instead of splitting piper's CSV at random."""

        def prepare_data(self) -> None:  # done by `prepare` before fit
            pass

        def setup(self, stage: str) -> None:
            assert prepared is not None
            cache = Path(run_dir) / CACHE_DIR

            def utterances(entries):
                return [CachedUtterance(phoneme_ids_path=cache / f"{e['stem']}.phonemes.pt",
                                        audio_norm_path=cache / f"{e['stem']}.audio.pt",
                                        audio_spec_path=cache / f"{e['stem']}.spec.pt",
                                        text=e["text"], speaker_id=None) for e in entries]

            self.train_dataset = VitsDataset(utterances(prepared.train))
            self.val_dataset = VitsDataset(utterances(prepared.validation))
            self.test_dataset = []  # piper synthesizes these for TensorBoard/MOS: both off

        def _make_dataloader(self, dataset, shuffle: bool = False, drop_last: bool = False):
            """piper's loader, with its workers started as `loader_options` says."""
            from torch.utils.data import DataLoader

            return DataLoader(dataset, batch_size=self.batch_size, shuffle=shuffle, drop_last=drop_last,
                              **loader_arguments(self))

        def train_dataloader(self):
            trainer = getattr(self, "trainer", None)
            if not config.bucket_batches or (trainer is not None and trainer.world_size > 1):
                return super().train_dataloader()  # piper's random batches (ddp: always)
            from voicelab.core.training.trainer.bucketing import bucketed_loader

            return bucketed_loader(self, [int(e["frames"]) for e in prepared.train], config.seed,
                                   loader_arguments(self))

    return RunDataModule(
        csv_path=Path(run_dir) / DATA_DIR / "train.txt",
        cache_dir=Path(run_dir) / CACHE_DIR,
        espeak_voice=prepared.espeak_voice if prepared else "en-us",
        config_path=Path(run_dir) / PIPER_CONFIG_FILE,
        voice_name=Path(run_dir).name,
        sample_rate=config.sample_rate,
        num_symbols=prepared.num_symbols if prepared else 256,
        num_speakers=1,
        batch_size=batch_size or config.batch_size,
        validation_split=0.0,
        num_test_examples=0,
        filter_length=int(hp.get("filter_length", 1024)),
        hop_length=int(hp.get("hop_length", 256)),
        win_length=int(hp.get("win_length", 1024)),
        segment_size=int(hp.get("segment_size", 8192)),
        num_workers=config.num_workers,
        trim_silence=config.trim_silence,
    )


def loader_options(num_workers: int) -> dict[str, Any]:
    """How a training loader starts its `num_workers` worker processes.

    "spawn", never fork: the trainer runs threads (heartbeat, stop listener, Lightning's),
    and a forked worker inherits every lock one of them held at that moment, locked for
    good; with fork, one such lock kept the default one-worker run at step 0 forever. Spawn
    is also what Windows and macOS use and what the packaged app supports
    (`freeze_support` in `voicelab.__main__`). Workers persist across epochs, so the
    start-up (an import of torch) is paid once per run.
    """
    if num_workers <= 0:
        return {"num_workers": 0}
    return {"num_workers": num_workers, "multiprocessing_context": "spawn",
            "persistent_workers": True, "prefetch_factor": 4}


def loader_arguments(module: Any) -> dict[str, Any]:
    """What every training loader of `module` (a piper data module) is built with besides its
    batching: piper's collation, pinned memory, and workers as `loader_options` starts them."""
    from piper.train.vits.dataset import UtteranceCollate

    collate = UtteranceCollate(is_multispeaker=module.num_speakers > 1, segment_size=module.segment_size)
    return {"pin_memory": True, "collate_fn": collate, **loader_options(module.num_workers)}


def steps_per_epoch(prepared: Prepared, batch_size: int, world_size: int = 1) -> int:
    """Training batches per epoch on each process, as piper's loader makes them."""
    count = len(prepared.train)
    per_rank = math.ceil(count / max(1, world_size))
    drop_last = count > batch_size  # piper drops the ragged last batch only when it can
    return max(1, per_rank // batch_size if drop_last else math.ceil(per_rank / batch_size))
