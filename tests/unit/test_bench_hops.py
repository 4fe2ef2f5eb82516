"""The benchmark's hop-by-hop figures: a phase's share of each service histogram."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from benchmarks import hops


def _exposition(observations: list[float], *, route: str = "/v1/reads") -> str:
    registry = CollectorRegistry()
    histogram = Histogram(
        "anpr_gateway_request_seconds",
        "latency",
        ["route"],
        buckets=(0.001, 0.005, 0.01, 0.05),
        registry=registry,
    )
    for value in observations:
        histogram.labels(route).observe(value)
    histogram.labels("/healthz").observe(0.04)  # another route: never counted
    return generate_latest(registry).decode()


def test_a_phase_is_the_difference_between_two_scrapes() -> None:
    before = hops.parse(
        _exposition([0.002] * 10), "anpr_gateway_request_seconds", {"route": "/v1/reads"}
    )
    after = hops.parse(
        _exposition([0.002] * 10 + [0.004] * 98 + [0.03] * 2),
        "anpr_gateway_request_seconds",
        {"route": "/v1/reads"},
    )
    assert before is not None and after is not None
    report = hops.between({"gateway request": before}, {"gateway request": after})
    assert report == {
        "gateway request": {
            "count": 100,
            "mean_ms": round((98 * 0.004 + 2 * 0.03) / 100 * 1000, 2),
            "p50_ms_le": 5.0,
            "p99_ms_le": 50.0,
        }
    }


def test_a_hop_without_observations_in_the_phase_is_left_out() -> None:
    same = hops.parse(_exposition([0.002]), "anpr_gateway_request_seconds", {"route": "/v1/reads"})
    assert hops.between({"gateway request": same}, {"gateway request": same}) == {}


def test_a_missing_family_is_none() -> None:
    assert hops.parse(_exposition([0.002]), "anpr_matcher_batch_seconds", {}) is None
