"""The trainer's event protocol: building, encoding, parsing, writing and reading back."""

from __future__ import annotations

import io
import json
import math

import pytest

from voicelab.core.training.run import events as ev


def test_every_event_is_one_versioned_json_line():
    built = [
        ev.preparing(done=1, total=4, message="checking"),
        ev.prepared(train=10, validation=2, dropped=[{"id": "a", "reason": "too long"}],
                    unknown_phonemes=["ʘ"], seconds=12.345),
        ev.warmup(stage="encoder", done=10, total=400, message="Posterior encoder warm-up"),
        ev.started(config={"quality": "medium"}, device="cpu", devices=1, parameters=123, step=0,
                   epoch=0, resumed_from=None, train_utterances=10, validation_utterances=2,
                   steps_per_epoch=3),
        ev.step(step=1, epoch=0, losses={"loss_g": 1.5, "mel": 0.25}, lr=2e-4, steps_per_s=3.3,
                eta_s=10.0),
        ev.validation(step=2, epoch=0, losses={"mel": 0.5}),
        ev.checkpoint(step=2, epoch=0, path="/x/step-00000002.ckpt", reason="interval"),
        ev.preview(step=2, epoch=0, previews=[{"path": "/x/00.wav", "text": "Hi.", "heard": "hi",
                                               "wer": 0.0}]),
        ev.exported(path="/v/a.onnx", config="/v/a.onnx.json", verified=True, heard="hello"),
        ev.heartbeat(step=3, phase="training", since_step_s=0.25),
        ev.stopped(step=3, epoch=1, checkpoint="/x/step-00000003.ckpt", reason="user"),
        ev.finished(step=4, epoch=1, checkpoint="/x/step-00000004.ckpt"),
        ev.error(message="Out of memory.", hint="Lower batch_size.", kind="oom", traceback="tb"),
    ]
    assert [e["type"] for e in built] == [t for t in ev.TYPES]
    for event in built:
        line = ev.encode(event)
        assert "\n" not in line
        parsed = ev.parse_line(line)
        assert parsed == event
        assert parsed["v"] == 1 and isinstance(parsed["time"], float)
    assert built[-1]["kind"] == "oom"  # a field may be called "kind" without clashing


def test_non_finite_numbers_become_null_so_the_line_stays_json():
    event = ev.step(step=7, epoch=0, losses={"loss_g": math.nan, "loss_d": math.inf, "mel": 1.0},
                    lr=math.nan, steps_per_s=None, eta_s=math.inf)
    line = ev.encode(event)
    data = json.loads(line)  # strict JSON: NaN would not parse in other languages
    assert data["losses"] == {"loss_g": None, "loss_d": None, "mel": 1.0}
    assert data["lr"] is None and data["eta_s"] is None


def test_preview_event_averages_the_word_error_rates():
    event = ev.preview(step=1, epoch=0, previews=[{"path": "a", "text": "x", "heard": "x", "wer": 0.0},
                                                  {"path": "b", "text": "y", "heard": "z", "wer": 1.0},
                                                  {"path": "c", "text": "z", "heard": None, "wer": None}])
    assert event["wer"] == 0.5
    assert ev.preview(step=1, epoch=0, previews=[])["wer"] is None


@pytest.mark.parametrize("line", [
    "", "not json", "[1, 2]", '{"v": 2, "type": "step"}', '{"v": 1, "type": "nonsense"}',
    '{"v": 1, "type": "step"', "INFO: GPU available: False",
])
def test_lines_that_are_not_version_1_events_are_ignored(line):
    assert ev.parse_line(line) is None


def test_unknown_event_type_cannot_be_built():
    with pytest.raises(ValueError):
        ev._event("bogus")


def test_writer_appends_to_the_file_and_the_stream_but_keeps_heartbeats_out_of_the_file(tmp_path):
    stream = io.StringIO()
    writer = ev.EventWriter(tmp_path / "events.jsonl", stream)
    writer.emit(ev.step(step=1, epoch=0, losses={}, lr=None, steps_per_s=None, eta_s=None))
    writer.emit(ev.heartbeat(step=1, phase="training", since_step_s=0.1))
    writer.emit(ev.finished(step=1, epoch=0, checkpoint="c"), fsync=True)
    writer.close()
    streamed = [ev.parse_line(line)["type"] for line in stream.getvalue().splitlines()]
    assert streamed == ["step", "heartbeat", "finished"]
    assert [e["type"] for e in ev.read_events(tmp_path / "events.jsonl")] == ["step", "finished"]


def test_writer_keeps_logging_to_the_file_when_the_reader_goes_away(tmp_path):
    class Gone(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    writer = ev.EventWriter(tmp_path / "events.jsonl", Gone())
    for step in range(3):
        writer.emit(ev.step(step=step, epoch=0, losses={}, lr=None, steps_per_s=None, eta_s=None))
    writer.close()
    assert len(ev.read_events(tmp_path / "events.jsonl")) == 3


def test_a_half_written_last_line_is_skipped_and_cut_before_appending(tmp_path):
    path = tmp_path / "events.jsonl"
    good = ev.encode(ev.step(step=1, epoch=0, losses={}, lr=None, steps_per_s=None, eta_s=None))
    path.write_text(good + "\n" + good[:25], encoding="utf-8")  # killed mid-write
    assert [e["step"] for e in ev.read_events(path)] == [1]
    writer = ev.EventWriter(path)
    writer.emit(ev.step(step=2, epoch=0, losses={}, lr=None, steps_per_s=None, eta_s=None))
    writer.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2]


def test_read_events_of_a_missing_file_is_empty(tmp_path):
    assert ev.read_events(tmp_path / "nope.jsonl") == []


def _steps(*steps):
    return [ev.step(step=s, epoch=0, losses={"mel": float(s)}, lr=None, steps_per_s=None, eta_s=None)
            for s in steps]


def _started(step):
    return ev.started(config={}, device="cpu", devices=1, parameters=1, step=step, epoch=0,
                      resumed_from=None, train_utterances=1, validation_utterances=0,
                      steps_per_epoch=1)


def test_history_drops_the_steps_a_killed_attempt_trained_after_its_last_checkpoint():
    log = ([_started(0)] + _steps(1, 2, 3, 4, 5)
           + [ev.validation(step=4, epoch=0, losses={"mel": 1.0})]
           + [_started(3)] + _steps(4, 5, 6))  # killed at 5, resumed from the step-3 checkpoint
    history = ev.training_history(log)
    assert [e["step"] for e in history["step"]] == [1, 2, 3, 4, 5, 6]
    assert history["validation"] == []


def test_last_terminal_is_none_while_a_newer_attempt_runs():
    stopped = ev.stopped(step=3, epoch=0, checkpoint=None, reason="user")
    assert ev.last_terminal([_started(0), stopped])["type"] == "stopped"
    assert ev.last_terminal([_started(0), stopped, _started(3)]) is None
    assert ev.last_terminal([]) is None
