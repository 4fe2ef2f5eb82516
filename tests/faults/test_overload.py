"""Overload at three times the gateway's sustainable rate (issue 10, item 7).

The sustainable rate is measured first (closed loop), then three times that is offered open
loop. Admission control must keep the latency of accepted requests near the queue budget plus
their own service time, refuse the rest with 503 + Retry-After (publishing nothing), and the
ledger checks must hold for what was accepted.

The gateway runs with 1 ingest slot (`ANPR_INGEST_CONCURRENCY=1`) so that its queue, not the
CPU of the shared test machine or the broker, is what saturates at 3x: the queue is what
admission control bounds. With 4 slots a faster gateway (2026-12-03) outran the open-loop
driver, which shares this process's CPU: it sent ~500 requests/s while the gateway sustained
~730, the queue never passed the budget, and nothing was shed (a false failure of the test,
not of admission control). Requests carry 10 reads. The bound on accepted latency is the budget
plus the service time measured at 1x (p99 of 2 closed-loop senders, so no queueing), doubled for
the noise of a shared machine.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.faults.checks import verdict
from tests.faults.load import closed_loop, percentile

pytestmark = [pytest.mark.faults, pytest.mark.kafka]

BATCH = 10
SLOTS = 1
# ANPR_FAULTS_BUDGET_MS=600000 runs the same load with admission control out of the way, for the
# "before" figure in docs/operations.md; the assertions then fail, as they should.
BUDGET_MS = int(os.environ.get("ANPR_FAULTS_BUDGET_MS", "1000"))
OVERLOAD = 3.0
OVERLOAD_S = 8.0
PROBE_S = 4.0
# The driver's cap on requests in flight must not be what limits the offered load. The queue
# sheds once SLOTS x budget / service time requests wait (about 360 at 11 ms a request): with
# the driver's default cap of 256, a fast host never got there, the driver held back the
# excess itself ("not sent (driver cap)") and nothing was shed.
MAX_IN_FLIGHT = 2048


def queue_wait_buckets(metrics: str) -> dict[float, float]:
    """upper bound (s) -> cumulative count of `anpr_gateway_queue_wait_seconds`."""
    found = re.findall(
        r'^anpr_gateway_queue_wait_seconds_bucket\{le="([^"]+)"\} (\S+)$', metrics, re.M
    )
    return {float(le): float(count) for le, count in found}


@pytest.mark.timeout(400)
async def test_overload_at_three_times_capacity_sheds_and_bounds_latency(
    kafka_bootstrap: str, scenario_factory: Callable[..., Any]
) -> None:
    async with scenario_factory(
        kafka_bootstrap,
        rate=1,
        batch=BATCH,
        max_in_flight=MAX_IN_FLIGHT,
        ANPR_INGEST_QUEUE_BUDGET_MS=str(BUDGET_MS),
        ANPR_INGEST_CONCURRENCY=str(SLOTS),
    ) as sc:
        driver = sc.driver
        driver.hit_every = 20  # 5 % hot plates: the stream is not what is measured here
        _, service_p99 = await closed_loop(driver, workers=2, duration_s=3)
        capacity, _ = await closed_loop(driver, workers=3 * SLOTS, duration_s=PROBE_S)
        sc.report(
            f"sustainable: {capacity:.0f} requests/s x {BATCH} reads with {SLOTS} slots; "
            f"service p99 at 1x {service_p99 * 1000:.0f} ms"
        )
        assert capacity > 0
        mark = len(driver.ledger.latencies)
        driver.rate = OVERLOAD * capacity
        driver.start()
        started = time.monotonic()
        await asyncio.sleep(OVERLOAD_S)  # how long 3x is offered: the load, not a wait
        await driver.stop()
        elapsed = time.monotonic() - started

        answers = driver.ledger.latencies[mark:]
        accepted = [s for status, s, _ in answers if status == 202]
        shed = [s for status, s, _ in answers if status == 503]
        p99 = percentile(accepted, 0.99)
        goodput = len(accepted) / elapsed
        sc.report(
            f"offered {driver.rate:.0f} requests/s for {elapsed:.1f} s: {len(accepted)} accepted "
            f"({goodput:.0f}/s), {len(shed)} shed (503), accepted p50 "
            f"{percentile(accepted, 0.5) * 1000:.0f} ms p99 {p99 * 1000:.0f} ms, shed p99 "
            f"{percentile(shed, 0.99) * 1000:.0f} ms; not sent (driver cap) "
            f"{driver.ledger.not_sent}; transport errors {dict(driver.ledger.transport_errors)}"
        )
        async with httpx.AsyncClient(timeout=10) as http:
            metrics = (await http.get(f"{sc.stack.gateway}/metrics")).text
        waits = queue_wait_buckets(metrics)
        sc.report(f"gateway queue waits (le: count): {waits}")
        result = await verdict(kafka_bootstrap, sc.reads_topic, driver.ledger, sc.collector)
        sc.report(f"overload: {result.summary()}")
        assert result.ok, f"{result.summary()}\n{sc.stack.logs()}"
        assert shed, "3x the sustainable rate was offered and nothing was shed"
        assert not driver.ledger.transport_errors, "requests went unanswered"
        # Inside the gateway: no admitted request waited longer than the budget for its slot.
        assert waits[BUDGET_MS / 1000] == waits[float("inf")], waits
        # As the camera sees it: budget + its own service time, plus up to 2 s for the time a
        # request waits for the CPU before it reaches the handler on this shared 2-core machine
        # (not visible to admission control; see docs/operations.md).
        bound = BUDGET_MS / 1000 + 2 * service_p99 + 2.0
        assert p99 <= bound, f"accepted p99 {p99:.2f} s over {bound:.2f} s"
        assert goodput >= 0.25 * capacity, "goodput collapsed under overload"
