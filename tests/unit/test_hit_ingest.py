"""The API's hits step on a store of its own: hits go to the streams as stored, with their alert
notes as the store holds them, without being read back; a batch stored earlier but never
streamed (it failed after its insert) is still streamed, once, by the next batch."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from anpr.auth import Principal, Role
from anpr.bus.base import Record
from anpr.hotlists import HotlistBook
from api.alerts.placer import AlertPlacer, new_sighting
from api.hits.hub import StreamHub, StreamItem, Subscription
from api.hits.ingest import HitIngest, decode_hit
from api.hits.stream import HitStream
from api.metrics import ApiMetrics
from api.store.sqlite import SqliteStore
from tests.unit.api_fixtures import make_hit, running_api


@dataclass
class Step:
    store: SqliteStore
    ingest: HitIngest
    sub: Subscription
    statements: list[str]

    def streamed(self) -> list[StreamItem]:
        items = []
        while not self.sub.queue.empty():
            items.append(self.sub.queue.get_nowait())
        return items


@pytest.fixture
async def step() -> AsyncIterator[Step]:
    store = SqliteStore(None)
    await store.open()
    metrics = ApiMetrics(CollectorRegistry())
    hub = StreamHub(metrics, queue_size=100)
    loaded = asyncio.Event()
    loaded.set()
    placer = AlertPlacer(store, HotlistBook(), loaded, metrics)
    ingest = HitIngest(store, hub, metrics, placer)
    await ingest.start()
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    yield Step(store, ingest, hub.subscribe(who="test", include_covert=True), statements)
    await store.close()


def record(hit: dict[str, Any], offset: int) -> Record:
    return Record("hits", 0, offset, hit["hit_id"].encode(), orjson.dumps(hit), hit["matched_at"])


async def test_stored_hits_are_streamed_without_reading_them_back(step: Step) -> None:
    twice = [make_hit(plate="1ABC123", entry_id="e-1") for _ in range(2)]
    other = make_hit(plate="9XYZ999", entry_id="e-2")
    poison = await step.ingest.handle_batch([record(h, n) for n, h in enumerate([*twice, other])])

    assert poison == []
    read_back = [s for s in step.statements if "WHERE seq >" in s or "s.hit_id IN" in s]
    assert read_back == []
    items = step.streamed()
    assert [i.hit.hit_id for i in items] == [h["hit_id"] for h in [*twice, other]]
    # The hits and the notes are the ones a replay (Last-Event-ID) reads from the store: both
    # sightings of the shared alert show it with its two sightings, not one then two.
    assert [i.hit for i in items] == await step.store.hits_after_seq(
        0, include_covert=True, limit=10
    )
    notes = await step.store.alert_notes([i.hit.hit_id for i in items])
    assert [i.note for i in items] == [notes[i.hit.hit_id] for i in items]
    assert [i.note.alert.sightings for i in items if i.note] == [2, 2, 1]


async def test_a_batch_stored_but_never_streamed_is_streamed_by_the_next(step: Step) -> None:
    first, second = make_hit(entry_id="e-1"), make_hit(entry_id="e-2")
    # A batch that failed after its insert: stored, never streamed, offset not committed.
    await step.store.add_hits([decode_hit(record(first, 0))])

    await step.ingest.handle_batch([record(first, 0), record(second, 1)])

    items = step.streamed()
    assert [i.hit.hit_id for i in items] == [first["hit_id"], second["hit_id"]]
    assert all(i.note is not None for i in items)
    await step.ingest.handle_batch([record(first, 0), record(second, 1)])  # redelivered
    assert step.streamed() == []


async def test_a_hit_read_back_before_its_alert_note_waits_for_it(
    step: Step, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a batch is stored, then placed, in two transactions: the stream tail can
    read a hit whose note does not exist yet. It waits for the note (so the `alert` event comes
    first on every stream) for a bounded time, then goes without."""
    a, b, c = (decode_hit(record(make_hit(entry_id=f"e-{n}"), n)) for n in range(3))
    await step.store.add_hits([a, b, c])
    await step.store.add_sightings([new_sighting(a)], lambda _: 60_000)  # b, c: placing on its way

    assert await step.ingest.publish_new() == 1
    assert [(i.hit.hit_id, i.note is not None) for i in step.streamed()] == [(a.hit_id, True)]
    assert await step.ingest.publish_new() == 0  # b is still waiting for its note

    await step.store.add_sightings([new_sighting(b)], lambda _: 60_000)
    assert await step.ingest.publish_new() == 1
    assert [(i.hit.hit_id, i.note is not None) for i in step.streamed()] == [(b.hit_id, True)]

    # c is never placed: past the grace it goes to the streams without a note.
    assert await step.ingest.publish_new() == 0
    monkeypatch.setattr("api.hits.ingest.PLACING_GRACE_S", 0.0)
    assert await step.ingest.publish_new() == 1
    assert [(i.hit.hit_id, i.note) for i in step.streamed()] == [(c.hit_id, None)]


async def test_an_empty_stores_replay_of_the_topic_is_stored_but_not_streamed(
    step: Step,
) -> None:
    """A new or wiped store replays the whole hits topic: old hits are history (searchable,
    in alerts), not new alarms for the consoles connected meanwhile."""
    old = [make_hit(entry_id=f"e-{n}", plate=f"OLD{n}") for n in range(3)]
    live = make_hit(entry_id="e-9", plate="NEW1")
    step.ingest.backfill({("hits", 0): 3, ("hits", 1): 0})
    assert step.ingest.backfilling()

    await step.ingest.handle_batch([record(h, n) for n, h in enumerate(old[:2])])
    assert step.streamed() == []
    assert step.ingest.backfilling()
    await step.ingest.handle_batch([record(old[2], 2), record(live, 3)])

    assert [i.hit.hit_id for i in step.streamed()] == [live["hit_id"]]
    assert not step.ingest.backfilling()
    stored = await step.store.hits_after_seq(0, include_covert=True, limit=10)
    assert [h.hit_id for h in stored] == [h["hit_id"] for h in [*old, live]]
    assert set(await step.store.alert_notes([h["hit_id"] for h in old])) == {
        h["hit_id"] for h in old
    }
    # Behind its backfill, the replay of an old offset (a redo) streams as any replay does.
    later = make_hit(entry_id="e-10", plate="NEW2")
    await step.ingest.handle_batch([record(later, 4)])
    assert [i.hit.hit_id for i in step.streamed()] == [later["hit_id"]]


async def test_an_api_on_an_empty_store_treats_the_topic_so_far_as_history(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[tuple[str, int], int]] = []
    original = HitIngest.backfill

    def spy(self: HitIngest, until: dict[tuple[str, int], int]) -> None:
        calls.append(dict(until))
        original(self, until)

    monkeypatch.setattr(HitIngest, "backfill", spy)
    old = [make_hit(entry_id=f"e-{n}") for n in range(4)]
    async with running_api(hits_before=old) as api:
        await api.until(lambda: all(api._stored(h["hit_id"]) for h in old))
        (until,) = calls
        assert sum(until.values()) == len(old)
        assert {topic for topic, _ in until} == {api.topics.hits}
        await api.until(lambda: not api.service.hit_ingest.backfilling())


async def test_a_stream_resumed_during_the_replay_of_the_topic_misses_none_of_it() -> None:
    """A console reconnecting (Last-Event-ID) to a replica whose empty store is replaying the
    topic gets every hit stored after its last one: those stored as history after it subscribed
    too, not only the live ones that follow (they came after its last hit; it never saw them)."""
    store = SqliteStore(None)
    await store.open()
    metrics = ApiMetrics(CollectorRegistry())
    hub = StreamHub(metrics, queue_size=100)
    loaded = asyncio.Event()
    loaded.set()
    ingest = HitIngest(store, hub, metrics, AlertPlacer(store, HotlistBook(), loaded, metrics))
    await ingest.start()
    old = [make_hit(entry_id=f"e-{n}", plate=f"OLD{n}") for n in range(6)]
    live = make_hit(entry_id="e-9", plate="NEW1")
    ingest.backfill({("hits", 0): len(old)})
    await ingest.handle_batch([record(h, n) for n, h in enumerate(old[:3])])
    stream = HitStream(
        store=store,
        hub=hub,
        metrics=metrics,
        principal=Principal(Role.OPERATOR, "op", "x"),
        last_event_id=old[0]["hit_id"],
        keepalive_s=5.0,
        page=100,
        published=ingest.published,
    )
    got: list[str] = []
    arrived = asyncio.Condition()

    async def read() -> None:
        async for chunk in stream.events():
            async with arrived:
                got.extend(re.findall(r"^id: (\S+)$", chunk.decode(), re.MULTILINE))
                arrived.notify_all()

    reader = asyncio.create_task(read())
    try:
        async with asyncio.timeout(2.0), arrived:
            await arrived.wait_for(lambda: len(got) == 2)  # replayed
        async with asyncio.timeout(2.0):
            await asyncio.sleep(0.05)  # on to its subscription: the stream is live
            assert len(hub) == 1
            await ingest.handle_batch([record(h, n) for n, h in enumerate(old[3:], 3)])
            await ingest.handle_batch([record(live, len(old))])
            async with arrived:
                await arrived.wait_for(lambda: live["hit_id"] in got)
        assert got == [h["hit_id"] for h in [*old[1:], live]]
    finally:
        reader.cancel()
        await asyncio.wait({reader})
        await store.close()
