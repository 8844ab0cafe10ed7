"""Time left in words: every ETA the app shows is written by `format_time_left`."""

from __future__ import annotations

import pytest

from voicelab.core.progress import format_time_left


@pytest.mark.parametrize("seconds, text", [
    (0, "almost done"), (0.4, "almost done"), (-5, "almost done"),
    (1, "1 s left"), (45, "45 s left"), (59.4, "59 s left"),
    (59.6, "1 min left"), (89, "1 min left"), (90, "2 min left"), (150, "3 min left"),
    (672, "11 min left"),  # the "ETA 11:12" that was read as a time of day
    (3569, "59 min left"), (3570, "1 h left"), (3600, "1 h left"),
    (3900, "1 h 5 min left"), (7260, "2 h 1 min left"), (90_000, "25 h left"),
])
def test_time_left_reads_as_a_duration_not_a_clock(seconds, text):
    assert format_time_left(seconds) == text
    assert ":" not in format_time_left(seconds)
