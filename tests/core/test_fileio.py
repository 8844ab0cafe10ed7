"""Atomic writes: a crash or an error mid-write leaves the previous file intact."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from voicelab.core.fileio import atomic_open, atomic_write_text, atomic_write_yaml, read_yaml


def test_write_replaces_content(tmp_path):
    target = tmp_path / "sub" / "data.txt"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second ünïcode")
    assert target.read_text(encoding="utf-8") == "second ünïcode"
    assert [p.name for p in target.parent.iterdir()] == ["data.txt"]


def test_exception_mid_write_keeps_old_file_and_cleans_temp(tmp_path):
    tmp_path = tmp_path / "data"
    target = tmp_path / "metadata.csv"
    atomic_write_text(target, "old|text\n")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("new|te")
            raise RuntimeError("disk full")
    assert target.read_text() == "old|text\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metadata.csv"]


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_killed_process_mid_write_leaves_old_file_intact(tmp_path):
    """A real crash: the writing process is killed with SIGKILL half-way through."""
    tmp_path = tmp_path / "data"
    target = tmp_path / "dataset.yaml"
    atomic_write_yaml(target, {"clips": ["a", "b"]})
    script = textwrap.dedent(f"""
        import os, signal, sys
        from voicelab.core.fileio import atomic_open
        with atomic_open({str(target)!r}) as handle:
            handle.write("clips: [" + "x, " * 100000)
            handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert read_yaml(target) == {"clips": ["a", "b"]}
    leftovers = [p for p in tmp_path.iterdir() if p.name != "dataset.yaml"]
    assert all(p.name.startswith(".dataset.yaml.") for p in leftovers)  # only a hidden temp


def test_mode_must_write_whole_files(tmp_path):
    with pytest.raises(ValueError):
        with atomic_open(tmp_path / "x", "a"):
            pass


def test_permissions_of_existing_file_are_kept(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("a")
    os.chmod(target, 0o640)
    atomic_write_text(target, "b")
    assert (target.stat().st_mode & 0o777) == 0o640
