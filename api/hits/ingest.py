"""From records on the hits topic to stored hits, fanned out to open streams.

`decode_hit` is pure: the kernel's hits codec checks the record, and the API keeps it in the
shape its responses show (`HitBody`). `HitIngest.handle_batch` does one step: decode, store
idempotently on hit_id, place the hits in alerts (`api.alerts.placer`), then `publish_new`:
hand the hub every hit the store holds after the last one this replica published, in `seq`
order, with what each did to its alert (never a hit stored before the replica started).
Records that are not hits are returned as poison for the loop to set aside.

Offsets: the hits are consumed with the consumer group of the store: `<prefix>api.<store_id>`,
committed after each batch is stored.
- SQLite (embedded, one replica per file): the group is private to the replica's store. A
  replica restarted on the same store resumes where it stopped; a new or wiped store gets a new
  store_id, hence a new group, and replays the whole topic (hit retention) into it.
- PostgreSQL (replicas share the database, hence the store_id and the group): the topic's
  partitions are split between the replicas, each hit is stored once by one of them, and every
  replica streams every hit because streams are fed from the store, not from the consumer:
  `publish_new` runs after each stored batch and every `ANPR_STREAM_POLL_MS`, and the store
  makes `seq` visible in increasing order, so the tail never skips a hit. A restarted replica
  loses nothing: the group's other members took its partitions meanwhile, and its clients resume
  with `Last-Event-ID` from the shared store.
Replays are harmless: inserts are idempotent and only hits stored after start reach the streams.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from pydantic import ValidationError

from anpr.bus.base import Record
from anpr.codecs import HITS
from anpr.deadletter import Poison
from anpr.errors import InvalidRecord
from api.alerts.placer import AlertPlacer
from api.hits.hub import StreamHub
from api.hits.schemas import HitBody
from api.metrics import ApiMetrics
from api.store.base import NewHit, Store

log = logging.getLogger(__name__)


def decode_hit(record: Record) -> NewHit:
    """The hit to store; `InvalidRecord` when the record is not one."""
    hit = HITS.decode(record.value)
    try:
        body = HitBody.model_validate(hit)
    except ValidationError as exc:
        raise InvalidRecord(
            f"hit: {exc.error_count()} errors, first: {exc.errors()[0]['msg']}"
        ) from None
    data = body.model_dump(mode="json", exclude_none=False)
    return NewHit(
        hit_id=body.hit_id,
        matched_at=body.matched_at,
        camera_id=body.read.camera_id,
        list_id=body.list_id,
        plate_norm=body.read.plate_norm,
        covert=body.covert,
        topic_ts=record.timestamp_ms,
        body=data,
    )


def hits_group_id(topic_prefix: str, store_id: str) -> str:
    return f"{topic_prefix}api.{store_id}"


class HitIngest:
    def __init__(
        self,
        store: Store,
        hub: StreamHub,
        metrics: ApiMetrics,
        alerts: AlertPlacer,
        *,
        page: int = 500,
    ) -> None:
        self._store = store
        self._hub = hub
        self._metrics = metrics
        self._alerts = alerts
        self._page = page
        self._published: int | None = None
        self._tail_lock = asyncio.Lock()

    async def start(self) -> None:
        """Streams show hits stored from now on (older ones are for `Last-Event-ID` replays)."""
        self._published = await self._store.max_seq()

    async def publish_new(self) -> int:
        """Hand the hub every hit stored after the last one published, by any replica; how many."""
        count = 0
        async with self._tail_lock:
            if self._published is None:
                self._published = await self._store.max_seq()
                return 0
            while True:
                hits = await self._store.hits_after_seq(
                    self._published, include_covert=True, limit=self._page
                )
                if not hits:
                    break
                notes = await self._store.alert_notes([h.hit_id for h in hits])
                self._hub.publish(hits, notes)
                self._published = hits[-1].seq
                count += len(hits)
                if len(hits) < self._page:
                    break
        return count

    async def handle_batch(self, records: Sequence[Record]) -> list[Poison]:
        hits: list[NewHit] = []
        poison: list[Poison] = []
        for record in records:
            try:
                hits.append(decode_hit(record))
            except InvalidRecord as exc:
                poison.append(Poison(record, str(exc)))
        self._metrics.records_consumed.labels("hits").inc(len(records))
        if not hits:
            return poison
        stored = await self._store.add_hits(hits)
        self._metrics.hits_stored.inc(len(stored))
        self._metrics.hits_duplicate.inc(len(hits) - len(stored))
        await self._alerts.place(hits)
        await self.publish_new()
        return poison
