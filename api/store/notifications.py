"""The store methods of outbound notifications (delivery log) and of the hit outcome report.

Kept apart from `api.store.base.Store`'s core methods so a second store implementation (the
PostgreSQL store) can port them as one group: `NotificationStore` is the protocol,
`api.store.sqlite_notifications.SqliteNotifications` the SQLite implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from anpr.deliveries import DeliveryResult

if TYPE_CHECKING:
    from api.store.base import HitFilter


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    seq: int
    result: DeliveryResult


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    since: int | None = None  # finished_at, inclusive
    until: int | None = None  # finished_at, exclusive
    target_id: str | None = None
    hit_id: str | None = None
    outcome: str | None = None


class ReportDimension(StrEnum):
    """What the store groups hit counts by; `bucket` is matched_at floored to `bucket_ms`."""

    LIST = "list"
    CAMERA = "camera"
    NONE = "none"
    BUCKET = "bucket"


@dataclass(frozen=True, slots=True)
class OutcomeCount:
    """Hits of one group key with one outcome (None: not acknowledged yet)."""

    key: str
    outcome: str | None
    count: int


class NotificationStore(Protocol):
    async def add_deliveries(self, results: Sequence[DeliveryResult]) -> int:
        """Store delivery outcomes, one row per delivery id (a later outcome replaces an
        earlier one); the number of rows written."""
        ...

    async def query_deliveries(
        self, flt: DeliveryFilter, *, before_seq: int | None, limit: int
    ) -> list[StoredDelivery]:
        """Newest first (by seq), strictly before `before_seq` when given."""
        ...

    async def purge_deliveries(self, *, before: int) -> int:
        """Remove outcomes finished before `before`; the number removed."""
        ...

    async def hit_outcome_counts(
        self, flt: HitFilter, *, dimension: ReportDimension, bucket_ms: int = 0
    ) -> list[OutcomeCount]:
        """Hits matching `flt` counted by (dimension key, acknowledgement outcome)."""
        ...
