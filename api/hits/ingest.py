"""From records on the hits topic to stored hits, fanned out to open streams.

`decode_hit` is pure: the kernel's hits codec checks the record, and the API keeps it in the
shape its responses show (`HitBody`). `HitIngest.handle_batch` does one step: decode, store
idempotently on hit_id, place them in alerts (`api.alerts.placer`), then hand the newly stored
hits (never a replayed one), with what each did to its alert, to the stream hub; records that
are not hits are returned as poison for the loop to set aside.

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
from anpr.codecs import HITS
from anpr.deadletter import Poison
from anpr.errors import InvalidRecord
from api.alerts.placer import AlertPlacer
from api.hits.hub import StreamHub
from api.metrics import ApiMetrics
from api.schemas.hits import HitBody
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
        self, store: Store, hub: StreamHub, metrics: ApiMetrics, alerts: AlertPlacer
    ) -> None:
        self._store = store
        self._hub = hub
        self._metrics = metrics
        self._alerts = alerts

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
        notes = await self._alerts.place(hits)
        self._hub.publish(stored, notes)
        return poison
