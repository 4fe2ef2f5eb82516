"""The size of a batch of hits: its worst case must end within Kafka's poll interval."""

from __future__ import annotations

import heapq
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr.errors import ConfigError
from notify.budget import BatchBudget
from notify.settings import NotifySettings


def budget(**overrides: Any) -> BatchBudget:
    values: dict[str, Any] = {
        "retry_window_s": 120.0,
        "attempt_timeout_s": 10.0,
        "publish_timeout_s": 10.0,
        "max_in_flight": 32,
    }
    return BatchBudget(**{**values, **overrides})


@pytest.mark.parametrize(
    ("case", "overrides", "rounds", "deliveries"),
    [
        # (900 - 40 - 20) // 130
        ("the defaults: six rounds", {}, 6, 192),
        ("a shorter window: more rounds", {"retry_window_s": 60.0}, 12, 384),
        ("fewer slots, as many rounds", {"max_in_flight": 4}, 6, 24),
        ("a slow publish takes its share", {"publish_timeout_s": 60.0}, 5, 160),
        ("a window that leaves no room", {"retry_window_s": 835.0}, 0, 0),
        ("exactly one round", {"attempt_timeout_s": 120.0, "retry_window_s": 720.0}, 1, 32),
        ("just over one round", {"attempt_timeout_s": 120.0, "retry_window_s": 720.5}, 0, 0),
        (
            "a slow publish, a short window",
            {"publish_timeout_s": 60.0, "retry_window_s": 15.0},
            29,
            928,
        ),
        ("a publish far too slow", {"publish_timeout_s": 430.0}, 0, 0),
        ("Kafka's default interval: one round", {"poll_interval_s": 300.0}, 1, 32),
    ],
)
def test_rounds_that_fit_the_poll_interval(
    case: str, overrides: dict[str, Any], rounds: int, deliveries: int
) -> None:
    b = budget(**overrides)
    assert (b.rounds, b.max_deliveries) == (rounds, deliveries), case
    if rounds:
        assert b.batch_s(b.max_deliveries) <= b.poll_interval_s - 40.0, case


@pytest.mark.parametrize(
    ("case", "fanout", "hits"),
    [
        ("one target a list", 1, 192),
        ("no target counts as one", 0, 192),
        ("two targets a list", 2, 96),
        ("five: rounded down", 5, 38),
        ("as many targets as deliveries", 192, 1),
        ("more targets than deliveries: still one hit", 400, 1),
    ],
)
def test_hits_per_batch(case: str, fanout: int, hits: int) -> None:
    assert budget().hits_per_batch(fanout) == hits, case


def test_settings_whose_worst_case_cannot_fit_are_refused() -> None:
    with pytest.raises(ConfigError, match="poll interval"):
        NotifySettings(
            notify_retry_window_s=270, notify_timeout_s=120, result_publish_timeout_s=300
        )
    # The longest window and attempt the fields allow fit, twice.
    widest = NotifySettings(notify_retry_window_s=270, notify_timeout_s=120)
    assert widest.batch_budget.rounds == 2


def makespan(durations: list[float], slots: int) -> float:
    """When the last of `durations` ends, taken in order by `slots` slots that never idle."""
    free = [0.0] * slots
    end = 0.0
    for duration in durations:
        start = heapq.heappop(free)
        end = max(end, start + duration)
        heapq.heappush(free, start + duration)
    return end


@given(
    st.integers(min_value=1, max_value=8),
    st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=60),
)
def test_deliveries_of_at_most_a_round_end_within_their_rounds(
    slots: int, durations: list[float]
) -> None:
    """The claim the bound rests on: J deliveries, each at most a round, on `slots` slots that
    never idle while one waits, end within ⌈J / slots⌉ rounds."""
    assert makespan(durations, slots) <= math.ceil(len(durations) / slots)
