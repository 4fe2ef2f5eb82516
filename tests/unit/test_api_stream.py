"""`GET /v1/hits/stream`: server-sent events, live fan-out, Last-Event-ID resumption without gaps
or repeats, keep-alive comments, covert filtering and slow clients."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

import api.hits.stream as stream_module
from tests.support.factories import unique
from tests.unit.api_fixtures import ApiHarness, SseClient, make_hit, running_api


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api(stream_queue_size=5) as harness:
        yield harness


def stream(api: ApiHarness, role: str = "operator", last_event_id: str | None = None) -> SseClient:
    headers = api.auth(role)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    return SseClient(api.app, "/v1/hits/stream", headers)


async def test_a_new_hit_reaches_an_open_stream_fast(api: ApiHarness) -> None:
    async with stream(api) as client:
        assert client.status == 200
        assert client.headers["content-type"].startswith("text/event-stream")
        await client.next_event()  # retry: advice
        hit = make_hit(camera_id=unique("cam"))
        gc.collect()  # a full collection of the test process's garbage is not what we measure
        started = time.perf_counter()
        await api.publish_hits(hit)
        event = await client.next_hit()
        elapsed = time.perf_counter() - started
        assert event.event == "hit"
        assert event.id == hit["hit_id"]
        assert event.json()["hit_id"] == hit["hit_id"]
        assert event.json()["status"] == "new"
        assert elapsed < 0.1


async def test_keep_alive_comment_arrives(api: ApiHarness) -> None:
    async with stream(api) as client:
        event = await client.next_event()
        while "keep-alive" not in event.comments:
            event = await client.next_event(timeout_s=1.0)
        assert event.event is None


async def test_resume_with_last_event_id_gives_exactly_the_missed_hits(api: ApiHarness) -> None:
    camera = unique("cam")
    first = [make_hit(camera_id=camera) for _ in range(3)]
    async with stream(api) as client:
        await api.publish_hits(*first)
        got = await client.hits(3)
    assert [e.id for e in got] == [h["hit_id"] for h in first]
    missed = [make_hit(camera_id=camera) for _ in range(4)]
    await api.publish_hits(*missed)
    async with stream(api, last_event_id=got[-1].id) as client:
        replayed = await client.hits(4)
        assert [e.id for e in replayed] == [h["hit_id"] for h in missed]
        live = make_hit(camera_id=camera)
        await api.publish_hits(live)
        await api.publish_hits(missed[0])  # a replay on the topic is not shown again
        marker = make_hit(camera_id=camera)
        await api.publish_hits(marker)
        assert [e.id for e in await client.hits(2)] == [live["hit_id"], marker["hit_id"]]


async def test_resume_from_the_middle_of_a_large_backlog(api: ApiHarness) -> None:
    api.service.settings.stream_backlog_page = 4
    try:
        camera = unique("cam")
        hits = [make_hit(camera_id=camera) for _ in range(11)]
        await api.publish_hits(*hits)
        async with stream(api, last_event_id=hits[1]["hit_id"]) as client:
            events = await client.hits(9)
        assert [e.id for e in events] == [h["hit_id"] for h in hits[2:]]
    finally:
        api.service.settings.stream_backlog_page = 500


async def test_unknown_last_event_id_follows_live(api: ApiHarness) -> None:
    async with stream(api, last_event_id="h-never-heard-of") as client:
        event = await client.next_event()
        while not event.comments:
            event = await client.next_event()
        assert "unknown Last-Event-ID" in event.comments[0]
        hit = make_hit(camera_id=unique("cam"))
        await api.publish_hits(hit)
        assert (await client.next_hit()).id == hit["hit_id"]


async def test_covert_hits_never_reach_an_operator_stream(api: ApiHarness) -> None:
    camera = unique("cam")
    covert = make_hit(camera_id=camera, covert=True)
    overt = make_hit(camera_id=camera)
    async with stream(api, "operator") as operator, stream(api, "supervisor") as supervisor:
        await api.publish_hits(covert, overt)
        assert [e.id for e in await supervisor.hits(2)] == [covert["hit_id"], overt["hit_id"]]
        assert (await operator.next_hit()).id == overt["hit_id"]
    # nor a resumed one
    before = make_hit(camera_id=camera)
    await api.publish_hits(before)
    await api.publish_hits(make_hit(camera_id=camera, covert=True))
    after = make_hit(camera_id=camera)
    await api.publish_hits(after)
    async with stream(api, "operator", last_event_id=before["hit_id"]) as operator:
        assert (await operator.next_hit()).id == after["hit_id"]


async def test_a_slow_client_is_dropped_without_holding_up_others(api: ApiHarness) -> None:
    camera = unique("cam")
    hits = [make_hit(camera_id=camera) for _ in range(12)]
    async with stream(api) as slow, stream(api) as fast:
        await slow.next_event()
        slow.reading.clear()
        for hit in hits:
            await api.publish_hits(hit)
            await asyncio.sleep(0)
        assert [e.id for e in await fast.hits(12)] == [h["hit_id"] for h in hits]
        slow.reading.set()
        await asyncio.wait_for(slow.finished.wait(), 2.0)
    metrics = (await api.client.get("/metrics")).text
    assert "anpr_api_stream_clients_dropped_total 1.0" in metrics


async def test_a_burst_larger_than_a_streams_queue_drops_no_stream(api: ApiHarness) -> None:
    """Hits that arrive at once (a catch-up, a burst of past-read matches) are consumed in
    batches of half a queue (5 here), so a client that keeps reading is never dropped."""
    camera = unique("cam")
    burst = [make_hit(camera_id=camera) for _ in range(23)]
    dropped = api.service.metrics.stream_clients_dropped._value.get()
    async with stream(api) as client:
        await client.next_event()  # retry: advice
        await api.publish_hits(*burst)
        assert [e.id for e in await client.hits(23)] == [h["hit_id"] for h in burst]
    assert api.service.metrics.stream_clients_dropped._value.get() == dropped


async def test_hits_queued_meanwhile_go_out_in_one_write(api: ApiHarness) -> None:
    camera = unique("cam")
    first, *queued = [make_hit(camera_id=camera) for _ in range(4)]
    async with stream(api) as client:
        await client.next_event()  # retry: advice
        (sub,) = api.service.hub._subs.values()
        client.reading.clear()
        await api.publish_hits(first)
        await asyncio.wait_for(client.held.wait(), 2.0)  # the stream's write of it waits
        for hit in queued:  # three batches, queued while the stream waits
            await api.publish_hits(hit)
        assert sub.queue.qsize() == 3
        writes = client.writes
        client.reading.set()
        assert [e.id for e in await client.hits(4)] == [h["hit_id"] for h in [first, *queued]]
        assert client.writes == writes + 2  # the first hit, then the three together


@pytest.mark.parametrize(("role", "status"), [("auditor", 403), ("integrator", 403)])
async def test_stream_roles(api: ApiHarness, role: str, status: int) -> None:
    response = await api.client.get("/v1/hits/stream", headers=api.auth(role))
    assert response.status_code == status
    assert (await api.client.get("/v1/hits/stream")).status_code == 401


async def test_a_keep_alive_is_due_a_little_before_the_interval(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contract's "a comment line at least every 15 s", not 15.001 s after the last write."""
    waits: list[float] = []
    real = stream_module._next

    async def recorded(sub: Any, timeout_s: float) -> Any:
        waits.append(timeout_s)
        return await real(sub, timeout_s)

    monkeypatch.setattr(stream_module, "_next", recorded)
    async with stream(api) as client:
        event = await client.next_event()
        while "keep-alive" not in event.comments:
            event = await client.next_event(timeout_s=1.0)
    keepalive_s = api.service.settings.stream_keepalive_s
    assert waits and all(0 < w < keepalive_s for w in waits)


async def test_a_slow_resume_still_sends_a_keep_alive_within_the_interval(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resume whose store queries are slow (a pool of connections shared by every console
    reconnecting after a restart) keeps the stream alive meanwhile: "a comment line at least
    every 15 s" holds before the first hit too, or a proxy closes the stream mid-replay."""
    camera = unique("cam")
    last, missed = make_hit(camera_id=camera), make_hit(camera_id=camera)
    await api.publish_hits(last, missed)
    keepalive_s = api.service.settings.stream_keepalive_s
    store = api.service.store
    real = store.hits_after_seq

    async def slow(seq: int, *, include_covert: bool, limit: int) -> Any:
        await asyncio.sleep(keepalive_s * 3)
        return await real(seq, include_covert=include_covert, limit=limit)

    monkeypatch.setattr(store, "hits_after_seq", slow)
    async with stream(api, last_event_id=last["hit_id"]) as client:
        await client.next_event()  # retry: advice
        keepalives = 0
        while True:
            event = await client.next_event(timeout_s=keepalive_s)  # never silent for longer
            if event.event == "hit":
                break
            keepalives += "keep-alive" in event.comments
        assert event.id == missed["hit_id"]
        assert keepalives >= 2
