"""What a gateway request's metric updates cost: prometheus_client against `anpr.loopmetrics`.

    python -m benchmarks.metric_updates [--requests 200000] [--rounds 3]

One request's updates, as the gateway makes them for an accepted single read (requests in
flight up and down, the queue wait, the accepted reads of its camera, the dedup size, the
produce time, the request counted and timed by route), repeated `requests` times on each kind
of metric in turn, `rounds` times. Prints microseconds per request. No broker, no HTTP: the
share of a whole request is this over its CPU per request in `benchmarks.http_stack`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from anpr.loopmetrics import LoopCounter, LoopGauge, LoopHistogram
from ingest.metrics import LATENCY_BUCKETS


def metrics(counter: Any, histogram: Any, gauge: Callable[..., Any]) -> Sequence[Any]:
    registry = CollectorRegistry()
    buckets = LATENCY_BUCKETS
    return (
        counter("requests_total", "x", ["route", "status"], registry=registry),
        histogram("request_seconds", "x", ["route"], buckets=buckets, registry=registry),
        gauge("in_flight", "x", registry=registry),
        histogram("queue_wait_seconds", "x", buckets=buckets, registry=registry),
        counter("reads_accepted_total", "x", ["camera_id", "integrator_id"], registry=registry),
        histogram("produce_seconds", "x", buckets=buckets, registry=registry),
        gauge("dedup_entries", "x", registry=registry),
    )


def one_request(updated: Sequence[Any]) -> None:
    requests, seconds, in_flight, wait, accepted, produce, dedup = updated
    in_flight.inc()
    wait.observe(0.0003)
    accepted.labels("cam-17", "int-3").inc(1)
    dedup.set(12_345)
    produce.observe(0.004)
    in_flight.dec()
    requests.labels("/v1/reads", "202").inc()
    seconds.labels("/v1/reads").observe(0.011)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    kinds = {
        "prometheus_client": metrics(Counter, Histogram, Gauge),
        "anpr.loopmetrics": metrics(LoopCounter, LoopHistogram, LoopGauge),
    }
    for round_ in range(1, args.rounds + 1):
        for name, updated in kinds.items():
            started = time.perf_counter()
            for _ in range(args.requests):
                one_request(updated)
            per_request = (time.perf_counter() - started) / args.requests * 1e6
            print(f"round {round_}: {name}: {per_request:.2f} µs per request", flush=True)


if __name__ == "__main__":
    main()
