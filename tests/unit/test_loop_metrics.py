"""The event-loop metrics export exactly what prometheus_client's own metrics do."""

from __future__ import annotations

import asyncio
import time

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from anpr.health_routes import exposition as on_a_thread
from anpr.loopmetrics import LoopCounter, LoopGauge, LoopHistogram

BUCKETS = (0.001, 0.0025, 0.01, 0.1, 1.0, 10.0)
LABELS = st.sampled_from(("/v1/reads", "/v1/heartbeats", "/healthz"))
STATUS = st.sampled_from(("202", "401", "503"))
VALUES = st.one_of(st.sampled_from(BUCKETS), st.floats(min_value=0, max_value=50, allow_nan=False))


def exposition(registry: CollectorRegistry) -> list[str]:
    """The text format, with the `_created` series' values (a clock reading) left out."""
    text = generate_latest(registry).decode()
    return [
        line.rpartition(" ")[0] if "_created{" in line or "_created " in line else line
        for line in text.splitlines()
    ]


@given(
    st.lists(st.tuples(LABELS, STATUS, VALUES), max_size=60),
    st.lists(VALUES, max_size=20),
    st.lists(st.sampled_from(("inc", "dec", "set")), max_size=20),
)
def test_same_exposition_as_prometheus_client(
    requests: list[tuple[str, str, float]], waits: list[float], gauge_ops: list[str]
) -> None:
    ours, reference = CollectorRegistry(), CollectorRegistry()
    counter = LoopCounter("x_requests_total", "requests", ["route", "status"], registry=ours)
    seconds = LoopHistogram("x_seconds", "latency", ["route"], buckets=BUCKETS, registry=ours)
    wait = LoopHistogram("x_wait_seconds", "wait", buckets=BUCKETS, registry=ours)
    gauge = LoopGauge("x_in_flight", "in flight", registry=ours)
    plain = LoopCounter("x_plain_total", "unlabelled", registry=ours)
    r_counter = Counter("x_requests_total", "requests", ["route", "status"], registry=reference)
    r_seconds = Histogram("x_seconds", "latency", ["route"], buckets=BUCKETS, registry=reference)
    r_wait = Histogram("x_wait_seconds", "wait", buckets=BUCKETS, registry=reference)
    r_gauge = Gauge("x_in_flight", "in flight", registry=reference)
    r_plain = Counter("x_plain_total", "unlabelled", registry=reference)
    for route, status, value in requests:
        counter.labels(route, status).inc()
        r_counter.labels(route, status).inc()
        seconds.labels(route).observe(value)
        r_seconds.labels(route).observe(value)
        plain.inc(2)
        r_plain.inc(2)
    for value in waits:
        wait.observe(value)
        r_wait.observe(value)
    for op in gauge_ops:
        {"inc": gauge.inc, "dec": gauge.dec, "set": lambda: gauge.set(7)}[op]()
        {"inc": r_gauge.inc, "dec": r_gauge.dec, "set": lambda: r_gauge.set(7)}[op]()
    assert exposition(ours) == exposition(reference)


def test_created_is_when_the_series_appeared() -> None:
    registry = CollectorRegistry()
    counter = LoopCounter("z_requests_total", "z", ["route", "status"], registry=registry)
    before = time.time()
    counter.labels("/v1/reads", "500").inc()
    created = registry.get_sample_value(
        "z_requests_created", {"route": "/v1/reads", "status": "500"}
    )
    assert created is not None and before <= created <= time.time()


def test_wrong_number_of_label_values_is_refused() -> None:
    counter = LoopCounter("y_total", "y", ["route", "status"], registry=CollectorRegistry())
    try:
        counter.labels("/v1/reads")
    except ValueError as exc:
        assert "route" in str(exc)
    else:
        raise AssertionError("one label value for two labels was accepted")


async def test_a_scrape_on_a_worker_thread_while_the_loop_adds_series() -> None:
    """`/metrics` writes the exposition on a thread (`anpr.health_routes.exposition`) while the
    event loop keeps adding series (a camera's first read): the scrape reads a snapshot."""
    registry = CollectorRegistry()
    reads = LoopCounter("reads_total", "Reads.", ["camera_id"], registry=registry)
    latency = LoopHistogram("latency", "Latency.", ["camera_id"], buckets=(0.1,), registry=registry)
    scrapes = [asyncio.create_task(on_a_thread(registry)) for _ in range(8)]
    for added in range(20_000):
        reads.labels(f"cam-{added}").inc()
        latency.labels(f"cam-{added}").observe(0.05)
        if added % 100 == 0:
            await asyncio.sleep(0)
    texts = [(await s).decode() for s in scrapes]  # none raised
    assert all(text.count("reads_total{") <= 20_000 for text in texts)
    assert (await on_a_thread(registry)).decode().count("reads_total{") == 20_000


def test_series_is_a_snapshot() -> None:
    reads = LoopCounter("reads_total", "Reads.", ["camera_id"], registry=CollectorRegistry())
    reads.labels("a").inc()
    before = reads.series()
    reads.labels("b").inc()
    assert [values for values, _ in before] == [("a",)]
