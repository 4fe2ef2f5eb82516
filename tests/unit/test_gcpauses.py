"""Garbage-collection pauses as a histogram per generation; the freezes after load and in bulk."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from anpr.bus.base import Message
from anpr.bus.local import LocalBus
from anpr.follow import TopicFollower
from anpr.gcpauses import GcPauseCollector, GcPauses, process_pauses
from anpr.gcpolicy import YOUNG_THRESHOLD
from anpr.runtime import Runtime
from anpr.settings import CommonSettings
from anpr.topics import Topics
from tests.support.gateway import gateway_on_local_bus
from tests.support.wait import until


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _sample(registry: CollectorRegistry, suffix: str, **labels: str) -> float | None:
    return registry.get_sample_value(f"anpr_gc_pause_seconds{suffix}", labels)


def test_a_pause_is_counted_in_its_generation_and_bucket() -> None:
    clock, registry = Clock(), CollectorRegistry()
    pauses = GcPauses(clock)
    GcPauseCollector("gateway", registry, pauses)
    pauses.hook("start", {"generation": 2})
    clock.now += 0.03
    pauses.hook("stop", {"generation": 2, "collected": 0, "uncollectable": 0})
    full = {"process": "gateway", "generation": "2"}
    assert _sample(registry, "_bucket", le="0.025", **full) == 0
    assert _sample(registry, "_bucket", le="0.05", **full) == 1
    assert _sample(registry, "_bucket", le="+Inf", **full) == 1
    assert _sample(registry, "_sum", **full) == pytest.approx(0.03)
    assert _sample(registry, "_count", process="gateway", generation="0") == 0


def test_a_pause_equal_to_a_bound_is_in_that_bound() -> None:
    registry = CollectorRegistry()
    pauses = GcPauses()
    GcPauseCollector("matcher", registry, pauses)
    pauses.add(1, 0.01)
    pauses.add(1, 5.0)
    young = {"process": "matcher", "generation": "1"}
    assert _sample(registry, "_bucket", le="0.005", **young) == 0
    assert _sample(registry, "_bucket", le="0.01", **young) == 1
    assert _sample(registry, "_bucket", le="1.0", **young) == 1
    assert _sample(registry, "_count", **young) == 2


def test_the_process_hook_records_real_collections_once() -> None:
    pauses = process_pauses()
    assert process_pauses() is pauses
    assert gc.callbacks.count(pauses.hook) == 1
    before = sum(pauses.counts[2])
    gc.collect()
    assert sum(pauses.counts[2]) == before + 1


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
async def test_the_gateway_freezes_its_objects_once_the_registry_is_loaded() -> None:
    assert gc.get_freeze_count() == 0
    async with gateway_on_local_bus(events_flush_s=0.05):
        await until(lambda: gc.get_freeze_count() > 0)


async def test_the_gateway_collects_its_young_objects_less_often_while_it_serves() -> None:
    """A read's containers live across the broker's round trip: at CPython's 700 the young
    generation was collected some 260 times a second under load. Stopped, the gateway puts the
    threshold back (this process goes on with other tests)."""
    before = gc.get_threshold()
    assert before[0] != YOUNG_THRESHOLD
    async with gateway_on_local_bus():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, before[1], before[2])
    assert gc.get_threshold() == before


@pytest.mark.usefixtures("unfrozen")
@pytest.mark.parametrize(("freeze_every", "frozen"), [(10, True), (0, False), (100, False)])
async def test_a_follower_freezes_what_it_built_every_so_many_records(
    freeze_every: int, frozen: bool
) -> None:
    bus = LocalBus(None, Topics.from_prefix("t.").specs(CommonSettings()))
    await bus.start()
    topic = Topics.from_prefix("t.").hotlists
    runtime = Runtime(
        process="test", bus=bus, registry=CollectorRegistry(), deadletter_topic="t.deadletter"
    )
    kept: list[dict[str, bytes]] = []
    try:
        await bus.publish([Message(topic, b"k%d" % i, b"v%d" % i) for i in range(30)], timeout_s=1)
        follower = TopicFollower(
            runtime,
            [topic],
            lambda r: kept.append({"value": r.value or b""}),
            name="hotlists",
            poll_ms=20,
            freeze_every=freeze_every,
        )
        follower.start()
        await asyncio.wait_for(follower.caught_up.wait(), 5)
        assert len(kept) == 30
        # What the records built is frozen (no full collection walks it) or not.
        assert (gc.get_freeze_count() > 0) is frozen
    finally:
        await runtime.stop()
        await bus.stop()
