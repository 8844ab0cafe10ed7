"""Settings: validation, corrupt files kept aside, migrations, unknown keys preserved."""

import yaml

from voicelab.core import settings as settings_mod
from voicelab.core.settings import SCHEMA_VERSION, Settings, load_settings, save_settings
from voicelab.core.workspace import SUBFOLDERS, Workspace


def test_missing_file_gives_defaults(tmp_path):
    loaded = load_settings(tmp_path / "settings.yaml")
    assert loaded.settings == Settings()
    assert loaded.problems == [] and loaded.backup is None


def test_round_trip(tmp_path):
    path = tmp_path / "settings.yaml"
    s = Settings(asr_model="small", device="cpu", theme="dark", last_dataset="my voice")
    save_settings(path, s)
    data = yaml.safe_load(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert load_settings(path).settings == s


def test_corrupt_yaml_falls_back_and_keeps_backup(tmp_path):
    path = tmp_path / "settings.yaml"
    garbage = "asr_model: [unclosed\n  device: : :\n"
    path.write_text(garbage)
    loaded = load_settings(path)
    assert loaded.settings == Settings()
    assert loaded.backup is not None and loaded.backup.read_text() == garbage
    assert path.read_text() == garbage  # not overwritten silently
    assert str(path) in loaded.problems[0] and loaded.backup.name in loaded.problems[0]


def test_invalid_values_are_named_and_valid_ones_kept(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("schema_version: 1\nasr_model: gigantic\ndevice: cpu\ntheme: 7\n")
    loaded = load_settings(path)
    assert loaded.settings.device == "cpu"
    assert loaded.settings.asr_model == Settings().asr_model
    assert loaded.settings.theme == "system"
    text = "\n".join(loaded.problems)
    assert "'asr_model'" in text and "gigantic" in text and "'theme'" in text
    assert loaded.backup is not None and "gigantic" in loaded.backup.read_text()


def test_backups_never_overwrite_each_other(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("{{{")
    first = load_settings(path).backup
    path.write_text("[[[")
    second = load_settings(path).backup
    assert first != second
    assert first.read_text() == "{{{" and second.read_text() == "[[["


def test_not_a_mapping(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("- just\n- a list\n")
    loaded = load_settings(path)
    assert loaded.settings == Settings() and "mapping" in loaded.problems[0]


def test_unknown_keys_survive_a_save(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("schema_version: 1\nfuture_option: 42\ndevice: cuda\n")
    loaded = load_settings(path)
    assert loaded.problems == []
    save_settings(path, loaded.settings)
    data = yaml.safe_load(path.read_text())
    assert data["future_option"] == 42 and data["device"] == "cuda"


def test_older_schema_is_migrated(tmp_path, monkeypatch):
    """A newer VoiceLab (schema 2 here) upgrades a version-1 file instead of dropping it."""
    def v1_to_v2(data):
        data["asr_model"] = {"whisper-small": "small"}.get(data.pop("whisper_model", ""), "base.en")
        return data

    monkeypatch.setattr(settings_mod, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(settings_mod.MIGRATIONS, 1, v1_to_v2)
    path = tmp_path / "settings.yaml"
    path.write_text("schema_version: 1\nwhisper_model: whisper-small\ntheme: dark\n")
    loaded = settings_mod.load_settings(path)
    assert loaded.problems == []
    assert loaded.settings.asr_model == "small" and loaded.settings.theme == "dark"
    assert "whisper_model" not in loaded.settings.extra
    assert loaded.backup is not None and "whisper-small" in loaded.backup.read_text()
    settings_mod.save_settings(path, loaded.settings)
    assert yaml.safe_load(path.read_text())["schema_version"] == 2


def test_newer_schema_is_read_and_kept_aside(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text(f"schema_version: {SCHEMA_VERSION + 5}\ndevice: cpu\nnew_thing: yes\n")
    loaded = load_settings(path)
    assert loaded.settings.device == "cpu"
    assert "newer VoiceLab" in loaded.problems[0]
    assert loaded.backup is not None


def test_workspace_layout_and_env_override(voicelab_home):
    ws = Workspace.open()
    assert ws.root == voicelab_home and ws.config_dir == voicelab_home
    for name in SUBFOLDERS:
        assert (voicelab_home / name).is_dir()
    ws.settings.theme = "dark"
    ws.save_settings()
    assert Workspace.open().settings.theme == "dark"


def test_workspace_setting_moves_data_root(voicelab_home, tmp_path):
    elsewhere = tmp_path / "big-disk" / "voicelab"
    (voicelab_home / "settings.yaml").write_text(f"workspace: {elsewhere}\n")
    ws = Workspace.open()
    assert ws.root == elsewhere and ws.config_dir == voicelab_home
    assert (elsewhere / "datasets").is_dir()


def test_workspace_reports_corrupt_settings(voicelab_home):
    (voicelab_home / "settings.yaml").write_text("device: [")
    ws = Workspace.open()
    assert ws.problems and ws.settings_backup is not None and ws.settings_backup.exists()


# -- hostile files (issue 16) ----------------------------------------------------------------------
def test_an_alias_loop_is_a_problem_not_a_recursion_error(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("device: cpu\na: &a [*a]\n")
    loaded = load_settings(path)
    assert loaded.settings == Settings()
    assert "refers to its own anchor &a" in loaded.problems[0] and "line 2" in loaded.problems[0]
    assert loaded.backup is not None
    save_settings(tmp_path / "again.yaml", loaded.settings)  # nothing left that loops


def test_a_file_nested_too_deeply_is_a_problem(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("a: " + "[" * 20000 + "]" * 20000 + "\n")
    loaded = load_settings(path)
    assert loaded.settings == Settings() and "nests too deeply" in loaded.problems[0]


def test_shared_aliases_are_kept_without_copying_them_out(tmp_path):
    """Ten levels of ten aliases: 10^10 leaves if anything copied the tree."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 11)]
    path = tmp_path / "settings.yaml"
    path.write_text("device: cpu\n" + "\n".join(lines) + "\n")
    loaded = load_settings(path)
    assert loaded.problems == [] and loaded.settings.device == "cpu"
    assert loaded.settings.to_dict()["l10"][0][0][0][0][0][0][0][0][0][0][0] == "x"
    save_settings(tmp_path / "out.yaml", loaded.settings)
    assert (tmp_path / "out.yaml").stat().st_size < 10_000


def test_one_backup_per_distinct_bad_file_and_a_problem_every_time(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("\x00\x01 garbage: : :\n")
    loads = [load_settings(path) for _ in range(13)]
    assert all(load.problems and load.backup == loads[0].backup for load in loads)
    path.write_text("theme: [unclosed\n")
    other = load_settings(path)
    assert other.backup != loads[0].backup and other.problems
    assert sorted(p.name for p in tmp_path.glob("settings*")) == [
        "settings.yaml", "settings.yaml.bak", "settings.yaml.bak1"]


def test_language_must_be_one_whisper_knows():
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert settings_mod.WHISPER_LANGUAGES == set(_LANGUAGE_CODES)
    assert settings_mod.check_setting("asr_language", "de") is None
    assert settings_mod.check_setting("asr_language", "auto") is None
    assert "Whisper" in settings_mod.check_setting("asr_language", "xx")
