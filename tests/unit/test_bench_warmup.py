"""`make bench` warms the broker before it measures: the warm-up runs by default in a full run,
can be turned off, and its figures are reported but never stand for an end-to-end target; the
low-rate phases run long enough for their p99."""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks.plan import Plan, targets


def _args(**given: Any) -> argparse.Namespace:
    return argparse.Namespace(quick=given.pop("quick", False), **given)


def _phase(name: str, rate: float, p99: float) -> dict[str, Any]:
    return {
        "phase": name,
        "offered_reads_per_s": rate,
        "send": {
            "achieved_reads_per_s": rate,
            "statuses": {"202": 10},
            "late_sends": 0,
            "requests_sent": 10,
        },
        "hits": {"ok": True, "received_to_stream_ms": {"p99": p99}},
    }


def test_a_full_run_warms_up_and_a_quick_one_does_not() -> None:
    assert Plan.make(_args()).warmup_s == 30.0
    assert Plan.make(_args(quick=True)).warmup_s == 0.0
    assert Plan.make(_args(warmup=0.0)).warmup_s == 0.0
    assert Plan.make(_args(quick=True, warmup=12.0)).warmup_s == 12.0


def test_the_warm_up_stands_for_no_target() -> None:
    results = {
        "warmup": [_phase("warmup-1000", 1000.0, 15.0)],
        "e2e": [_phase("e2e-1000", 1000.0, 45.0)],
        "steps": [],
    }
    (row,) = targets(results)
    assert row["measured"].endswith("p99 45.0 ms")
    assert row["met"] is False


def test_a_full_run_gives_each_fixed_rate_enough_requests_for_its_p99() -> None:
    plan = Plan.make(_args())
    assert plan.e2e_phase_s(1000.0) == 60.0  # 600 requests of 100 reads
    assert plan.e2e_phase_s(5000.0) == plan.e2e_duration_s == 20.0
    assert plan.e2e_phase_s(12000.0) == 20.0
    assert Plan.make(_args(duration=30.0)).e2e_phase_s(1000.0) == 30.0
    assert Plan.make(_args(quick=True)).e2e_phase_s(1000.0) == 8.0
