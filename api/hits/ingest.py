"""From records on the hits topic to stored hits, fanned out to open streams.

`decode_hit` is pure; `HitIngest.handle_batch` does one step: decode, store idempotently on
hit_id, place them in alerts (`api.alerts.placer`), then hand the newly stored hits (never a
replayed one), with what each did to its alert, to the stream hub.

Offsets: every API replica needs every hit (its own store and its own streams), so the hits are
consumed with a consumer group private to the replica's store: `<prefix>api.<store_id>`. The
offset is committed after each batch is stored. A replica restarted on the same store resumes
where it stopped; a replica with a new or wiped store gets a new store_id, hence a new group,
and replays the whole topic (hit retention) into it. Replays are harmless: inserts are
idempotent and only new hits reach the streams.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pydantic import ValidationError

from anpr.bus.base import Record
from api.alerts.placer import AlertPlacer
from api.hits.hub import StreamHub
from api.metrics import ApiMetrics
from api.schemas.hits import HitBody
from api.store.base import NewHit, Store

log = logging.getLogger(__name__)


class BadHit(ValueError):
    """A record on the hits topic that is not a hit."""


def decode_hit(record: Record) -> NewHit:
    if record.value is None:
        raise BadHit("tombstone on the hits topic")
    try:
        body = HitBody.model_validate_json(record.value)
    except ValidationError as exc:
        first = exc.errors()[0]["msg"]
        raise BadHit(f"not a hit: {exc.error_count()} errors, first: {first}") from exc
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
        self, store: Store, hub: StreamHub, metrics: ApiMetrics, alerts: AlertPlacer
    ) -> None:
        self._store = store
        self._hub = hub
        self._metrics = metrics
        self._alerts = alerts

    async def handle_batch(self, records: Sequence[Record]) -> None:
        hits: list[NewHit] = []
        for record in records:
            try:
                hits.append(decode_hit(record))
            except BadHit as exc:
                log.error("hits: skipping record at offset %d: %s", record.offset, exc)
                self._metrics.invalid_records.labels("hits").inc()
        self._metrics.records_consumed.labels("hits").inc(len(records))
        if not hits:
            return
        stored = await self._store.add_hits(hits)
        self._metrics.hits_stored.inc(len(stored))
        self._metrics.hits_duplicate.inc(len(hits) - len(stored))
        notes = await self._alerts.place(hits)
        self._hub.publish(stored, notes)
