"""Per-target failure streaks: the deadline every delivery shares, probes, recovery."""

from __future__ import annotations

import pytest

from notify.breaker import TargetHealth


def health() -> TargetHealth:
    return TargetHealth(window_s=100.0, probe_every_s=10.0)


@pytest.mark.parametrize(
    ("case", "failing_since", "started", "deadline"),
    [
        ("healthy target: own window", None, 50.0, 150.0),
        ("streak began before the delivery: the streak's window", 20.0, 50.0, 120.0),
        ("streak began after the delivery started: its own window", 80.0, 50.0, 150.0),
        ("streak older than the window: deadline already past", 0.0, 500.0, 100.0),
    ],
)
def test_deadline(case: str, failing_since: float | None, started: float, deadline: float) -> None:
    h = health()
    if failing_since is not None:
        h.failed("t1", failing_since)
    assert h.deadline("t1", started) == deadline, case
    assert h.deadline("t2", started) == started + 100.0, "other targets are not affected"


def test_a_streak_starts_at_the_first_failure_and_ends_at_a_success() -> None:
    h = health()
    h.failed("t1", 5.0)
    h.failed("t1", 60.0)
    assert h.failing_since("t1") == 5.0
    h.succeeded("t1")
    assert h.failing_since("t1") is None
    assert h.deadline("t1", 200.0) == 300.0


def test_probes_are_spaced() -> None:
    h = health()
    assert h.claim_probe("t1", 100.0)
    assert not h.claim_probe("t1", 105.0)
    assert h.claim_probe("t2", 105.0), "per target"
    assert h.claim_probe("t1", 110.0)
    h.succeeded("t1")
    assert h.claim_probe("t1", 111.0), "a success resets the probe clock"


def test_forget_drops_deleted_targets() -> None:
    h = health()
    h.failed("t1", 1.0)
    h.failed("t2", 1.0)
    h.claim_probe("t2", 1.0)
    h.forget({"t1"})
    assert h.failing_since("t1") == 1.0
    assert h.failing_since("t2") is None
    assert h.claim_probe("t2", 2.0)
