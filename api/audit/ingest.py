"""The audit records of CLI writes (`anpr/audit_wire.py`) into this replica's audit log.

Consumed like the hits: with a consumer group private to the replica's store, so every replica
gets every record once per store; the offset is committed after each batch is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from anpr.audit_wire import AuditRecord
from anpr.bus.base import Record
from anpr.deadletter import Poison
from anpr.errors import InvalidRecord
from api.metrics import ApiMetrics
from api.store.base import AuditEntry, Store

log = logging.getLogger(__name__)


def audit_group_id(topic_prefix: str, store_id: str) -> str:
    return f"{topic_prefix}api-audit.{store_id}"


class AuditIngest:
    def __init__(self, store: Store, metrics: ApiMetrics) -> None:
        self._store = store
        self._metrics = metrics

    async def handle_batch(self, records: Sequence[Record]) -> list[Poison]:
        poison: list[Poison] = []
        covert = 0
        for record in records:
            try:
                entry = AuditRecord.decode(record.value)
            except InvalidRecord as exc:
                poison.append(Poison(record, str(exc)))
                continue
            await self._store.append_audit(
                AuditEntry(
                    at=entry.at,
                    actor=entry.actor,
                    role=entry.role,
                    action=entry.action,
                    target=entry.target,
                    reason=entry.reason,
                    detail={**entry.detail, "record_id": entry.record_id, "via": "cli"},
                )
            )
            if entry.detail.get("covert") is True:  # covert: in no count on /metrics
                covert += 1
            else:
                self._metrics.audit_entries.labels(entry.action).inc()
        self._metrics.records_consumed.labels("audit").inc(len(records) - covert)
        return poison
