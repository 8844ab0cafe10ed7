"""The runs list reads in its narrow column, and the checkpoint list right after a Stop."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem

from tests.support.training_data import ScoredRun
from voicelab.core.training.run.runs import RunInfo
from voicelab.ui import training_jobs as tj
from voicelab.ui.widgets.checkpoint_panel import UNSCORED, UNSCORED_TIP, CheckpointPanel
from voicelab.ui.widgets.run_list import NAME, NAME_SHARE, NOTE, STEP, RunListPanel

DIVERGED = ("Training diverged at step 37 (epoch 6): the losses became NaN or infinite. Lower "
            "learning_rate (now 0.0002), use precision 32 instead of 16-mixed, or remove silent or "
            "clipped clips; then resume from the last checkpoint or start a new run.")


def test_the_runs_list_fits_its_column_one_line_a_run(qtbot):
    panel = RunListPanel()
    qtbot.addWidget(panel)
    panel.resize(420, 260)  # the Training tab's left column
    panel.show()
    qtbot.waitExposed(panel)
    panel.model.set_items([
        RunInfo("my-first-voice", Path("/runs/my-first-voice"), "failed", step=37, message=DIVERGED),
        RunInfo("joe-medium-20261206-220039", Path("/runs/a"), "finished", step=600),
        RunInfo("joe-medium-20261207-091512", Path("/runs/b"), "stopped", step=250),
        RunInfo("x" * 12 + "-a-very-long-name-someone-typed-20261208-101010", Path("/runs/c"), "interrupted", step=4),
    ])
    QApplication.processEvents()
    table, model = panel.table, panel.model

    def cell(row, column, role=Qt.DisplayRole):
        return model.data(model.index(row, column), role)

    # The note is its first clause, on one line; the whole of it is the row's tooltip.
    assert [cell(row, NOTE) for row in range(4)] == [
        "Training diverged at step 37 (epoch 6)", "", "can resume", "ended without saying why"]
    assert DIVERGED in cell(0, NOTE, Qt.ToolTipRole)
    assert "Resume continues from its last checkpoint" in cell(2, NAME, Qt.ToolTipRole)
    assert not table.wordWrap() and not any("\n" in cell(row, NOTE) for row in range(4))

    # Every column in view, the note with room to say something, a long name cut in its middle.
    width = table.viewport().width()
    assert sum(table.columnWidth(c) for c in range(4)) <= width
    assert not table.horizontalScrollBar().isVisible()
    assert table.columnWidth(NAME) <= NAME_SHARE * table.contentsRect().width()
    assert table.columnWidth(NOTE) >= width / 4
    assert table.fontMetrics().horizontalAdvance("can resume") < table.columnWidth(NOTE) - 8
    assert table.fontMetrics().horizontalAdvance(cell(2, STEP)) < table.columnWidth(STEP)
    option = QStyleOptionViewItem()
    table.itemDelegateForColumn(NAME).initStyleOption(option, model.index(3, NAME))
    assert option.textElideMode == Qt.ElideMiddle and option.text.endswith("20261208-101010")


def test_right_after_stop_best_is_the_scored_checkpoint_and_the_new_one_says_so(qtbot, tmp_path):
    run = ScoredRun(tmp_path / "run")
    scored = run.checkpoint(10, wer=0.1, likeness=0.4)
    stopped = run.checkpoint(14)  # Stop: no preview round since step 10
    run.close()
    assert not (run.root / "checkpoints" / "ranking.json").exists()  # the trainer has not ranked yet

    panel = CheckpointPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_ranking(tj.run_ranking(run.root), voice_name="run")
    model = panel.model

    def row(item):
        index = next(i for i, r in enumerate(model.items) if r.path == item)
        return [model.data(model.index(index, column)) for column in range(model.columnCount())], index

    best, best_row = row(scored)
    newest, newest_row = row(stopped)
    assert best[0] == "1" and best[5] == "10%" and "best" in best[7]
    assert newest[0] == "–" and newest[5] == "–" and newest[7] == f"newest (resume), {UNSCORED}"
    assert UNSCORED_TIP in model.data(model.index(newest_row, 1), Qt.ToolTipRole)
    bold = model.data(model.index(best_row, 0), Qt.FontRole)
    assert isinstance(bold, QFont) and bold.bold() and model.data(model.index(newest_row, 0), Qt.FontRole) is None
    assert panel.selected().path == scored and panel.export_button.isEnabled()  # export takes the best


def test_the_selected_runs_whole_note_is_under_the_table_in_its_reserved_lines(qtbot):
    panel = RunListPanel()
    qtbot.addWidget(panel)
    panel.resize(420, 260)
    panel.show()
    qtbot.waitExposed(panel)
    panel.model.set_items([RunInfo("a", Path("/runs/a"), "finished", step=600),
                           RunInfo("b", Path("/runs/b"), "failed", step=37, message=DIVERGED)])
    QApplication.processEvents()
    where = panel.stop_button.mapTo(panel, panel.stop_button.rect().topLeft())
    assert panel.note.text() == "" and panel.note.isVisible()
    panel.table.selectRow(1)
    assert panel.note.text() == DIVERGED and DIVERGED in panel.note.toolTip()
    assert panel.note.shown_text().startswith("Training diverged at step 37 (epoch 6): the losses")
    QApplication.processEvents()
    assert panel.stop_button.mapTo(panel, panel.stop_button.rect().topLeft()) == where
    panel.model.update_live("b", status="running", message="")
    assert panel.note.text() == ""
