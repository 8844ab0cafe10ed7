"""`python -m voicelab` opens the GUI (the packaged app's executable does the same).

The same entry point runs VoiceLab's other processes, because the packaged app has no
separate Python to start them with (see `voicelab.core.appexec`):

    VoiceLab --run-trainer RUN_DIR             the trainer, headless
    VoiceLab --verify-voice MODEL CONFIG …     load an exported voice and make it speak
    VoiceLab --self-test [--report-dir DIR]    check that everything the app needs works
    VoiceLab --cli COMMAND …                   the headless CLI (what `voicelab-cli` does)

(`python -m voicelab …` from source.) These modes are dispatched before anything imports
Qt, so a training process never loads PySide6. Lightning's ddp launcher re-runs this same
command line for each extra device (in a frozen app with the executable's path inserted
before the flag), so the trainer flag is looked for anywhere in the arguments.
"""

import sys

from voicelab.core.appexec import CLI, RUN_TRAINER, SELF_TEST, VERIFY_VOICE, is_frozen


def _trainer_run_dir(argv):
    if RUN_TRAINER in argv:
        index = argv.index(RUN_TRAINER)
        if index + 1 < len(argv):
            return argv[index + 1]
        print("usage: voicelab --run-trainer RUN_DIR", file=sys.stderr)
        sys.exit(2)
    return None


def _after(flag, argv):
    """The arguments that follow `flag` when it leads the command line, else None."""
    if argv and argv[0] == flag:
        return argv[1:]
    return None


def _main() -> int:
    if is_frozen():
        # Worker processes that multiprocessing spawns (the trainer's data-loader workers
        # and clip-preparation pool, on every platform) re-run this executable; this turns
        # them into workers instead of new apps.
        import multiprocessing

        multiprocessing.freeze_support()
    argv = sys.argv[1:]
    run_dir = _trainer_run_dir(argv)
    if run_dir is not None:
        from voicelab.core.training.trainer.runner import main as run_trainer

        return run_trainer(run_dir)
    verify_args = _after(VERIFY_VOICE, argv)
    if verify_args is not None:
        from voicelab.core.training.voice.verify_voice import main as verify_voice

        return verify_voice(verify_args)
    cli_args = _after(CLI, argv)
    if cli_args is not None:
        from voicelab.cli.main import main as cli

        return cli(cli_args)
    self_test_args = _after(SELF_TEST, argv)
    if self_test_args is not None:
        from voicelab.selftest import main as self_test

        return self_test(self_test_args)
    from voicelab.ui.app import main

    return main()


if __name__ == "__main__":
    sys.exit(_main())
