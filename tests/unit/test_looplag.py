"""The event-loop lag watch: a blocked loop is measured, counted, and logged with its duration."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from prometheus_client import CollectorRegistry

from anpr.bus.local import LocalBus
from anpr.looplag import LoopLagWatch
from anpr.runtime import Runtime
from tests.support.wait import until


def _bucket(registry: CollectorRegistry, le: str) -> float:
    value = registry.get_sample_value(
        "anpr_event_loop_lag_seconds_bucket", {"process": "gateway", "le": le}
    )
    return value or 0.0


async def test_a_blocked_loop_is_measured_as_lag() -> None:
    registry = CollectorRegistry()
    watch = LoopLagWatch("gateway", registry, interval_s=0.01)
    task = asyncio.create_task(watch.run())
    try:
        count = "anpr_event_loop_lag_seconds_count"
        await until(lambda: (registry.get_sample_value(count, {"process": "gateway"}) or 0) > 0)
        # The watch is asleep on its timer now. Block the loop, as a synchronous encode or a
        # store call on it would.
        time.sleep(0.3)  # noqa: ASYNC251 - holding the loop is the point
        await until(lambda: watch.worst_s >= 0.29)
        assert _bucket(registry, "+Inf") - _bucket(registry, "0.25") >= 1
    finally:
        task.cancel()


def test_a_long_stall_is_logged_with_its_duration_only(caplog: pytest.LogCaptureFixture) -> None:
    watch = LoopLagWatch("matcher", CollectorRegistry())
    with caplog.at_level(logging.WARNING, logger="anpr.looplag"):
        watch.observe(0.4)
        watch.observe(1.5)
    assert [r.getMessage() for r in caplog.records] == ["matcher: event loop blocked for 1500 ms"]
    assert watch.worst_s == 1.5


def test_an_early_wake_counts_as_no_lag() -> None:
    registry = CollectorRegistry()
    LoopLagWatch("api", registry).observe(-0.0005)
    assert registry.get_sample_value("anpr_event_loop_lag_seconds_sum", {"process": "api"}) == 0.0


async def test_the_runtime_supervises_the_watch() -> None:
    bus = LocalBus(None, ())
    registry = CollectorRegistry()
    runtime = Runtime(process="gateway", bus=bus, registry=registry, deadletter_topic="dl")
    runtime.watch_event_loop()
    try:
        assert runtime.health()["tasks"]["event-loop-lag"]["state"] == "running"
    finally:
        await runtime.stop()
