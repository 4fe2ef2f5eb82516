"""One alert per vehicle: which alert a new hit joins, or whether it opens one. Pure (no I/O).

Hits of the same (plate_norm, list_id, entry_id) form one alert while each arrives within the
list's `group_window_s` of the alert's most recent sighting (a sliding window, so a vehicle seen
every few minutes stays one alert). Time is the hit's `matched_at`: set once by the matcher, so a
replay decides the same way, and immune to camera clock skew. An acknowledged alert is closed: the
next sighting opens a new alert. A window of 0 makes every hit an alert of its own.

Covert and test hits never share an alert with overt or live ones (the key carries both flags),
so an alert never changes who may see it and a commissioning test never joins a real alarm.

Alert ids are derived from the key and the hit that opened the alert, so a hit processed twice,
on any replica, names the same alert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class AlertKey:
    plate_norm: str
    list_id: str
    entry_id: str
    covert: bool
    test: bool


@dataclass(frozen=True, slots=True)
class AlertState:
    """What grouping needs to know of the latest alert of a key."""

    alert_id: str
    opened_at: int
    last_seen: int
    acknowledged: bool


@dataclass(frozen=True, slots=True)
class GroupHit:
    """A newly stored hit, as grouping sees it."""

    hit_id: str
    key: AlertKey
    matched_at: int
    # Found by past-read matching: the vehicle was there then. It joins an open alert as a
    # sighting but neither extends its window nor becomes its latest read.
    historical: bool = False


class Decision(StrEnum):
    OPENED = "opened"
    JOINED = "joined"


@dataclass(frozen=True, slots=True)
class Placement:
    hit: GroupHit
    decision: Decision
    alert_id: str


def alert_id_for(key: AlertKey, opening_hit_id: str) -> str:
    """Deterministic: the same opening hit of the same key always names the same alert."""
    material = "\x1f".join(
        (key.plate_norm, key.list_id, key.entry_id, str(int(key.covert)), str(int(key.test)))
    )
    digest = hashlib.sha256(f"{material}\x1e{opening_hit_id}".encode()).hexdigest()
    return f"al-{digest[:32]}"


def joins(latest: AlertState | None, matched_at: int, window_ms: int) -> bool:
    """Whether a hit at `matched_at` joins `latest` (the key's most recent alert)."""
    if latest is None or latest.acknowledged or window_ms <= 0:
        return False
    # A hit matched a little before the alert's first sighting (hits can be consumed out of
    # order across partitions) is as much the same pass of the vehicle as one just after.
    return latest.opened_at - window_ms <= matched_at <= latest.last_seen + window_ms


def place(
    hits: Iterable[GroupHit],
    latest_of: Callable[[AlertKey], AlertState | None],
    window_ms_of: Callable[[str], int],
) -> list[Placement]:
    """Place each hit in order. `latest_of` gives a key's latest alert before this batch (the
    greatest (last_seen, alert_id)); `window_ms_of(list_id)` the list's window. Hits of one batch
    see each other's alerts, so a batch decides as the same hits one by one would."""
    seen: dict[AlertKey, AlertState | None] = {}
    out: list[Placement] = []
    for hit in hits:
        latest = seen[hit.key] if hit.key in seen else latest_of(hit.key)
        if joins(latest, hit.matched_at, window_ms_of(hit.key.list_id)):
            assert latest is not None  # noqa: S101 - joins() is False for None
            state = (
                latest
                if hit.historical
                else replace(
                    latest,
                    opened_at=min(latest.opened_at, hit.matched_at),
                    last_seen=max(latest.last_seen, hit.matched_at),
                )
            )
            out.append(Placement(hit, Decision.JOINED, latest.alert_id))
        else:
            alert_id = alert_id_for(hit.key, hit.hit_id)
            state = AlertState(alert_id, hit.matched_at, hit.matched_at, acknowledged=False)
            out.append(Placement(hit, Decision.OPENED, alert_id))
        # The key's latest alert is the one seen last (ties: the greater id), as in the store.
        if latest is None or (state.last_seen, state.alert_id) >= (
            latest.last_seen,
            latest.alert_id,
        ):
            seen[hit.key] = state
        else:
            seen[hit.key] = latest
    return out
