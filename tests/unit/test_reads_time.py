"""`parse_captured_at`: the time of every client field, as epoch ms, or `BadTime` saying why."""

from __future__ import annotations

import math

import pytest

from anpr.clock import MAX_MS, RANGE_MESSAGE
from anpr.reads import BadTime, parse_captured_at, parse_time_or_none

FORMAT = "must be RFC 3339 with an offset (Z or ±hh:mm), or integer epoch milliseconds"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2026-01-01T00:00:00Z", 1_767_225_600_000, id="rfc3339-z"),
        pytest.param("2026-01-01T01:00:00.250+01:00", 1_767_225_600_250, id="rfc3339-offset"),
        pytest.param(1_767_225_600_000, 1_767_225_600_000, id="epoch-ms"),
        pytest.param(1_767_225_600_000.0, 1_767_225_600_000, id="epoch-ms-whole-float"),
    ],
)
def test_times(value: object, expected: int) -> None:
    assert parse_captured_at(value) == expected
    assert parse_time_or_none(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("2026-01-01T00:00:00", FORMAT, id="no-offset"),
        pytest.param("yesterday", FORMAT, id="words"),
        pytest.param(True, FORMAT, id="bool"),
        pytest.param(1.5, FORMAT, id="fraction"),
        pytest.param(math.nan, FORMAT, id="nan"),
        pytest.param([1], FORMAT, id="list"),
        pytest.param(MAX_MS + 1, RANGE_MESSAGE, id="past-the-range"),
    ],
)
def test_not_times(value: object, message: str) -> None:
    with pytest.raises(BadTime) as info:
        parse_captured_at(value)
    assert info.value.message == message
    assert parse_time_or_none(value) is None
