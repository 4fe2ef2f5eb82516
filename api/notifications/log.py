"""The delivery log: outcomes published by `anpr notify`, consumed into this replica's store.

The delivery worker runs in its own process (or inside `anpr run`) and has no store; it publishes
each delivery's outcome on `anpr.notify-deliveries.v1`. Every API replica consumes that topic,
like the hits, with a group private to its store (`<prefix>api-deliveries.<store_id>`), from the
beginning, committing after each batch is stored; rows are keyed by delivery id, so replays are
harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from anpr.bus.base import Record
from anpr.deadletter import Poison
from anpr.deliveries import DeliveryResult, decode_result
from anpr.errors import InvalidRecord
from api.metrics import ApiMetrics
from api.store.base import Store

log = logging.getLogger(__name__)


def deliveries_group_id(topic_prefix: str, store_id: str) -> str:
    return f"{topic_prefix}api-deliveries.{store_id}"


class DeliveryLog:
    def __init__(self, store: Store, metrics: ApiMetrics) -> None:
        self._store = store
        self._metrics = metrics

    async def handle_batch(self, records: Sequence[Record]) -> list[Poison]:
        results: list[DeliveryResult] = []
        poison: list[Poison] = []
        for record in records:
            try:
                results.append(decode_result(record.value))
            except InvalidRecord as exc:
                poison.append(Poison(record, str(exc)))
        # A covert hit's delivery is in no count on /metrics (no token): it would move when a
        # camera's read hits a covert list with a webhook target.
        covert = sum(r.covert for r in results)
        self._metrics.records_consumed.labels("deliveries").inc(len(records) - covert)
        await self._store.add_deliveries(results)
        return poison
