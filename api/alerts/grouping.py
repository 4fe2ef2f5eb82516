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
    """What grouping needs to know of one alert of a key."""

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


def covers(alert: AlertState, matched_at: int, window_ms: int) -> bool:
    """Whether a hit at `matched_at` falls in `alert`'s window (open or not). A hit matched a
    little before the alert's first sighting (hits can be consumed out of order across
    partitions) is as much the same pass of the vehicle as one just after."""
    return (
        window_ms > 0 and alert.opened_at - window_ms <= matched_at <= alert.last_seen + window_ms
    )


def joins(latest: AlertState | None, matched_at: int, window_ms: int) -> bool:
    """Whether a hit at `matched_at` joins `latest`, the one alert of its key it is tried on."""
    return latest is not None and not latest.acknowledged and covers(latest, matched_at, window_ms)


def target_of(alerts: Iterable[AlertState], matched_at: int, window_ms: int) -> AlertState | None:
    """The alert a hit at `matched_at` joins: of its key's alerts whose window covers it, the
    one seen last (ties: the greater id); None when none does, or that one is closed."""
    covering = (a for a in alerts if covers(a, matched_at, window_ms))
    best = max(covering, key=lambda a: (a.last_seen, a.alert_id), default=None)
    return best if joins(best, matched_at, window_ms) else None


def spans(
    hits: Iterable[GroupHit], window_ms_of: Callable[[str], int]
) -> dict[AlertKey, tuple[int, int]]:
    """Per key, the times an alert must reach to cover a hit of the batch: an alert is among
    `place`'s `alerts_of(key)` when `last_seen >= low` and `opened_at <= high`."""
    out: dict[AlertKey, tuple[int, int]] = {}
    for hit in hits:
        window = window_ms_of(hit.key.list_id)
        low, high = hit.matched_at - window, hit.matched_at + window
        if hit.key in out:
            low, high = min(low, out[hit.key][0]), max(high, out[hit.key][1])
        out[hit.key] = (low, high)
    return out


def place(
    hits: Iterable[GroupHit],
    alerts_of: Callable[[AlertKey], Iterable[AlertState]],
    window_ms_of: Callable[[str], int],
) -> list[Placement]:
    """Place each hit in order. `alerts_of` gives a key's stored alerts that may cover a hit
    of the batch (a superset does no harm: the key's alerts whose span, widened by the window,
    meets the batch's hits); `window_ms_of(list_id)` the list's window. Hits of one batch see
    each other's alerts, so a batch decides as the same hits one by one would.

    A hit joins the alert whose window covers it, not only the key's latest: hits consumed
    late (an API catching up after downtime reads partitions in any order; a matcher behind
    the others) join the pass of the vehicle they belong to instead of opening an alert of
    their own beside it."""
    states: dict[AlertKey, dict[str, AlertState]] = {}
    out: list[Placement] = []
    for hit in hits:
        known = states.get(hit.key)
        if known is None:
            known = states[hit.key] = {a.alert_id: a for a in alerts_of(hit.key)}
        target = target_of(known.values(), hit.matched_at, window_ms_of(hit.key.list_id))
        if target is not None:
            if not hit.historical:
                known[target.alert_id] = replace(
                    target,
                    opened_at=min(target.opened_at, hit.matched_at),
                    last_seen=max(target.last_seen, hit.matched_at),
                )
            out.append(Placement(hit, Decision.JOINED, target.alert_id))
        else:
            alert_id = alert_id_for(hit.key, hit.hit_id)
            known[alert_id] = AlertState(alert_id, hit.matched_at, hit.matched_at, False)
            out.append(Placement(hit, Decision.OPENED, alert_id))
    return out
