"""The store interface: what the API needs from a database, nothing more.

`SqliteStore` implements it on a local file (the default, one API replica); `PostgresStore` on a
database that any number of replicas share (tests/integration/test_store_contract.py runs one
suite against both). Hits are inserted idempotently on `hit_id`; every newly inserted hit gets a
`seq`, increasing in insertion order and visible in that order, which resumable streams and the
per-replica stream tail use. The audit log is append-only: the
interface has no method that updates or deletes an audit entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from anpr.errors import AnprError


class HitStatus(StrEnum):
    """`new`: nobody has acknowledged the hit yet; `acknowledged`: an operator has."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"


class Outcome(StrEnum):
    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false_positive"
    DISPATCHED = "dispatched"
    NO_ACTION = "no_action"


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    outcome: Outcome
    note: str | None
    by: str
    role: str
    at: int


@dataclass(frozen=True, slots=True)
class NewHit:
    """A validated hit from the topic, with the columns the store indexes."""

    hit_id: str
    matched_at: int
    camera_id: str
    list_id: str
    plate_norm: str
    covert: bool
    topic_ts: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredHit:
    seq: int
    hit_id: str
    matched_at: int
    covert: bool
    topic_ts: int
    body: dict[str, Any]
    ack: Acknowledgement | None = None

    @property
    def status(self) -> HitStatus:
        return HitStatus.NEW if self.ack is None else HitStatus.ACKNOWLEDGED


@dataclass(frozen=True, slots=True)
class PageKey:
    """Keyset position: hits are listed by (matched_at, hit_id), newest first."""

    matched_at: int
    hit_id: str


@dataclass(frozen=True, slots=True)
class HitFilter:
    since: int | None = None
    until: int | None = None
    camera_id: str | None = None
    list_id: str | None = None
    plate_norm: str | None = None
    status: HitStatus | None = None
    include_covert: bool = False
    # True: only test hits (commissioning cameras); False: only live ones; None: both.
    test: bool | None = None


@dataclass(frozen=True, slots=True)
class HitCounts:
    total: int
    new: int
    acknowledged: int


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: int
    actor: str
    role: str
    action: str
    target: str
    reason: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredAudit:
    seq: int
    entry: AuditEntry


@dataclass(frozen=True, slots=True)
class CameraActivity:
    """What a replica remembers of a camera across restarts (read-derived, retained)."""

    camera_id: str
    first_seen: int
    last_read_at: int | None
    last_heartbeat_at: int | None


class StoreUnavailable(AnprError):
    """The database cannot be reached or did not answer in time; retrying may succeed.

    Consumer loops retry the batch (it was not committed); HTTP requests get `503`."""

    retriable = True


class AckConflict(Exception):
    """The hit was already acknowledged; carries the existing acknowledgement."""

    def __init__(self, existing: Acknowledgement) -> None:
        super().__init__("already acknowledged")
        self.existing = existing


class Store(Protocol):
    @property
    def store_id(self) -> str:
        """A random id made when the store was created; a wiped store gets a new one."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def add_hits(self, hits: Sequence[NewHit]) -> list[StoredHit]:
        """Insert the hits not stored yet; return those newly stored, in `seq` order."""
        ...

    async def get_hit(self, hit_id: str) -> StoredHit | None: ...

    async def query_hits(
        self, flt: HitFilter, *, after: PageKey | None, limit: int
    ) -> list[StoredHit]:
        """Newest first by (matched_at, hit_id), strictly after `after` when given."""
        ...

    async def count_hits(self, flt: HitFilter) -> HitCounts: ...

    async def seq_of(self, hit_id: str) -> int | None: ...

    async def hits_after_seq(
        self, seq: int, *, include_covert: bool, limit: int
    ) -> list[StoredHit]:
        """Hits stored after `seq`, oldest first (to resume a stream)."""
        ...

    async def max_seq(self) -> int: ...

    async def acknowledge(self, hit_id: str, ack: Acknowledgement) -> StoredHit | None:
        """The acknowledged hit; None when unknown; `AckConflict` when acknowledged before."""
        ...

    async def append_audit(self, entry: AuditEntry) -> int: ...

    async def query_audit(
        self,
        *,
        since: int | None,
        until: int | None,
        actor: str | None,
        before_seq: int | None,
        limit: int,
    ) -> list[StoredAudit]:
        """Newest first, strictly before `before_seq` when given."""
        ...

    async def save_activity(self, rows: Sequence[CameraActivity]) -> None: ...

    async def load_activity(self) -> list[CameraActivity]: ...

    async def forget_activity(self, camera_ids: Sequence[str]) -> None: ...

    async def purge(self, *, hits_before: int, activity_before: int) -> dict[str, int]:
        """Apply retention; return the number of rows removed per table."""
        ...
