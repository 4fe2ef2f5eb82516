"""Fan-out of newly stored hits to open streams, one bounded queue per connection.

`publish` never waits: a stream whose queue is full is dropped (logged, counted) so a slow client
cannot hold up the consumer loop or the other clients. A dropped client loses nothing: it
reconnects with `Last-Event-ID` and the stream replays the gap from the store.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from api.metrics import ApiMetrics
from api.store.alerts import AlertNote
from api.store.base import StoredHit

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamItem:
    """A new hit and what it did to its alert (None: not placed, e.g. grouping failed);
    `history`: stored by an empty store's replay of the topic (see `api.hits.ingest`)."""

    hit: StoredHit
    note: AlertNote | None = None
    history: bool = False


class Subscription:
    """One open stream: its queue, whether it may see covert hits, whether it takes history
    (a stream resumed with `Last-Event-ID`: history stored after its last hit is what it
    missed), and whether it was dropped."""

    def __init__(
        self, sub_id: int, *, who: str, include_covert: bool, history: bool, maxsize: int
    ) -> None:
        self.sub_id = sub_id
        self.who = who
        self.include_covert = include_covert
        self.history = history
        self.queue: asyncio.Queue[StreamItem] = asyncio.Queue(maxsize=maxsize)
        self.dropped = False
        self.wake = asyncio.Event()


class StreamHub:
    def __init__(self, metrics: ApiMetrics, *, queue_size: int) -> None:
        self._metrics = metrics
        self._queue_size = queue_size
        self._subs: dict[int, Subscription] = {}
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._subs)

    def subscribe(self, *, who: str, include_covert: bool, history: bool = False) -> Subscription:
        sub = Subscription(
            next(self._ids),
            who=who,
            include_covert=include_covert,
            history=history,
            maxsize=self._queue_size,
        )
        self._subs[sub.sub_id] = sub
        self._metrics.stream_clients.set(len(self._subs))
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if self._subs.pop(sub.sub_id, None) is not None:
            self._metrics.stream_clients.set(len(self._subs))

    def publish(
        self,
        hits: Sequence[StoredHit],
        notes: Mapping[str, AlertNote] | None = None,
        history: Collection[str] = (),
    ) -> None:
        """`history`: the ids of hits only the streams that take history get."""
        if not hits or not self._subs:
            return
        items = [
            StreamItem(hit, (notes or {}).get(hit.hit_id), hit.hit_id in history) for hit in hits
        ]
        for sub in list(self._subs.values()):
            for item in items:
                if item.hit.covert and not sub.include_covert:
                    continue
                if item.history and not sub.history:
                    continue
                try:
                    sub.queue.put_nowait(item)
                except asyncio.QueueFull:
                    self._drop(sub)
                    break

    def _drop(self, sub: Subscription) -> None:
        log.warning(
            "hit stream %d of %s dropped: the client is %d hits behind; it can resume with "
            "Last-Event-ID",
            sub.sub_id,
            sub.who,
            sub.queue.qsize(),
        )
        sub.dropped = True
        sub.wake.set()
        self.unsubscribe(sub)
        self._metrics.stream_clients_dropped.inc()

    def close_all(self) -> None:
        """At shutdown: end every stream."""
        for sub in list(self._subs.values()):
            sub.dropped = True
            sub.wake.set()
        self._subs.clear()
        self._metrics.stream_clients.set(0)
