"""The store interface: what the API needs from a database, nothing more.

`SqliteStore` implements it on a local file (the default, one API replica); `PostgresStore` on a
database that any number of replicas share (tests/integration/test_store_contract.py runs one
suite against both). Hits are inserted idempotently on `hit_id`; every newly inserted hit gets a
`seq`, increasing in insertion order and visible in that order, which resumable streams and the
per-replica stream tail use. The audit log is append-only: the
interface has no method that updates or deletes an audit entry.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from api.store.alerts import (
        AlertAcknowledged,
        AlertFilter,
        AlertNote,
        AlertPageKey,
        ConsoleSession,
        NewSighting,
        Sighting,
        StoredAlert,
    )

from anpr.errors import AnprError
from api.store.notifications import NotificationStore


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


# -- camera connection lifecycle (the rollout report) ------------------------------------------


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """One step of a camera's connection (`api.rollout.lifecycle.Kind`), at epoch ms `at`.

    Kinds in `ONCE_KINDS` are stored once per camera (the earliest one wins, whatever the order
    they were observed in); the others are appended each time they happen.
    """

    camera_id: str
    kind: str
    at: int
    detail: dict[str, Any]


# Cameras per statement when retention trims the lifecycle (`Store.trim_lifecycle`), so the
# store answers other statements between two.
TRIM_CAMERAS = 200

ONCE_KINDS = ("registered", "first_contact", "first_valid_read", "first_heartbeat")


class StoreUnavailable(AnprError):
    """The database cannot be reached or did not answer in time; retrying may succeed.

    Consumer loops retry the batch (it was not committed); HTTP requests get `503`."""

    retriable = True


class AckConflict(AnprError):
    """The hit was already acknowledged; carries the existing acknowledgement."""

    def __init__(self, existing: Acknowledgement) -> None:
        super().__init__("already acknowledged")
        self.existing = existing


@dataclass(frozen=True, slots=True)
class HitAcknowledged:
    """A hit just acknowledged, and the alert its acknowledgement closed (None when the alert
    still has hits nobody acknowledged, or the hit is in no alert yet)."""

    hit: StoredHit
    closed_alert_id: str | None = None


class Store(NotificationStore, Protocol):
    @property
    def store_id(self) -> str:
        """A random id made when the store was created; a wiped store gets a new one."""
        ...

    @property
    def shared(self) -> bool:
        """Whether other replicas store hits in it too (PostgreSQL), not one replica (SQLite)."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def hotlist_writer(self, list_id: str) -> AbstractAsyncContextManager[None]:
        """Held around each write to the list `list_id`: the writes of one list by every
        replica that shares this store take turns (PostgreSQL: an advisory lock; `StoreUnavailable`
        when another replica's write holds it too long). SQLite serves one replica, whose own
        lock already orders its writes: nothing to take."""
        ...

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

    async def max_seq(self) -> int:
        """At least the `seq` of every hit stored (a store of its own keeps the last one given
        through retention: 0 only when it never held a hit)."""
        ...

    async def acknowledge(
        self,
        hit_id: str,
        ack: Acknowledgement,
        *,
        audit: Callable[[HitAcknowledged], AuditEntry] | None = None,
    ) -> HitAcknowledged | None:
        """The acknowledged hit; None when unknown; `AckConflict` when acknowledged before.

        When it was the last hit of its alert that nobody had acknowledged, the alert is
        acknowledged with it (closed: the vehicle's next sighting opens a new alert), as if
        its whole alert had been acknowledged with this acknowledgement. `audit` gives the
        audit entry of the acknowledgement, appended in the same transaction: both or neither."""
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

    async def purge(
        self, *, hits_before: int, activity_before: int, audit_before: int | None = None
    ) -> dict[str, int]:
        """Apply retention; return the number of rows removed per table. Rows of covert hits
        are removed but not counted: the counts go to /metrics, which needs no token (here,
        in `purge_alerts` and in `purge_deliveries`)."""
        ...

    # -- alerts and console sessions (records in `api.store.alerts`) ----------------------------

    async def add_sightings(
        self, sightings: Sequence[NewSighting], window_ms_of: Callable[[str], int]
    ) -> list[AlertNote]:
        """Place newly stored hits in alerts (`api.alerts.grouping`), atomically per key; hits
        already placed are skipped. A hit acknowledged before it was placed closes the alert it
        is placed in when no hit of it is left unacknowledged, as `acknowledge` would have.
        The notes of the hits placed now, in order."""
        ...

    async def add_hits_placed(
        self,
        hits: Sequence[NewHit],
        sightings: Sequence[NewSighting],
        window_ms_of: Callable[[str], int],
    ) -> tuple[list[StoredHit], list[AlertNote]]:
        """`add_hits(hits)`, then `add_sightings(sightings, window_ms_of)`: in one transaction
        where the store can (SQLite), else one after the other."""
        ...

    async def get_alert(self, alert_id: str) -> StoredAlert | None: ...

    async def query_alerts(
        self, flt: AlertFilter, *, after: AlertPageKey | None, limit: int
    ) -> list[StoredAlert]:
        """Newest activity first by (last_seen, alert_id), strictly after `after` when given."""
        ...

    async def alert_sightings(self, alert_id: str) -> list[Sighting]:
        """The alert's trail, oldest first."""
        ...

    async def alert_notes(self, hit_ids: Sequence[str]) -> Mapping[str, AlertNote]:
        """For replaying streams: what each of these hits did to its alert (current state)."""
        ...

    async def acknowledge_alert(
        self,
        alert_id: str,
        ack: Acknowledgement,
        *,
        audit: Callable[[AlertAcknowledged], AuditEntry] | None = None,
    ) -> AlertAcknowledged | None:
        """Acknowledge the alert and its unacknowledged hits (their ids come back); None when
        unknown; `AckConflict` when acknowledged before. `audit` as for `acknowledge`."""
        ...

    async def purge_alerts(self, *, before: int) -> int: ...

    async def create_session(self, session: ConsoleSession) -> None: ...

    async def get_session(self, session_hash: str, *, now: int) -> ConsoleSession | None: ...

    async def delete_session(self, session_hash: str) -> None: ...

    async def purge_sessions(self, *, now: int) -> int: ...

    # -- camera connection lifecycle (kept together: the PostgreSQL store ports these three) --

    async def add_lifecycle(self, events: Sequence[LifecycleEvent]) -> int:
        """Store the events; a `ONCE_KINDS` event replaces the camera's stored one only when it
        is earlier. How many rows were inserted or changed."""
        ...

    async def load_lifecycle(self) -> list[LifecycleEvent]:
        """Every stored event, oldest first (by time, then insertion)."""
        ...

    async def forget_lifecycle(self, camera_ids: Sequence[str]) -> None:
        """Drop the events of cameras no longer registered."""
        ...

    async def trim_lifecycle(self, groups: Sequence[Collection[str]], keep: int) -> int:
        """Retention: of each camera's events whose kind is in one of `groups`, keep the latest
        `keep` of each group (by time, then insertion); how many were removed."""
        ...
