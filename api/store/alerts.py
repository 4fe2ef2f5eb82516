"""Store records of alerts (one per vehicle, see `api.alerts.grouping`) and console sessions.

These are the store's second group of methods (`Store` in `api.store.base` lists them under their
own heading); `api.store.sqlite_alerts` implements them on SQLite. An implementation must make
`add_sightings` atomic per alert key (SQLite: one transaction on the single connection; a shared
database: a row lock or advisory lock on the key), so two replicas never open two alerts for one
pass of a vehicle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from api.alerts.grouping import AlertKey, Decision, GroupHit
from api.store.base import Acknowledgement, HitStatus


def restart_alert_sql(mark: str) -> str:
    """The statement that makes an alert's first sighting, count and opening time those of the
    sightings it still has (after retention removed its older ones); parameter: the alert_id."""
    rest = "FROM alert_sightings s WHERE s.alert_id = alerts.alert_id"
    return (
        f"UPDATE alerts SET sightings = (SELECT count(*) {rest}),"  # noqa: S608 - constant
        f" opened_at = (SELECT min(s.matched_at) {rest}),"
        f" first_hit_id = (SELECT s.hit_id {rest} ORDER BY s.matched_at, s.hit_id LIMIT 1)"
        f" WHERE alert_id = {mark}"
    )


def close_when_acknowledged_sql(mark: str) -> str:
    """The statement that acknowledges the alert of one hit, once none of the alert's stored
    hits is left unacknowledged, returning its id; `mark` is the driver's placeholder.

    Parameters: the acknowledgement (outcome, note, by, role, at), then the hit_id."""
    values = ", ".join(
        f"{column}={mark}" for column in ("ack_outcome", "ack_note", "ack_by", "ack_role", "ack_at")
    )
    return (
        f"UPDATE alerts SET {values} WHERE ack_at IS NULL"  # noqa: S608 - constant columns
        f" AND alert_id = (SELECT alert_id FROM alert_sightings WHERE hit_id = {mark})"
        " AND NOT EXISTS (SELECT 1 FROM alert_sightings s JOIN hits h ON h.hit_id = s.hit_id"
        " WHERE s.alert_id = alerts.alert_id AND h.ack_at IS NULL) RETURNING alert_id"
    )


def with_closed(notes: list[AlertNote], closed: Mapping[str, StoredAlert]) -> list[AlertNote]:
    """`notes` with the alerts in `closed` (by id) as they stand once closed.

    Placing closes the alerts left with no unacknowledged hit: on PostgreSQL a hit is stored and
    placed in two transactions, and a client of the hits API may acknowledge it in between; the
    alert it then opens would otherwise stay `new` with nothing in it left to acknowledge."""
    if not closed:
        return notes
    return [
        replace(n, alert=closed[n.alert.alert_id]) if n.alert.alert_id in closed else n
        for n in notes
    ]


@dataclass(frozen=True, slots=True)
class NewSighting:
    """A stored hit to place in an alert; `summary` is what the alert shows of its latest hit."""

    hit: GroupHit
    camera_id: str
    captured_at: int | None
    priority: int
    summary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Sighting:
    hit_id: str
    alert_id: str
    camera_id: str
    captured_at: int | None
    matched_at: int
    opened: bool


@dataclass(frozen=True, slots=True)
class StoredAlert:
    alert_id: str
    key: AlertKey
    priority: int
    opened_at: int
    last_seen: int
    sightings: int
    first_hit_id: str
    last_hit_id: str
    summary: dict[str, Any]
    ack: Acknowledgement | None = None

    @property
    def status(self) -> HitStatus:
        return HitStatus.NEW if self.ack is None else HitStatus.ACKNOWLEDGED


@dataclass(frozen=True, slots=True)
class AlertAcknowledged:
    """An alert just acknowledged, and the hits acknowledged with it (those that were not
    acknowledged before), for the audit log."""

    alert: StoredAlert
    hit_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AlertNote:
    """What a stored hit did to its alert: opened it or joined it (for `event: alert|sighting`)."""

    decision: Decision
    alert: StoredAlert
    sighting: Sighting


@dataclass(frozen=True, slots=True)
class AlertFilter:
    since: int | None = None
    until: int | None = None
    camera_id: str | None = None
    list_id: str | None = None
    status: HitStatus | None = None
    include_covert: bool = False
    test: bool | None = None
    min_priority: int | None = None  # 1 is the most urgent: priority <= min_priority


@dataclass(frozen=True, slots=True)
class AlertPageKey:
    """Keyset position: alerts are listed by (last_seen, alert_id), newest first."""

    last_seen: int
    alert_id: str


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in console user. Only the hash of the session id is stored."""

    session_hash: str
    token_hash: str
    name: str
    role: str
    csrf_token: str
    created_at: int
    expires_at: int
