"""Which trained part of a fine-tune does what: the module swap.

A run's checkpoint and its base are loaded into the same architecture. Then each group of
the checkpoint's generator parts is put alone into the base, and the result speaks the run's
preview sentences with the trainer's fixed noise seeds. Each line prints the pooled pitch
(median F0, spread in semitones, voiced frames) and, where the run has a likeness reference
(`likeness.json`), the likeness: 0 the base, 1 the dataset's speaker, and the words Whisper
mishears (the model that scored the run's previews; what it heard where it erred). "base"
and "all" reproduce the run's own step-0 round and the checkpoint's round.

Issue 14 used this on `finetune_from_voice.py` runs. On the self control (joe on joe) the
prior path took the whole spread and the decoder none of it. On a new speaker the text
encoder moved the pitch and the decoder brought the likeness. That is why a fine-tune keeps
the flow and the duration predictor (config.DEFAULT_FREEZE).

    python bench/module_swap.py RUN_DIR [CHECKPOINT] [--groups dec enc_p flow dp enc_p+dec]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

DEFAULT_GROUPS = ["dec", "enc_p+flow+dp", "enc_p", "flow", "dp", "enc_p+dec"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("checkpoint", type=Path, nargs="?", help="default: the run's newest")
    parser.add_argument("--groups", nargs="+", default=DEFAULT_GROUPS,
                        help="parts of model_g joined by '+' (enc_p, flow, dp, dec, enc_q)")
    args = parser.parse_args()

    import torch

    from voicelab.core.checkpoints import load_checkpoint
    from voicelab.core.training.bases.base import load_base_weights
    from voicelab.core.training.run import runs
    from voicelab.core.training.scoring import likeness
    from voicelab.core.training.scoring.listen import transcribe
    from voicelab.core.training.scoring.pitch import f0_track, pooled
    from voicelab.core.training.scoring.previews import synthesize
    from voicelab.core.training.scoring.wer import edit_distance, words
    from voicelab.core.training.trainer.model import build_model

    config, _lineage = runs.load_run(args.run)
    voice = json.loads((args.run / "config.json").read_text(encoding="utf-8"))
    checkpoint = args.checkpoint or runs.latest_checkpoint(args.run)
    rate = config.sample_rate
    base = build_model(config, num_symbols=voice["num_symbols"])
    load_base_weights(base, config.base)
    base_state = {name: value.clone() for name, value in base.state_dict().items()}
    trained = load_checkpoint(checkpoint)["state_dict"]
    reference = likeness.load_reference(args.run)
    asr = runs.scoring_model(config)

    def with_parts(parts: list[str]) -> torch.nn.Module:
        model = build_model(config, num_symbols=voice["num_symbols"])
        model.load_state_dict(base_state)
        model.load_state_dict({name: value for name, value in trained.items()
                               if any(name.startswith(f"model_g.{part}.") for part in parts)}, strict=False)
        return model

    def score(model: torch.nn.Module, label: str) -> None:
        tracks, similarities, wrong, misheard = [], [], 0, []
        for seed, text in enumerate(config.preview_sentences):
            audio = synthesize(model, text, phoneme_id_map=voice["phoneme_id_map"],
                               espeak_voice=voice["espeak"]["voice"], seed=seed)
            tracks.append(f0_track(audio, rate))
            if asr is not None:
                heard = transcribe(audio, rate, asr)
                errors = edit_distance(words(text), words(heard))
                wrong += errors
                if errors:
                    misheard.append(heard)
            embedding = likeness.embed(audio, rate) if reference is not None else None
            if embedding is not None:
                similarities.append(reference.cosine(embedding))
        stats = pooled(tracks, rate / 256).to_dict()
        like = reference.likeness(float(np.mean(similarities))) if similarities else None
        print(f"{label:24s} median {stats['median_hz']:6.1f} Hz  spread {stats['spread_st']:.2f} st  "
              f"voiced {stats['voiced_frames']:4d}  likeness {'–' if like is None else f'{like:.2f}'}"
              + ("" if asr is None else f"  words wrong {wrong} {misheard}"), flush=True)

    print(f"{args.run.name}: {checkpoint.name} against its base, {len(config.preview_sentences)} sentences")
    score(base, "base")
    score(with_parts(["enc_p", "flow", "dp", "dec", "enc_q"]), "all")
    for group in args.groups:
        score(with_parts(group.split("+")), group)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
