"""Jobs that hand results to the UI thread before they end (`emits=True`)."""

from __future__ import annotations

import threading

from voicelab.core.errors import VoiceLabError
from voicelab.ui.workers import JobManager


def _count_to(n, *, progress, cancel, emit):
    for i in range(n):
        emit((i, threading.current_thread() is threading.main_thread()))
    return "done"


def test_partial_results_arrive_in_order_before_the_end(qtbot):
    jobs = JobManager()
    job = jobs.run("Counting", _count_to, 5, emits=True)
    events = []
    job.partial.connect(lambda value: events.append(("partial", value,
                                                     threading.current_thread() is threading.main_thread())))
    job.finished.connect(lambda result: events.append(("finished", result, True)))
    with qtbot.waitSignal(job.ended, timeout=10_000):
        pass
    assert events == [("partial", (i, False), True) for i in range(5)] + [("finished", "done", True)]
    assert jobs.shutdown()


def test_partial_results_before_a_failure_still_arrive(qtbot):
    def half_way(*, progress, cancel, emit):
        emit("first")
        raise VoiceLabError("The second part failed.")

    jobs = JobManager()
    job = jobs.run("Half way", half_way, emits=True)
    got = []
    job.partial.connect(got.append)
    job.failed.connect(lambda message, _details: got.append(message))
    with qtbot.waitSignal(job.ended, timeout=10_000):
        pass
    assert got == ["first", "The second part failed."] and job.outcome == "failed"
    assert jobs.shutdown()


def test_jobs_without_emits_get_no_emit_argument(qtbot):
    seen = {}

    def plain(value, *, progress, cancel, **rest):
        seen.update(rest)
        return value

    jobs = JobManager()
    job = jobs.run("Plain", plain, 7)
    with qtbot.waitSignal(job.finished, timeout=10_000) as blocker:
        pass
    assert blocker.args == [7] and seen == {}
    assert jobs.shutdown()
