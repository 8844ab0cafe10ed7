"""`voicelab-cli` run in this process, as every CLI test runs it."""

from __future__ import annotations

from voicelab.cli import main as cli


def run_cli(capsys, *argv):
    """(exit code, stdout, stderr) of `voicelab-cli argv…` run in this process."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err
