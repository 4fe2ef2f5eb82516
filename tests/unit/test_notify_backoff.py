"""The retry schedule: capped exponential backoff with jitter, Retry-After, the retry window."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notify.backoff import Backoff, parse_retry_after, retriable_status

POLICY = Backoff(base_s=1.0, cap_s=30.0, window_s=120.0)


@pytest.mark.parametrize(
    ("case", "failures", "low", "high"),
    [
        ("after the first failure", 1, 0.5, 1.0),
        ("doubles", 2, 1.0, 2.0),
        ("doubles again", 3, 2.0, 4.0),
        ("fifth", 5, 8.0, 16.0),
        ("reaches the cap", 6, 15.0, 30.0),
        ("stays at the cap", 40, 15.0, 30.0),
    ],
)
def test_delay_is_within_the_jittered_band(
    case: str, failures: int, low: float, high: float
) -> None:
    rng = random.Random(failures)
    delays = [POLICY.delay(failures, rng) for _ in range(200)]
    assert all(low <= d <= high for d in delays), case
    assert max(delays) - min(delays) > (high - low) / 4, "jitter spreads the retries"


@pytest.mark.parametrize(
    ("case", "failures", "retry_after", "low", "high"),
    [
        ("longer Retry-After wins", 1, 10.0, 10.0, 10.0),
        ("shorter Retry-After changes nothing", 3, 0.5, 2.0, 4.0),
        ("Retry-After never beyond the cap", 1, 3600.0, 30.0, 30.0),
    ],
)
def test_retry_after(case: str, failures: int, retry_after: float, low: float, high: float) -> None:
    delay = POLICY.delay(failures, random.Random(1), retry_after_s=retry_after)
    assert low <= delay <= high, case


def test_schedule_gives_up_at_the_window() -> None:
    """Walk the schedule as the deliverer does: every attempt starts inside the window, and
    the one that would start after it is not made."""
    rng = random.Random(7)
    elapsed, failures, starts = 0.0, 0, [0.0]
    while True:
        failures += 1
        delay = POLICY.delay(failures, rng)
        if POLICY.gives_up(elapsed, delay):
            break
        elapsed += delay
        starts.append(elapsed)
    assert all(s <= POLICY.window_s for s in starts)
    assert elapsed + 30.0 > POLICY.window_s - 30.0  # it did not stop early: within a cap of the end
    assert 6 <= len(starts) <= 20


@given(failures=st.integers(1, 10_000), seed=st.integers(0, 2**32))
def test_delay_is_positive_and_capped(failures: int, seed: int) -> None:
    delay = POLICY.delay(failures, random.Random(seed))
    assert 0 < delay <= POLICY.cap_s


@pytest.mark.parametrize(
    ("status", "retriable"),
    [(500, True), (502, True), (503, True), (504, True), (429, True), (408, True),
     (400, False), (401, False), (403, False), (404, False), (410, False), (301, False)],
)  # fmt: skip
def test_retriable_status(status: int, retriable: bool) -> None:
    assert retriable_status(status) is retriable


@pytest.mark.parametrize(
    ("case", "header", "expected"),
    [
        ("seconds", "12", 12.0),
        ("absent", None, None),
        ("garbage", "soon", None),
        ("a digit that is not a decimal", "\u00b2", None),
        ("digits of another script", "\u0661\u0662", None),
        ("a year too far", "Tue, 14 Nov 99999999999 22:13:40 GMT", None),
        ("http date", "Tue, 14 Nov 2023 22:13:40 GMT", 20.0),
        ("http date in the past", "Tue, 14 Nov 2023 22:12:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(case: str, header: str | None, expected: float | None) -> None:
    now = 1_700_000_000.0  # 2023-11-14T22:13:20Z
    assert parse_retry_after(header, now_s=now) == expected, case


@given(header=st.text(max_size=60))
def test_parse_retry_after_never_raises(header: str) -> None:
    # The header is the receiver's: whatever it says, a delivery must not crash on it.
    parsed = parse_retry_after(header, now_s=1_700_000_000.0)
    assert parsed is None or parsed >= 0
