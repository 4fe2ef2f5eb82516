"""The server-sent events of `GET /v1/hits/stream`.

Order of work for a stream resumed with `Last-Event-ID` (no gap, no repeat):
1. replay from the store every hit stored after that hit, page by page, up to the last one
   this replica's hub was handed (a hit stored but not yet handed over may not be placed in
   its alert yet: it comes through the subscription, with its alert event);
2. subscribe to the hub, then replay once more from the store what was stored meanwhile;
3. follow the subscription, skipping anything at or below the last `seq` sent.
Hits are stored and fanned out in `seq` order, so steps 2 and 3 together see every hit exactly
once. A fresh stream (no `Last-Event-ID`) subscribes first and sends only what arrives after.
Steps 1 and 2 send the keep-alive comment too when a store query outlasts its interval.
Events go out a page (replay) or a queue's worth (live) per write: with a batch of hits
published at once, one write for all of them instead of one each through the ASGI stack.
An unknown `Last-Event-ID` (expired by retention, from a replica that has not stored that hit
yet, or a covert hit the caller may not see) resumes live and says so in a comment.
A stream ends when its token is revoked (before its next write) or its console session is
signed out or expires (within a keep-alive interval): `allowed`, asked at every wake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

import orjson

from anpr.auth import Principal
from anpr.clock import now_ms
from anpr.ids import is_valid_id
from anpr.registry import RegistryView
from api.alerts.grouping import Decision
from api.alerts.views import alert_json, sighting_json
from api.hits.hub import StreamHub, StreamItem, Subscription
from api.hits.views import hit_json, sees_covert
from api.metrics import ApiMetrics
from api.store.alerts import AlertNote
from api.store.base import Store, StoredHit

log = logging.getLogger(__name__)

KEEPALIVE = b": keep-alive\n\n"
KEEPALIVE_EARLY = 0.9
RETRY_MS = 2000


def encode_event(hit: StoredHit) -> bytes:
    data = orjson.dumps(hit_json(hit)).decode()
    return f"event: hit\nid: {hit.hit_id}\ndata: {data}\n\n".encode()


def encode_note(note: AlertNote, registry: RegistryView | None = None) -> bytes:
    """`event: alert` (the hit opened an alert) or `event: sighting` (it joined one). Sent just
    before the hit's own event and without an `id:`, so a client that resumes from the last
    hit id gets it again rather than losing it."""
    if note.decision is Decision.OPENED:
        name, payload = "alert", alert_json(note.alert)
    else:
        name = "sighting"
        payload = {
            "alert": alert_json(note.alert),
            "sighting": sighting_json(note.sighting, registry),
        }
    return f"event: {name}\ndata: {orjson.dumps(payload).decode()}\n\n".encode()


def encode_item(item: StreamItem, registry: RegistryView | None = None) -> bytes:
    head = encode_note(item.note, registry) if item.note is not None else b""
    return head + encode_event(item.hit)


async def _next(sub: Subscription, timeout_s: float) -> StreamItem | None:
    """The next hit, or None after `timeout_s` or when the subscription is ended."""
    if not sub.queue.empty():
        return sub.queue.get_nowait()
    getter = asyncio.ensure_future(sub.queue.get())
    waker = asyncio.ensure_future(sub.wake.wait())
    try:
        done, _ = await asyncio.wait(
            {getter, waker}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for fut in (getter, waker):
            if not fut.done():
                fut.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await fut
    return getter.result() if getter in done else None


async def _kept_alive(
    events: AsyncGenerator[bytes, None], interval_s: float
) -> AsyncIterator[bytes]:
    """`events`, with a keep-alive comment whenever the next one takes longer than `interval_s`."""
    step: asyncio.Task[bytes] | None = None
    try:
        while True:
            step = asyncio.create_task(events.__anext__())
            while not (await asyncio.wait({step}, timeout=interval_s))[0]:
                yield KEEPALIVE
            try:
                event = step.result()
            except StopAsyncIteration:
                return
            yield event
    finally:
        if step is not None and not step.done():
            # The client left meanwhile: `events` ends with the cancelled step, at once. (Not
            # awaited: this stream's own task may be being cancelled.)
            step.cancel()
        else:
            await events.aclose()


class HitStream:
    """One client's stream; iterate `events()` for the bytes to send."""

    def __init__(
        self,
        *,
        store: Store,
        hub: StreamHub,
        metrics: ApiMetrics,
        principal: Principal,
        last_event_id: str | None,
        keepalive_s: float,
        page: int,
        registry: RegistryView | None = None,
        published: Callable[[], int | None] = lambda: None,
        allowed: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._store = store
        self._hub = hub
        self._metrics = metrics
        self._principal = principal
        self._last_event_id = last_event_id
        self._keepalive_s = keepalive_s
        self._registry = registry  # camera names and time zones of `sighting` events
        self._published = published  # the last seq the hub was handed (None: no bound)
        self._page = page
        # Asked before each live write: a revoked token or an ended session ends the stream.
        self._allowed = allowed
        self._covert = sees_covert(principal)
        self._last_seq = 0
        self._sub: Subscription | None = None

    async def _replay(self) -> AsyncIterator[bytes]:
        while True:
            # Only what the hub has published: a hit stored but not yet published may not be
            # placed yet (PostgreSQL places a batch in a second transaction), and replayed
            # bare it would lose its alert/sighting event for good (its hub copy, which has
            # it, is then skipped as sent). It comes through the subscription instead.
            published = self._published()
            fetched = await self._store.hits_after_seq(
                self._last_seq, include_covert=self._covert, limit=self._page
            )
            hits = [h for h in fetched if published is None or h.seq <= published]
            notes = await self._store.alert_notes([hit.hit_id for hit in hits])
            if hits:
                self._last_seq = hits[-1].seq
                overt = sum(not h.covert for h in hits)  # covert hits are not on /metrics
                self._metrics.hits_streamed.labels("replay").inc(overt)
                yield b"".join(
                    encode_item(StreamItem(h, notes.get(h.hit_id)), self._registry) for h in hits
                )
            if len(hits) < self._page:
                return

    async def _resume_seq(self, hit_id: str) -> int | None:
        """Where to resume after `hit_id`; None when unknown *to this caller*: a covert hit an
        operator may not see is answered exactly like one that does not exist, or its id
        (an unkeyed hash, guessable) would tell that it does (issue 11, item 8)."""
        hit = await self._store.get_hit(hit_id) if is_valid_id(hit_id) else None
        if hit is None or (hit.covert and not self._covert):
            return None
        return hit.seq

    async def events(self) -> AsyncIterator[bytes]:
        yield f"retry: {RETRY_MS}\n\n".encode()
        try:
            # The store's queries of a resume (its look-up, the replay's pages) can take longer
            # than the interval (a pool shared by every console that reconnects after a
            # restart): the keep-alive is due meanwhile too.
            async for event in _kept_alive(self._catch_up(), self._keepalive_s * KEEPALIVE_EARLY):
                yield event
            if self._sub is not None:
                async for event in self._live(self._sub):
                    yield event
        finally:
            if self._sub is not None:
                self._hub.unsubscribe(self._sub)

    async def _catch_up(self) -> AsyncGenerator[bytes, None]:
        """Steps 1 and 2 of the module's doc: the replay, the subscription, the replay again."""
        resume = None
        if self._last_event_id:
            resume = await self._resume_seq(self._last_event_id)
            if resume is None:
                yield b": unknown Last-Event-ID, following new hits only\n\n"
        if resume is not None:
            self._last_seq = resume
            async for event in self._replay():
                yield event
        self._sub = self._hub.subscribe(
            who=self._principal.name, include_covert=self._covert, history=resume is not None
        )
        if resume is not None:
            async for event in self._replay():
                yield event

    async def _live(self, sub: Subscription) -> AsyncIterator[bytes]:
        while not sub.dropped:
            # A little under the interval: "a comment at least every 15 s" held to the letter,
            # not 15.001 s after the last write.
            item = await _next(sub, self._keepalive_s * KEEPALIVE_EARLY)
            if self._allowed is not None and not await self._allowed():
                return
            if item is None:
                if not sub.dropped:
                    yield KEEPALIVE
                continue
            # Hits queued meanwhile (a batch is published at once) go out in the same write.
            items = [item]
            while not sub.queue.empty():
                items.append(sub.queue.get_nowait())
            chunk = self._new_events(items)
            if chunk:
                yield chunk

    def _new_events(self, items: list[StreamItem]) -> bytes:
        """The events of the items not sent yet, in one piece; counted as sent."""
        events: list[bytes] = []
        now = now_ms()
        overt = history = 0
        for item in items:
            hit = item.hit
            if hit.seq <= self._last_seq:
                continue
            self._last_seq = hit.seq
            if hit.covert:  # a covert hit is not on /metrics, not even as a count
                pass
            elif item.history:  # caught up with, as a replay is: no delivery time
                history += 1
            else:
                overt += 1
                self._metrics.hit_delivery_seconds.observe(max(0, now - hit.topic_ts) / 1000)
            events.append(encode_item(item, self._registry))
        if overt:
            self._metrics.hits_streamed.labels("live").inc(overt)
        if history:
            self._metrics.hits_streamed.labels("replay").inc(history)
        return b"".join(events)
