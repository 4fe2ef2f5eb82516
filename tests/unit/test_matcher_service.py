"""The matcher service on the in-process bus: ready only once loaded, live hotlist changes take
effect within a second, a replaced list is swapped whole, commissioning cameras give test hits.

No check waits a fixed time. A hotlist change is known applied when the index shows the list's new
version; a read is known to give no hit when a marker read sent after it from the same camera
(same partition, so matched after it) has its hit. Changes of the marker list `M` (on the one
hotlists partition) likewise prove that the records published before them were consumed."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from anpr.bus.base import Message, Record
from anpr.bus.local import LocalBus, LocalConsumer
from anpr.clock import now_ms
from anpr.hotlists import (
    ListConfig,
    MatchMode,
    parse_entry_list,
    plan_delete_entry,
    plan_put_config,
    plan_replace_entries,
    plan_upsert_entries,
)
from anpr.hotlists.plan import Plan
from anpr.registry import CameraSpec, CameraState, RegistryWriter
from anpr.settings import CommonSettings
from anpr.topics import Topics
from matcher.app import create_app
from matcher.settings import MatcherSettings
from matcher.state import CHUNK, MatcherState
from tests.support.factories import make_read
from tests.support.gateway import read_topic, values
from tests.support.ticker import Ticker
from tests.support.wait import until

_ids = itertools.count()


MARKER = "MARK01"  # the one entry of list M, which every test leaves alone


@dataclass
class Rig:
    bus: LocalBus
    topics: Topics
    app: FastAPI
    config: ListConfig  # of list L, the list under test
    marker_list: ListConfig | None = None
    versions: dict[str, int] = field(default_factory=dict)  # as published, per list

    async def publish_plan(self, plan: Plan) -> None:
        await self.bus.publish(
            [Message(self.topics.hotlists, k.encode(), v) for k, v in plan.records], timeout_s=5
        )
        assert plan.config is not None or not plan.records
        if plan.config is not None:
            self.versions[plan.config.list_id] = plan.config.version
            if plan.config.list_id == self.config.list_id:
                self.config = plan.config
            elif plan.config.list_id == "M":
                self.marker_list = plan.config

    async def applied(self) -> None:
        """Until the matcher's index shows every list at the version last published."""
        index = self.app.state.service.state.index
        await until(lambda: index.versions() == self.versions, timeout_s=10)

    async def hotlists_consumed(self) -> None:
        """Until every hotlist record published so far is consumed: a change of list M published
        after them (one partition) is applied."""
        await self.publish_plan(_marker_config(self.marker_list))
        await self.applied()

    async def send(self, plate: str, camera: str = "cam-1", received_at: int | None = None) -> str:
        read_id = f"r{next(_ids)}"
        at = now_ms() if received_at is None else received_at
        read = make_read(
            plate, read_id=read_id, camera_id=camera, captured_at_ms=at, received_after_ms=0
        )
        await self.bus.publish(
            [Message(self.topics.reads, camera.encode(), orjson.dumps(read))], timeout_s=5
        )
        return read_id

    async def settled_hits_for(
        self, read_id: str, camera: str = "cam-1"
    ) -> list[dict[str, object]]:
        """Every hit `read_id` will ever give: a marker read sent after it has its hit."""
        assert len(await self.hits_for(await self.send(MARKER, camera))) == 1
        return await self.hits_for(read_id, wait_s=0)

    async def hits_for(self, read_id: str, wait_s: float = 10.0) -> list[dict[str, object]]:
        """The hits of `read_id`, waiting up to `wait_s` for the first."""
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            hits = [
                h
                for h in values(await read_topic(self.bus, self.topics.hits, timeout_s=0.05))
                if h["read"]["read_id"] == read_id
            ]  # type: ignore[index]
            if hits or asyncio.get_running_loop().time() > deadline:
                return hits


def _marker_config(current: ListConfig | None) -> Plan:
    return plan_put_config(
        current,
        list_id="M",
        name="M",
        category="marker",
        priority=5,
        match=MatchMode.EXACT,
        covert=False,
        now_ms=now_ms(),
    )


def entries(*plates: str) -> list[object]:
    return [{"entry_id": f"e-{p}", "plate": p} for p in plates]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    topics = Topics.from_prefix("anpr.")
    bus = LocalBus(None, topics.specs(CommonSettings()))
    await bus.start()
    writer = RegistryWriter(bus, topics.registry)
    await writer.put_camera(CameraSpec(camera_id="cam-1", integrator_id="int-1", name="One"))
    await writer.put_camera(
        CameraSpec(
            camera_id="cam-test", integrator_id="int-1", name="T", state=CameraState.COMMISSIONING
        )
    )
    put = plan_put_config(
        None,
        list_id="L",
        name="L",
        category="stolen",
        priority=2,
        match=MatchMode.EXACT,
        covert=False,
        now_ms=now_ms(),
    )
    assert put.config is not None
    specs, _ = parse_entry_list(entries("AAA111", "BBB222"))
    replace = plan_replace_entries(put.config, specs, live_entry_ids=(), now_ms=now_ms())
    rig = Rig(bus, topics, create_app(MatcherSettings(matcher_poll_ms=20), bus), put.config)
    await rig.publish_plan(put)
    await rig.publish_plan(replace)
    marker = _marker_config(None)
    assert marker.config is not None
    await rig.publish_plan(marker)
    specs, _ = parse_entry_list(entries(MARKER))
    await rig.publish_plan(
        plan_replace_entries(marker.config, specs, live_entry_ids=(), now_ms=now_ms())
    )
    async with rig.app.router.lifespan_context(rig.app):
        service = rig.app.state.service
        await until(lambda: service.ready, timeout_s=10)
        await rig.applied()
        yield rig
    await bus.stop()


async def test_loaded_list_matches_and_reports_its_version(rig: Rig) -> None:
    assert len(await rig.hits_for(await rig.send("AAA111"))) == 1
    assert await rig.settled_hits_for(await rig.send("ZZZ999")) == []
    assert rig.app.state.service.state.index.versions()["L"] == rig.config.version


async def test_upsert_and_delete_take_effect_within_a_second(rig: Rig) -> None:
    clock = asyncio.get_running_loop().time
    specs, _ = parse_entry_list(entries("CCC333"))
    published = clock()
    await rig.publish_plan(plan_upsert_entries(rig.config, specs, now_ms=now_ms()))
    await rig.applied()
    assert clock() - published < 1.0
    assert len(await rig.hits_for(await rig.send("CCC333"))) == 1
    published = clock()
    await rig.publish_plan(plan_delete_entry(rig.config, "e-AAA111", now_ms=now_ms()))
    await rig.applied()
    assert clock() - published < 1.0
    assert await rig.settled_hits_for(await rig.send("AAA111")) == []


async def test_entries_of_other_scripts_reach_the_index_and_hit(rig: Rig) -> None:
    """An entry the API accepts for a Thai plate (contract section 6, amended) comes through
    the hotlists topic into the matcher's index, and a read of that plate hits it."""
    specs, rejected = parse_entry_list(
        [{"entry_id": "e-thai", "plate": "กข 1234"}, {"entry_id": "e-thai-p", "pattern": "คค?5*"}]
    )
    assert rejected == []
    await rig.publish_plan(plan_upsert_entries(rig.config, specs, now_ms=now_ms()))
    await rig.applied()
    assert [h["entry_id"] for h in await rig.hits_for(await rig.send("กข-1234"))] == ["e-thai"]
    assert [h["entry_id"] for h in await rig.hits_for(await rig.send("คค 1567"))] == ["e-thai-p"]
    assert values(await read_topic(rig.bus, rig.topics.deadletter, timeout_s=0.05)) == []


async def test_replacement_is_whole(rig: Rig) -> None:
    specs, _ = parse_entry_list(entries("DDD444"))
    plan = plan_replace_entries(
        rig.config, specs, live_entry_ids={"e-AAA111", "e-BBB222"}, now_ms=now_ms()
    )
    # Publish the new entries but hold back the commit: nothing of the new list is visible yet.
    commit_at = next(i for i, (key, _) in enumerate(plan.records) if "/" not in key)
    await rig.bus.publish(
        [Message(rig.topics.hotlists, k.encode(), v) for k, v in plan.records[:commit_at]],
        timeout_s=5,
    )
    await rig.hotlists_consumed()
    assert await rig.settled_hits_for(await rig.send("DDD444")) == []
    assert len(await rig.hits_for(await rig.send("BBB222"))) == 1
    await rig.bus.publish(
        [Message(rig.topics.hotlists, k.encode(), v) for k, v in plan.records[commit_at:]],
        timeout_s=5,
    )
    assert plan.config is not None
    rig.versions["L"] = plan.config.version
    await rig.applied()
    assert len(await rig.hits_for(await rig.send("DDD444"))) == 1
    assert await rig.settled_hits_for(await rig.send("BBB222")) == []


async def test_a_large_replacement_is_folded_and_applied_in_steps(rig: Rig) -> None:
    """The commit of a replacement moves every entry of the list (a million, in a national
    list): the matcher folds it, builds the list and frees what it carried a few thousand
    entries at a time, matching reads in between (50,000 at a time held the loop 125-200 ms)."""
    plates = [f"S{i:06d}" for i in range(30_000)]
    specs, _ = parse_entry_list(entries(*plates))
    plan = plan_replace_entries(
        rig.config, specs, live_entry_ids={"e-AAA111", "e-BBB222"}, now_ms=now_ms()
    )
    assert plan.config is not None
    commit_at = next(i for i, (key, _) in enumerate(plan.records) if "/" not in key)
    await rig.bus.publish(
        [Message(rig.topics.hotlists, k.encode(), v) for k, v in plan.records[:commit_at]],
        timeout_s=30,
    )
    await rig.hotlists_consumed()
    service = rig.app.state.service
    key, value = plan.records[commit_at]  # then the old entries' tombstones: not needed here
    commit = Record(rig.topics.hotlists, 0, 10**9, key.encode(), value, now_ms())
    async with Ticker() as ticker:
        await service._apply_hotlist(commit)  # as the hotlists follower would
    assert ticker.ticks >= len(plates) // CHUNK
    assert service.state.index.versions()["L"] == plan.config.version
    rig.versions["L"] = plan.config.version
    assert len(await rig.hits_for(await rig.send(plates[-1]))) == 1
    assert await rig.settled_hits_for(await rig.send("BBB222")) == []


def test_a_replacement_is_invisible_until_installed_and_upserts_go_live_chunk_by_chunk() -> None:
    state = MatcherState()
    put = plan_put_config(
        None,
        list_id="B",
        name="B",
        category="stolen",
        priority=2,
        match=MatchMode.EXACT,
        covert=False,
        now_ms=now_ms(),
    )
    assert put.config is not None
    old, _ = parse_entry_list(entries("OLD001"))
    new, _ = parse_entry_list(entries(*(f"N{i:05d}" for i in range(3 * CHUNK))))

    def fold(plan: Plan) -> None:
        for key, value in plan.records:
            for change in state.hotlist_changes(key.encode(), value):
                for _ in state.apply_in_steps(change):
                    pass

    def hits(plate: str) -> int:
        return len(state.index.match(make_read(plate, camera_id="cam-1"), frozenset()))

    fold(put)
    first = plan_replace_entries(put.config, old, live_entry_ids=(), now_ms=now_ms())
    assert first.config is not None
    fold(first)
    replace = plan_replace_entries(first.config, new, live_entry_ids={"e-OLD001"}, now_ms=now_ms())
    commit_at = next(i for i, (key, _) in enumerate(replace.records) if "/" not in key)
    key, value = replace.records[commit_at]
    for k, v in replace.records[:commit_at]:
        assert state.hotlist_changes(k.encode(), v) == []
    steps = state.hotlist_changes_in_steps(key.encode(), value)
    seen = []
    while True:
        try:
            next(steps)
        except StopIteration as done:
            changes = done.value
            break
        seen.append((hits("OLD001"), hits("N00000")))
    (change,) = changes
    for _ in state.apply_in_steps(change):
        seen.append((hits("OLD001"), hits(f"N{3 * CHUNK - 1:05d}")))
    assert seen and set(seen[:-4]) == {(1, 0)}  # the old list, whole, until installed
    assert (hits("OLD001"), hits("N00000")) == (0, 1)
    assert change.entries == []  # dropped, in steps


async def test_a_replaced_lists_old_entries_are_freed_with_no_reads_flowing(rig: Rig) -> None:
    """Old versions of large lists are freed a slice at a time; with no read batches at all
    (at start, on a quiet night) the hotlist batches free them."""
    index = rig.app.state.service.state.index
    index._purge_at_once = 10  # "large" from 11 entries, so the test needs no million
    live = {"e-AAA111", "e-BBB222"}
    for round_ in range(2):
        plates = [f"R{round_}X{i:03d}" for i in range(30)]
        specs, _ = parse_entry_list(entries(*plates))
        await rig.publish_plan(
            plan_replace_entries(rig.config, specs, live_entry_ids=live, now_ms=now_ms())
        )
        live = {f"e-{p}" for p in plates}
        await rig.applied()
    await rig.hotlists_consumed()  # one more batch of hotlist records, no read meanwhile
    assert index.purge_pending == 0
    assert len(index) == 30 + 1  # the list's live version and the marker


async def test_commissioning_camera_gives_test_hits(rig: Rig) -> None:
    (hit,) = await rig.hits_for(await rig.send("AAA111", camera="cam-test"))
    assert hit["test"] is True
    (live,) = await rig.hits_for(await rig.send("AAA111"))
    assert live["test"] is False


async def test_a_read_is_test_or_live_by_the_state_its_camera_had_when_it_was_received(
    rig: Rig,
) -> None:
    """Reads queued across a change of state (a matcher behind, a restart, past-read matching)
    were judged by the state when matched: a live read queued as its camera went back to
    commissioning gave a test hit, no alarm; a commissioning read queued as it went live, an
    alarm on a camera not yet signed off."""
    service = rig.app.state.service
    view = service.state.registry
    writer = RegistryWriter(rig.bus, rig.topics.registry)

    async def set_state(camera_id: str, state: CameraState) -> int:
        before = now_ms()
        spec = CameraSpec(camera_id=camera_id, integrator_id="int-1", name="N", state=state)
        await writer.put_camera(spec, view.cameras[camera_id])
        await until(lambda: view.cameras[camera_id].state is state, timeout_s=10)
        return before

    went_live = await set_state("cam-test", CameraState.LIVE)
    (queued,) = await rig.hits_for(await rig.send("AAA111", "cam-test", went_live - 1_000))
    assert queued["test"] is True
    (now_live,) = await rig.hits_for(await rig.send("AAA111", "cam-test"))
    assert now_live["test"] is False

    back = await set_state("cam-1", CameraState.COMMISSIONING)
    (queued_live,) = await rig.hits_for(await rig.send("AAA111", "cam-1", back - 1_000))
    assert queued_live["test"] is False
    (now_testing,) = await rig.hits_for(await rig.send("AAA111", "cam-1"))
    assert now_testing["test"] is True


async def test_list_gauges_are_set_once_per_batch_of_hotlist_records(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replacement's thousands of entry records and tombstones set the per-list gauges once a
    batch: per record, a replay of 1M tombstones over 100 lists took about 10 minutes."""
    service = rig.app.state.service
    calls: list[int] = []
    real = service.metrics.update_lists
    monkeypatch.setattr(
        service.metrics, "update_lists", lambda index: calls.append(1) or real(index)
    )
    plates = [f"RP{n:05d}" for n in range(3000)]
    specs, _ = parse_entry_list(entries(*plates))
    big = plan_replace_entries(
        rig.config, specs, live_entry_ids={"e-AAA111", "e-BBB222"}, now_ms=now_ms()
    )
    await rig.publish_plan(big)
    await rig.applied()
    small, _ = parse_entry_list(entries("EEE555"))
    shrink = plan_replace_entries(
        rig.config, small, live_entry_ids={f"e-{p}" for p in plates}, now_ms=now_ms()
    )
    await rig.publish_plan(shrink)
    await rig.hotlists_consumed()  # the tombstones after the commit too
    records = len(big.records) + len(shrink.records)
    assert records > 6000
    assert 1 <= len(calls) <= records // 100
    gauge = service.metrics.registry.get_sample_value
    assert gauge("anpr_matcher_list_entries", {"list_id": "L"}) == 1
    assert gauge("anpr_matcher_list_version_applied", {"list_id": "L"}) == rig.config.version


async def test_the_oldest_unmatched_age_reads_0_once_nothing_waits(rig: Rig) -> None:
    """Set per batch only, the gauge kept the last batch's age for ever (docs: 0 when idle)."""
    await rig.applied()
    service = rig.app.state.service
    assert len(await rig.hits_for(await rig.send("AAA111"))) == 1
    await until(lambda: service.reads.ready and service.reads.lag == 0)
    service.metrics.oldest_unmatched_age.set(42.0)  # as a slow batch leaves it
    await service._report_status()
    gauge = service.metrics.registry.get_sample_value
    assert gauge("anpr_matcher_oldest_unmatched_age_seconds") == 0


class FrozenHotlists:
    """The local bus, whose hotlists consumers stop fetching once `freeze()` is called (as one
    left behind by a broker restart); a consumer made after that works again."""

    def __init__(self, bus: LocalBus, topic: str) -> None:
        self._bus = bus
        self._topic = topic
        self._frozen: list[LocalConsumer] = []
        self._live: list[LocalConsumer] = []
        self.idle_polls = 0  # polls of frozen consumers

    def __getattr__(self, name: str) -> object:
        return getattr(self._bus, name)

    def freeze(self) -> None:
        self._frozen.extend(self._live)

    def consumer(self, topics: Sequence[str], **kwargs: Any) -> LocalConsumer:
        kwargs.pop("fetch_wait_ms", None)
        kwargs.pop("max_poll_interval_s", None)
        consumer = LocalConsumer(self._bus, topics, **kwargs)
        if self._topic in topics:
            self._live.append(consumer)
            fetch = consumer.getmany

            async def getmany(*, timeout_ms: int, max_records: int) -> list[Record]:
                if consumer in self._frozen:
                    self.idle_polls += 1
                    await asyncio.sleep(min(timeout_ms / 1000, 0.05))  # not the 5 s fetch wait
                    return []
                return await fetch(timeout_ms=timeout_ms, max_records=max_records)

            consumer.getmany = getmany  # type: ignore[method-assign]
        return consumer


async def test_a_hotlists_follower_that_stops_fetching_is_replaced_after_the_stall_time() -> None:
    """The hotlists follower may be busy for 15 minutes building a huge replacement, but one
    whose consumer stops fetching is stalled like any other after `ANPR_STALL_S`, and replaced.
    It used to get the same 15 minutes: meanwhile every change of every list waited, reads were
    matched against the old lists, and `/readyz` stayed 200."""
    topics = Topics.from_prefix("anpr.")
    bus = LocalBus(None, topics.specs(CommonSettings()))
    await bus.start()
    registry = RegistryWriter(bus, topics.registry)
    await registry.put_camera(CameraSpec(camera_id="cam-1", integrator_id="int-1", name="One"))
    frozen = FrozenHotlists(bus, topics.hotlists)
    app = create_app(MatcherSettings(matcher_poll_ms=20, stall_s=0.3), frozen)  # type: ignore[arg-type]
    put = plan_put_config(
        None, list_id="L", name="L", category="stolen", priority=2, match=MatchMode.EXACT,
        covert=False, now_ms=now_ms(),
    )  # fmt: skip
    assert put.config is not None
    rig = Rig(bus, topics, app, put.config)
    await rig.publish_plan(put)
    async with app.router.lifespan_context(app):
        service = app.state.service
        await until(lambda: service.ready, timeout_s=10)
        await rig.applied()
        frozen.freeze()
        # Any record ends the poll under way, which still fetches; the next one is frozen.
        await registry.put_camera(CameraSpec(camera_id="cam-2", integrator_id="int-1", name="2"))
        await until(lambda: frozen.idle_polls > 0)
        specs, _ = parse_entry_list(entries("CCC333"))
        await rig.publish_plan(plan_upsert_entries(rig.config, specs, now_ms=now_ms()))
        await rig.applied()
        assert service.hotlists.loop.consumers_made == 2
        assert len(await rig.hits_for(await rig.send("CCC333"))) == 1
    await bus.stop()


async def test_the_hotlists_follower_shows_no_lag_or_progress_time(rig: Rig) -> None:
    """/metrics and /readyz need no token: the hotlists follower's lag counted the entries of
    a covert list being written, and its last-progress time moved on every covert write,
    while no overt series moved. Its stall and readiness still show."""
    service = rig.app.state.service
    registry = service.runtime.registry
    labels = {"process": "matcher", "loop": "matcher-hotlists"}
    assert registry.get_sample_value("anpr_consumer_ready", labels) == 1
    assert registry.get_sample_value("anpr_consumer_lag", labels) is None
    progress = "anpr_consumer_last_progress_timestamp_seconds"
    assert registry.get_sample_value(progress, labels) is None
    assert "lag" not in service.runtime.readiness()["matcher-hotlists"]


async def test_a_replay_backlog_leaves_the_matcher_ready_for_live_reads(rig: Rig) -> None:
    """After a restart during a large past-read job, the replay loop reads its backlog while
    live reads are matched all along: the matcher said it was not ready (`AnprNoMatcherReady`,
    "reads are not matched"; a rolling upgrade held up). `/readyz` still shows the loop."""
    service = rig.app.state.service
    await until(lambda: service.ready, timeout_s=10)
    replay = service.replay.loop
    replay.caught_up.clear()  # as a restart with a backlog on the replay topic leaves it
    try:
        assert not replay.ready
        assert service.ready
        assert service.runtime.readiness()["matcher-replay"]["caught_up"] is False
        (hit,) = await rig.hits_for(await rig.send("AAA111"))
        assert hit["list_id"] == "L"
    finally:
        replay.caught_up.set()
