"""`python -m voicelab` opens the GUI (the packaged app's executable does the same).

`python -m voicelab --run-trainer RUN_DIR` (in the frozen app: `VoiceLab --run-trainer
RUN_DIR`) runs the trainer instead, headless: it is dispatched before anything imports Qt,
so a training process never loads PySide6. Lightning's ddp launcher re-runs this same
command line for each extra device (in a frozen app with the executable's path inserted
before the flag), so the flag is looked for anywhere in the arguments.
"""

import sys


def _trainer_run_dir(argv):
    if "--run-trainer" in argv:
        index = argv.index("--run-trainer")
        if index + 1 < len(argv):
            return argv[index + 1]
        print("usage: voicelab --run-trainer RUN_DIR", file=sys.stderr)
        sys.exit(2)
    return None


def _main() -> int:
    run_dir = _trainer_run_dir(sys.argv[1:])
    if run_dir is not None:
        from voicelab.core.training.runner import main as run_trainer

        return run_trainer(run_dir)
    from voicelab.ui.app import main

    return main()


if __name__ == "__main__":
    sys.exit(_main())
