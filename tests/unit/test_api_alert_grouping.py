"""The pure grouping core of alerts: which hits of one vehicle form one alert (table-driven)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.alerts.grouping import (
    AlertKey,
    AlertState,
    Decision,
    GroupHit,
    Placement,
    alert_id_for,
    joins,
    place,
)
from api.store.alerts import NewSighting
from api.store.sqlite import SqliteStore

KEY = AlertKey("1ABC123", "stolen", "e-1", covert=False, test=False)
MIN = 60_000
WINDOW = 10 * MIN


@dataclass(frozen=True)
class JoinCase:
    name: str
    latest: AlertState | None
    at: int
    window_ms: int
    expected: bool


OPEN = AlertState("al-x", opened_at=100 * MIN, last_seen=105 * MIN, acknowledged=False)
ACKED = AlertState("al-x", opened_at=100 * MIN, last_seen=105 * MIN, acknowledged=True)
# The same vehicle's next pass, well after OPEN's window.
NEWER = AlertState("al-n", opened_at=130 * MIN, last_seen=131 * MIN, acknowledged=False)

JOIN_CASES = [
    JoinCase("no alert yet", None, 100 * MIN, WINDOW, False),
    JoinCase("within the window of the last sighting", OPEN, 114 * MIN, WINDOW, True),
    JoinCase("exactly at the window's end", OPEN, 115 * MIN, WINDOW, True),
    JoinCase("one ms past the window", OPEN, 115 * MIN + 1, WINDOW, False),
    JoinCase("late hit inside the alert's span", OPEN, 102 * MIN, WINDOW, True),
    JoinCase("late hit shortly before the first sighting", OPEN, 95 * MIN, WINDOW, True),
    JoinCase("late hit long before the first sighting", OPEN, 89 * MIN, WINDOW, False),
    JoinCase("acknowledged alert is closed", ACKED, 106 * MIN, WINDOW, False),
    JoinCase("window 0: every hit alerts", OPEN, 105 * MIN, 0, False),
]


@pytest.mark.parametrize("case", JOIN_CASES, ids=[c.name for c in JOIN_CASES])
def test_joins(case: JoinCase) -> None:
    assert joins(case.latest, case.at, case.window_ms) is case.expected


def hit(hit_id: str, at: int, key: AlertKey = KEY) -> GroupHit:
    return GroupHit(hit_id, key, at)


@dataclass(frozen=True)
class PlaceCase:
    name: str
    hits: list[GroupHit]
    latest: dict[AlertKey, AlertState | list[AlertState]]
    window_ms: int
    # per hit: (decision, the hit_id that opened its alert)
    expected: list[tuple[Decision, str]]


OTHER_ENTRY = AlertKey("1ABC123", "stolen", "e-2", covert=False, test=False)
OTHER_PLATE = AlertKey("9XYZ999", "stolen", "e-1", covert=False, test=False)
COVERT = AlertKey("1ABC123", "stolen", "e-1", covert=True, test=False)
TEST = AlertKey("1ABC123", "stolen", "e-1", covert=False, test=True)

PLACE_CASES = [
    PlaceCase(
        "a vehicle passing three cameras is one alert",
        [hit("h1", 0), hit("h2", 4 * MIN), hit("h3", 13 * MIN)],
        {},
        WINDOW,
        [(Decision.OPENED, "h1"), (Decision.JOINED, "h1"), (Decision.JOINED, "h1")],
    ),
    PlaceCase(
        "a gap longer than the window opens a new alert",
        [hit("h1", 0), hit("h2", 11 * MIN), hit("h3", 12 * MIN)],
        {},
        WINDOW,
        [(Decision.OPENED, "h1"), (Decision.OPENED, "h2"), (Decision.JOINED, "h2")],
    ),
    PlaceCase(
        "window 0: every hit is an alert",
        [hit("h1", 0), hit("h2", 1)],
        {},
        0,
        [(Decision.OPENED, "h1"), (Decision.OPENED, "h2")],
    ),
    PlaceCase(
        "another entry, plate, covert or test flag is another alert",
        [
            hit("h1", 0),
            hit("h2", 1, OTHER_ENTRY),
            hit("h3", 2, OTHER_PLATE),
            hit("h4", 3, COVERT),
            hit("h5", 4, TEST),
        ],
        {},
        WINDOW,
        [
            (Decision.OPENED, "h1"),
            (Decision.OPENED, "h2"),
            (Decision.OPENED, "h3"),
            (Decision.OPENED, "h4"),
            (Decision.OPENED, "h5"),
        ],
    ),
    PlaceCase(
        "joins the stored open alert",
        [hit("h9", 106 * MIN)],
        {KEY: OPEN},
        WINDOW,
        [(Decision.JOINED, "al-x")],
    ),
    PlaceCase(
        "a late hit joins the alert whose window covers it, not the key's latest",
        [hit("late", 108 * MIN)],
        {KEY: [OPEN, NEWER]},
        WINDOW,
        [(Decision.JOINED, "al-x")],
    ),
    PlaceCase(
        "of two alerts covering a hit, the one seen last",
        [hit("between", 118 * MIN)],
        {KEY: [OPEN, AlertState("al-y", 125 * MIN, 126 * MIN, acknowledged=False)]},
        WINDOW,
        [(Decision.JOINED, "al-y")],
    ),
    PlaceCase(
        "a late hit in an acknowledged alert's window opens a new one",
        [hit("late", 104 * MIN)],
        {KEY: [ACKED, NEWER]},
        WINDOW,
        [(Decision.OPENED, "late")],
    ),
    PlaceCase(
        "after an acknowledgement the next sighting opens a new alert",
        [hit("h9", 106 * MIN), hit("h10", 107 * MIN)],
        {KEY: ACKED},
        WINDOW,
        [(Decision.OPENED, "h9"), (Decision.JOINED, "h9")],
    ),
]


@pytest.mark.parametrize("case", PLACE_CASES, ids=[c.name for c in PLACE_CASES])
def test_place(case: PlaceCase) -> None:
    stored = case.latest

    def alerts_of(key: AlertKey) -> list[AlertState]:
        found = stored.get(key)
        return [] if found is None else [found] if isinstance(found, AlertState) else found

    placed = place(case.hits, alerts_of, lambda list_id: case.window_ms)
    by_id = {h.hit_id: h for h in case.hits}
    got = []
    for p in placed:
        opener = next((h for h in case.hits if alert_id_for(h.key, h.hit_id) == p.alert_id), None)
        got.append((p.decision, opener.hit_id if opener else p.alert_id))
        assert p.hit is by_id[p.hit.hit_id]
    assert got == case.expected


def test_alert_ids_are_deterministic_and_distinct() -> None:
    assert alert_id_for(KEY, "h1") == alert_id_for(KEY, "h1")
    ids = {alert_id_for(k, h) for k in (KEY, OTHER_ENTRY, COVERT, TEST) for h in ("h1", "h2")}
    assert len(ids) == 8
    assert all(i.startswith("al-") and len(i) == 35 for i in ids)


def test_the_window_is_per_list() -> None:
    other_list = AlertKey("1ABC123", "wanted", "e-1", covert=False, test=False)
    hits = [
        hit("a1", 0),
        hit("a2", 5 * MIN),
        hit("b1", 0, other_list),
        hit("b2", 5 * MIN, other_list),
    ]
    windows = {"stolen": WINDOW, "wanted": 0}
    placed = place(hits, lambda key: [], lambda list_id: windows[list_id])
    assert [p.decision for p in placed] == [
        Decision.OPENED, Decision.JOINED, Decision.OPENED, Decision.OPENED
    ]  # fmt: skip


class FakeStore:
    """Keeps every alert's state as the SQLite store does, to replay placements against."""

    def __init__(self) -> None:
        self.alerts: dict[str, tuple[AlertKey, AlertState]] = {}

    def alerts_of(self, key: AlertKey) -> list[AlertState]:
        return [state for k, state in self.alerts.values() if k == key]

    def apply(self, placements: list[Placement]) -> None:
        for p in placements:
            at = p.hit.matched_at
            if p.decision is Decision.OPENED:
                self.alerts[p.alert_id] = (p.hit.key, AlertState(p.alert_id, at, at, False))
            else:
                key, s = self.alerts[p.alert_id]
                joined = AlertState(
                    s.alert_id, min(s.opened_at, at), max(s.last_seen, at), s.acknowledged
                )
                self.alerts[p.alert_id] = (key, joined)


KEYS = st.sampled_from([KEY, OTHER_ENTRY, COVERT])
HITS = st.lists(st.tuples(KEYS, st.integers(0, 60 * MIN)), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(hits=HITS, window_min=st.sampled_from([0, 1, 10]), cut=st.data())
def test_batches_decide_as_one_hit_at_a_time(
    hits: list[tuple[AlertKey, int]], window_min: int, cut: st.DataObject
) -> None:
    """Replicas consume the same hits in different batches: the alerts must not depend on it."""
    group_hits = [GroupHit(f"h{i}", key, at) for i, (key, at) in enumerate(hits)]

    def run(batches: list[list[GroupHit]]) -> list[tuple[str, Decision, str]]:
        store = FakeStore()
        out = []
        for batch in batches:
            placed = place(batch, store.alerts_of, lambda _: window_min * MIN)
            store.apply(placed)
            out += [(p.hit.hit_id, p.decision, p.alert_id) for p in placed]
        return out

    one_by_one = run([[h] for h in group_hits])
    sizes = cut.draw(st.lists(st.integers(1, 5), min_size=1, max_size=30))
    batches, start = [], 0
    for size in sizes:
        batches.append(group_hits[start : start + size])
        start += size
    if start < len(group_hits):
        batches.append(group_hits[start:])
    assert run([b for b in batches if b]) == one_by_one
    assert run([group_hits]) == one_by_one


def sqlite_run(batches: list[list[GroupHit]], window_ms: int) -> list[tuple[str, str, bool]]:
    """The same hits through the SQLite store: (hit_id, alert_id, opened) per hit."""

    async def go() -> list[tuple[str, str, bool]]:
        store = SqliteStore(None)
        await store.open()
        try:
            out = []
            for batch in batches:
                sightings = [NewSighting(h, "cam", None, 3, {}) for h in batch]
                for note in await store.add_sightings(sightings, lambda _: window_ms):
                    s = note.sighting
                    out.append((s.hit_id, s.alert_id, s.opened))
            return out
        finally:
            await store.close()

    return asyncio.run(go())


@settings(max_examples=60, deadline=None)
@given(hits=HITS, window_min=st.sampled_from([0, 10]), size=st.integers(2, 8))
def test_the_sqlite_store_groups_like_the_core(
    hits: list[tuple[AlertKey, int]], window_min: int, size: int
) -> None:
    group_hits = [GroupHit(f"h{i}", key, at) for i, (key, at) in enumerate(hits)]
    window = window_min * MIN
    one_by_one = sqlite_run([[h] for h in group_hits], window)
    batched = sqlite_run(
        [group_hits[i : i + size] for i in range(0, len(group_hits), size)], window
    )
    assert batched == one_by_one
    core = place(group_hits, lambda key: [], lambda _: window)
    assert one_by_one == [(p.hit.hit_id, p.alert_id, p.decision is Decision.OPENED) for p in core]
