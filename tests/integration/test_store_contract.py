"""The store contract: one suite, run against SQLite and against the real PostgreSQL.

Every test takes `backend`, which opens stores on one fresh database (a SQLite file, or a
throw-away PostgreSQL database migrated as its owner and used as the app role), so a second
store on the same backend stands in for a restarted process or a second replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from anpr.deliveries import DeliveryOutcome, DeliveryResult
from api.alerts.grouping import AlertKey, Decision, GroupHit
from api.store import migrate
from api.store.alerts import AlertFilter, AlertPageKey, ConsoleSession, NewSighting
from api.store.base import (
    AckConflict,
    Acknowledgement,
    AuditEntry,
    CameraActivity,
    HitFilter,
    HitStatus,
    LifecycleEvent,
    NewHit,
    Outcome,
    PageKey,
    Store,
    StoreUnavailable,
)
from api.store.notifications import DeliveryFilter, OutcomeCount, ReportDimension
from api.store.postgres import PostgresStore, connection
from api.store.sqlite import SqliteStore
from tests.support.postgres import PgDatabase


@dataclass
class Backend:
    name: str
    make: Callable[[], Store]
    # Runs one statement behind the store's back, as the store's own login.
    raw: Callable[[str], Awaitable[None]]
    opened: list[Store] = field(default_factory=list)

    async def open(self) -> Store:
        store = self.make()
        await store.open()
        self.opened.append(store)
        return store


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "api.sqlite3"

        async def raw_sqlite(statement: str) -> None:
            db = sqlite3.connect(path)
            try:
                db.execute(statement)
                db.commit()
            finally:
                db.close()

        result = Backend("sqlite", lambda: SqliteStore(path), raw_sqlite)
    else:
        db: PgDatabase = request.getfixturevalue("pg_database")

        async def raw_pg(statement: str) -> None:
            async with await psycopg.AsyncConnection.connect(db.url, autocommit=True) as conn:
                await conn.execute(statement.encode())

        result = Backend(
            "postgres",
            lambda: PostgresStore(db.url, migrate_url=db.migrate_url, pool_max=4),
            raw_pg,
        )
    yield result
    for store in result.opened:
        await store.close()


def _hit(
    hit_id: str,
    matched_at: int,
    *,
    covert: bool = False,
    camera_id: str = "cam",
    list_id: str = "list",
    plate: str = "ABC",
    test: bool = False,
) -> NewHit:
    body = {"hit_id": hit_id, "test": test, "nested": {"plate": plate}}
    return NewHit(hit_id, matched_at, camera_id, list_id, plate, covert, matched_at, body)


ACK = Acknowledgement(Outcome.CONFIRMED, "seen", "op", "operator", 5)


async def test_inserts_idempotently_and_pages_by_key(backend: Backend) -> None:
    store = await backend.open()
    first = await store.add_hits([_hit("h1", 10), _hit("h2", 20), _hit("h1", 10)])
    assert [h.hit_id for h in first] == ["h1", "h2"]
    again = await store.add_hits([_hit("h2", 20), _hit("h3", 20, covert=True)])
    assert [h.hit_id for h in again] == ["h3"]
    assert again[0].seq > first[1].seq > first[0].seq  # increasing (gaps allowed)
    flt = HitFilter(include_covert=True)
    page = await store.query_hits(flt, after=None, limit=2)
    assert [h.hit_id for h in page] == ["h3", "h2"]
    rest = await store.query_hits(flt, after=PageKey(20, "h2"), limit=2)
    assert [h.hit_id for h in rest] == ["h1"]
    assert [
        h.hit_id for h in await store.hits_after_seq(first[0].seq, include_covert=False, limit=9)
    ] == ["h2"]
    assert await store.seq_of("h3") == again[0].seq
    assert await store.seq_of("nope") is None
    assert await store.max_seq() == again[0].seq
    fetched = await store.get_hit("h1")
    assert fetched is not None
    assert fetched.body == {"hit_id": "h1", "test": False, "nested": {"plate": "ABC"}}
    assert fetched.status is HitStatus.NEW


async def test_acknowledge_once_and_conflict(backend: Backend) -> None:
    store = await backend.open()
    await store.add_hits([_hit("h1", 10)])
    acked = await store.acknowledge("h1", ACK)
    assert acked is not None
    assert acked.hit.ack == ACK
    assert acked.closed_alert_id is None  # in no alert
    with pytest.raises(AckConflict) as info:
        await store.acknowledge("h1", Acknowledgement(Outcome.NO_ACTION, None, "b", "admin", 6))
    assert info.value.existing == ACK
    assert await store.acknowledge("nope", ACK) is None


async def test_an_acknowledgement_and_its_audit_entry_are_written_together(
    backend: Backend,
) -> None:
    """Both or neither: an acknowledgement whose audit entry cannot be written is not applied
    (the operator's retry is not a 409 from an acknowledgement nobody can see was made)."""
    store = await backend.open()
    await store.add_hits([_hit("h1", 1000), _hit("h2", 1050), _hit("h3", 9000)])
    notes = await store.add_sightings([_sighting("h1", 1000), _sighting("h2", 1050)], _window)

    def entry(action: str, target: str) -> AuditEntry:
        return AuditEntry(7, "op", "operator", action, target, None, {"k": 1})

    def unwritable(done: object) -> AuditEntry:
        raise StoreUnavailable("the database is unavailable: the audit entry was not written")

    with pytest.raises(StoreUnavailable):
        await store.acknowledge("h3", ACK, audit=unwritable)
    hit = await store.get_hit("h3")
    assert hit is not None and hit.ack is None
    assert await store.acknowledge("h3", ACK, audit=lambda d: entry("hit.acknowledge", "h3"))
    alert_id = notes[0].alert.alert_id
    acked = await store.acknowledge_alert(
        alert_id, ACK, audit=lambda d: entry("alert.acknowledge", d.alert.alert_id)
    )
    assert acked is not None and acked.hit_ids == ("h1", "h2")
    audit = await store.query_audit(since=None, until=None, actor=None, before_seq=None, limit=9)
    assert sorted((a.entry.action, a.entry.target) for a in audit) == [
        ("alert.acknowledge", alert_id),
        ("hit.acknowledge", "h3"),
    ]


async def test_two_stores_on_one_database_agree(backend: Backend) -> None:
    """A restarted process (SQLite) or a second replica (PostgreSQL) sees the same data."""
    one = await backend.open()
    await one.add_hits([_hit("h1", 10)])
    await one.acknowledge("h1", ACK)
    await one.append_audit(AuditEntry(1, "a", "admin", "camera.create", "c", None, {"k": 1}))
    two = await backend.open()
    assert two.store_id == one.store_id
    assert two.store_id
    assert (await two.count_hits(HitFilter())).acknowledged == 1
    with pytest.raises(AckConflict):
        await two.acknowledge("h1", ACK)
    audit = await two.query_audit(since=None, until=None, actor=None, before_seq=None, limit=5)
    assert [a.entry.detail for a in audit] == [{"k": 1}]
    assert await two.add_hits([_hit("h1", 10)]) == []


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        pytest.param(HitFilter(), ["h4", "h2", "h1"], id="default-hides-covert"),
        pytest.param(HitFilter(include_covert=True), ["h4", "h3", "h2", "h1"], id="covert"),
        pytest.param(HitFilter(since=20, until=40), ["h2"], id="window"),
        pytest.param(HitFilter(camera_id="cam-2"), ["h2"], id="camera"),
        pytest.param(HitFilter(list_id="l-2", include_covert=True), ["h3"], id="list"),
        pytest.param(HitFilter(plate_norm="XYZ"), ["h4"], id="plate"),
        pytest.param(HitFilter(status=HitStatus.ACKNOWLEDGED), ["h1"], id="acknowledged"),
        pytest.param(HitFilter(status=HitStatus.NEW), ["h4", "h2"], id="new"),
        pytest.param(HitFilter(test=True), ["h4"], id="test-only"),
        pytest.param(HitFilter(test=False), ["h2", "h1"], id="live-only"),
    ],
)
async def test_filters(backend: Backend, flt: HitFilter, expected: list[str]) -> None:
    store = await backend.open()
    await store.add_hits(
        [
            _hit("h1", 10),
            _hit("h2", 20, camera_id="cam-2"),
            _hit("h3", 40, covert=True, list_id="l-2"),
            _hit("h4", 50, plate="XYZ", test=True),
        ]
    )
    await store.acknowledge("h1", ACK)
    assert [h.hit_id for h in await store.query_hits(flt, after=None, limit=10)] == expected
    counts = await store.count_hits(flt)
    assert counts.total == len(expected)
    assert counts.acknowledged == (1 if "h1" in expected else 0)


async def test_audit_is_append_only_and_paged(backend: Backend) -> None:
    store = await backend.open()
    seqs = [
        await store.append_audit(
            AuditEntry(at, actor, "admin", "hits.search", "t", "why", {"n": at})
        )
        for at, actor in ((1, "a"), (2, "b"), (3, "a"), (4, "a"))
    ]
    assert seqs == sorted(seqs)
    page = await store.query_audit(since=2, until=None, actor="a", before_seq=None, limit=1)
    assert [a.entry.at for a in page] == [4]
    rest = await store.query_audit(since=2, until=None, actor="a", before_seq=page[0].seq, limit=5)
    assert [a.entry.at for a in rest] == [3]
    for statement in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit"):
        with pytest.raises((sqlite3.Error, psycopg.Error)):
            await backend.raw(statement)
    everything = await store.query_audit(
        since=None, until=None, actor=None, before_seq=None, limit=10
    )
    assert len(everything) == 4
    assert {a.entry.actor for a in everything} == {"a", "b"}


async def test_camera_activity_and_retention(backend: Backend) -> None:
    store = await backend.open()
    await store.save_activity(
        [CameraActivity("c1", 100, 150, None), CameraActivity("c2", 100, None, 120)]
    )
    await store.save_activity([CameraActivity("c1", 100, 300, 310)])
    loaded = {a.camera_id: a for a in await store.load_activity()}
    assert loaded["c1"] == CameraActivity("c1", 100, 300, 310)
    assert loaded["c2"] == CameraActivity("c2", 100, None, 120)
    await store.forget_activity(["c2"])
    assert [a.camera_id for a in await store.load_activity()] == ["c1"]
    await store.add_hits([_hit("old", 10), _hit("new", 1000)])
    removed = await store.purge(hits_before=500, activity_before=400)
    assert removed == {"hits": 1, "camera_activity": 1}
    assert await store.get_hit("old") is None
    assert await store.get_hit("new") is not None
    assert await store.load_activity() == []


async def test_retention_deletes_a_backlog_in_batches(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backlog larger than a batch is deleted whole, a batch per statement (one statement
    for all of it could run past the database's statement timeout on every run)."""
    import api.store.pg_common

    monkeypatch.setattr(api.store.pg_common, "PURGE_BATCH", 2)
    store = await backend.open()
    if isinstance(store, SqliteStore):
        store.purge_batch = 2
    await store.add_hits([_hit(f"old{i}", 10 + i) for i in range(5)] + [_hit("new", 1000)])
    removed = await store.purge(hits_before=500, activity_before=0)
    assert removed["hits"] == 5
    assert (await store.count_hits(HitFilter())).total == 1


async def test_audit_retention_cutoff_only_moves_forward(backend: Backend) -> None:
    store = await backend.open()
    for at in (10, 20, 30):
        await store.append_audit(AuditEntry(at, "a", "admin", "hits.search", "t", None, {}))
    removed = await store.purge(hits_before=0, activity_before=0, audit_before=25)
    assert removed["audit"] == 2
    # An earlier cut-off does not bring the window back, nor delete anything more.
    again = await store.purge(hits_before=0, activity_before=0, audit_before=5)
    assert again["audit"] == 0
    left = await store.query_audit(since=None, until=None, actor=None, before_seq=None, limit=9)
    assert [a.entry.at for a in left] == [30]
    with pytest.raises((sqlite3.Error, psycopg.Error)):
        await backend.raw("DELETE FROM audit")  # entries after the cut-off stay undeletable


async def test_audit_retention_counts_overt_entries_only(backend: Backend) -> None:
    """The count goes to /metrics (no token), beside `anpr_api_audit_entries_total`, which
    leaves covert entries out: counted here, the difference gave their number."""
    store = await backend.open()
    for at, covert in ((10, True), (11, False), (12, True), (30, True)):
        detail: dict[str, object] = {"covert": True} if covert else {"entries": 3}
        await store.append_audit(
            AuditEntry(at, "a", "supervisor", "hotlist.replace", "l", None, detail)
        )
    removed = await store.purge(hits_before=0, activity_before=0, audit_before=25)
    assert removed["audit"] == 1
    left = await store.query_audit(since=None, until=None, actor=None, before_seq=None, limit=9)
    assert [a.entry.at for a in left] == [30]


# -- alerts and console sessions --------------------------------------------------------------

WINDOW_MS = 100


def _sighting(
    hit_id: str,
    matched_at: int,
    *,
    plate: str = "ABC",
    camera_id: str = "cam",
    priority: int = 3,
    historical: bool = False,
    covert: bool = False,
) -> NewSighting:
    key = AlertKey(plate, "list", "e1", covert=covert, test=False)
    return NewSighting(
        GroupHit(hit_id, key, matched_at, historical),
        camera_id,
        matched_at - 1,
        priority,
        {"hit": hit_id},
    )


def _window(list_id: str) -> int:
    assert list_id == "list"
    return WINDOW_MS


async def test_alerts_group_sightings_within_the_window(backend: Backend) -> None:
    store = await backend.open()
    notes = await store.add_sightings(
        [
            _sighting("h1", 1000),
            _sighting("h2", 1080, camera_id="cam-2", priority=2),
            _sighting("h3", 1170),  # within the window of the latest sighting (sliding)
            _sighting("x1", 1010, plate="XYZ"),  # another vehicle
        ],
        _window,
    )
    assert [n.decision for n in notes] == [
        Decision.OPENED,
        Decision.JOINED,
        Decision.JOINED,
        Decision.OPENED,
    ]
    assert notes[3].alert.alert_id != notes[0].alert.alert_id
    first = notes[2].alert
    assert notes[0].alert.alert_id == first.alert_id
    assert (first.sightings, first.opened_at, first.last_seen, first.priority) == (3, 1000, 1170, 2)
    assert (first.first_hit_id, first.last_hit_id, first.summary) == ("h1", "h3", {"hit": "h3"})
    # Replayed hits are skipped; a late hit joins without moving the summary.
    late = await store.add_sightings([_sighting("h2", 1080), _sighting("h0", 990)], _window)
    assert [(n.sighting.hit_id, n.decision) for n in late] == [("h0", Decision.JOINED)]
    assert late[0].alert.opened_at == 990
    assert late[0].alert.summary == {"hit": "h3"}
    trail = await store.alert_sightings(first.alert_id)
    assert [s.hit_id for s in trail] == ["h0", "h1", "h2", "h3"]
    assert [s.opened for s in trail] == [False, True, False, False]
    assert trail[2].camera_id == "cam-2"
    assert trail[2].captured_at == 1079
    replay = await store.alert_notes(["h1", "h3", "nope"])
    assert set(replay) == {"h1", "h3"}
    assert replay["h1"].decision is Decision.OPENED
    assert replay["h3"].decision is Decision.JOINED
    assert replay["h3"].alert == await store.get_alert(first.alert_id)
    assert await store.get_alert("nope") is None
    # Past the window of the latest sighting: a new alert.
    past = await store.add_sightings([_sighting("h4", 1300)], _window)
    assert past[0].decision is Decision.OPENED
    assert past[0].alert.alert_id != first.alert_id
    assert past[0].alert.sightings == 1


async def test_a_late_hit_joins_the_pass_it_belongs_to(backend: Backend) -> None:
    """An API catching up reads partitions in any order: a hit of the vehicle's earlier pass,
    consumed after a later pass opened an alert, joins the earlier pass's alert."""
    store = await backend.open()
    (first,) = await store.add_sightings([_sighting("h1", 1000)], _window)
    (later,) = await store.add_sightings([_sighting("h9", 1000 + 5 * WINDOW_MS)], _window)
    assert later.decision is Decision.OPENED
    (late,) = await store.add_sightings([_sighting("h2", 1000 + WINDOW_MS // 2)], _window)
    assert late.decision is Decision.JOINED
    assert late.alert.alert_id == first.alert.alert_id
    assert late.alert.sightings == 2
    # In one batch with a hit of the later pass, each joins its own.
    both = await store.add_sightings(
        [_sighting("h10", 1000 + 5 * WINDOW_MS + 1), _sighting("h3", 1001)], _window
    )
    assert [(n.decision, n.alert.alert_id) for n in both] == [
        (Decision.JOINED, later.alert.alert_id),
        (Decision.JOINED, first.alert.alert_id),
    ]


async def test_a_hit_twice_in_one_batch_is_one_sighting(backend: Backend) -> None:
    """A matcher that restarts before committing publishes its hits again, so the API can
    consume the same hit twice in one batch: it opens the alert once and counts once."""
    store = await backend.open()
    notes = await store.add_sightings(
        [_sighting("h1", 1000), _sighting("h2", 1050), _sighting("h1", 1000)], _window
    )
    assert [(n.sighting.hit_id, n.decision) for n in notes] == [
        ("h1", Decision.OPENED),
        ("h2", Decision.JOINED),
    ]
    alert = await store.get_alert(notes[0].alert.alert_id)
    assert alert is not None
    assert alert.sightings == 2
    trail = await store.alert_sightings(alert.alert_id)
    assert [(s.hit_id, s.opened) for s in trail] == [("h1", True), ("h2", False)]


async def test_hits_stored_and_placed_together(backend: Backend) -> None:
    store = await backend.open()
    hits = [_hit("h1", 1000), _hit("h2", 1050)]
    sightings = [_sighting("h1", 1000), _sighting("h2", 1050)]
    stored, notes = await store.add_hits_placed(hits, sightings, _window)
    assert [h.hit_id for h in stored] == ["h1", "h2"]
    assert stored[0].seq < stored[1].seq
    assert [(n.sighting.hit_id, n.decision) for n in notes] == [
        ("h1", Decision.OPENED),
        ("h2", Decision.JOINED),
    ]
    assert notes[1].alert.sightings == 2
    # Consumed again (a replay): nothing stored or placed twice.
    again, placed = await store.add_hits_placed(hits, sightings, _window)
    assert (again, placed) == ([], [])
    assert (await store.count_hits(HitFilter())).total == 2
    kept = await store.alert_notes(["h1", "h2"])
    assert kept["h2"].alert.sightings == 2


async def test_sqlite_stores_and_places_in_one_transaction(tmp_path: Path) -> None:
    """A batch whose placing fails leaves no hit stored: the batch is redone whole."""
    store = SqliteStore(tmp_path / "api.sqlite3")
    await store.open()
    try:

        def broken(list_id: str) -> int:
            raise RuntimeError("no window")

        with pytest.raises(RuntimeError):
            await store.add_hits_placed([_hit("h1", 1000)], [_sighting("h1", 1000)], broken)
        assert await store.get_hit("h1") is None
        stored, notes = await store.add_hits_placed(
            [_hit("h1", 1000)], [_sighting("h1", 1000)], _window
        )
        assert [h.hit_id for h in stored] == ["h1"]
        assert [n.decision for n in notes] == [Decision.OPENED]
    finally:
        await store.close()


async def test_a_past_read_joins_an_alert_without_becoming_its_latest(backend: Backend) -> None:
    store = await backend.open()
    await store.add_hits([_hit("live", 1000), _hit("past", 1050)])
    (opened,) = await store.add_sightings([_sighting("live", 1000, camera_id="north")], _window)
    (joined,) = await store.add_sightings(
        [_sighting("past", 1050, camera_id="harbour", priority=1, historical=True)], _window
    )
    assert joined.alert.alert_id == opened.alert.alert_id
    alert = joined.alert
    assert (alert.sightings, alert.priority) == (2, 1)
    assert (alert.last_hit_id, alert.last_seen, alert.summary) == ("live", 1000, {"hit": "live"})


async def test_alerts_filter_and_page(backend: Backend) -> None:
    store = await backend.open()
    await store.add_sightings(
        [
            _sighting("a", 1000, plate="A"),
            _sighting("b", 2000, plate="B", camera_id="cam-2", priority=1),
            _sighting("c", 3000, plate="C"),
        ],
        _window,
    )
    page = await store.query_alerts(AlertFilter(), after=None, limit=2)
    assert [a.last_hit_id for a in page] == ["c", "b"]
    rest = await store.query_alerts(
        AlertFilter(), after=AlertPageKey(page[1].last_seen, page[1].alert_id), limit=5
    )
    assert [a.last_hit_id for a in rest] == ["a"]
    for flt, expected in (
        (AlertFilter(camera_id="cam-2"), ["b"]),
        (AlertFilter(min_priority=1), ["b"]),
        (AlertFilter(since=2000), ["c", "b"]),
        (AlertFilter(until=2000), ["a"]),
        (AlertFilter(test=True), []),
        (AlertFilter(status=HitStatus.ACKNOWLEDGED), []),
    ):
        found = await store.query_alerts(flt, after=None, limit=9)
        assert [a.last_hit_id for a in found] == expected, flt


async def test_alert_acknowledgement_conflict_and_new_alert_after(backend: Backend) -> None:
    store = await backend.open()
    await store.add_hits([_hit("h1", 1000), _hit("h2", 1050)])
    notes = await store.add_sightings([_sighting("h1", 1000), _sighting("h2", 1050)], _window)
    alert_id = notes[0].alert.alert_id
    acked = await store.acknowledge_alert(alert_id, ACK)
    assert acked is not None
    assert acked.hit_ids == ("h1", "h2")  # the hits acknowledged with it, for the audit log
    assert acked.alert.ack == ACK
    assert acked.alert.status is HitStatus.ACKNOWLEDGED
    for hit_id in ("h1", "h2"):  # the alert's hits are acknowledged with it
        hit = await store.get_hit(hit_id)
        assert hit is not None
        assert hit.ack == ACK
    with pytest.raises(AckConflict) as info:
        await store.acknowledge_alert(
            alert_id, Acknowledgement(Outcome.NO_ACTION, None, "b", "admin", 6)
        )
    assert info.value.existing == ACK
    assert await store.acknowledge_alert("nope", ACK) is None
    # Within the window, but the alert is closed: the next sighting opens a new one.
    after = await store.add_sightings([_sighting("h3", 1060)], _window)
    assert after[0].decision is Decision.OPENED
    assert after[0].alert.alert_id != alert_id
    assert after[0].alert.ack is None
    new = await store.query_alerts(AlertFilter(status=HitStatus.NEW), after=None, limit=9)
    assert [a.alert_id for a in new] == [after[0].alert.alert_id]


async def test_acknowledging_the_last_open_hit_of_an_alert_closes_it(backend: Backend) -> None:
    """Hits acknowledged one by one (a client of the hits API) leave no alert `new` behind."""
    store = await backend.open()
    await store.add_hits([_hit("h1", 1000), _hit("h2", 1050), _hit("x1", 1000, plate="XYZ")])
    notes = await store.add_sightings(
        [_sighting("h1", 1000), _sighting("h2", 1050), _sighting("x1", 1000, plate="XYZ")],
        _window,
    )
    alert_id = notes[0].alert.alert_id
    first = await store.acknowledge("h1", ACK)
    assert first is not None and first.closed_alert_id is None
    alert = await store.get_alert(alert_id)
    assert alert is not None and alert.status is HitStatus.NEW  # h2 is still open
    last_ack = Acknowledgement(Outcome.NO_ACTION, "gone", "op2", "operator", 7)
    last = await store.acknowledge("h2", last_ack)
    assert last is not None and last.closed_alert_id == alert_id
    alert = await store.get_alert(alert_id)
    assert alert is not None and alert.ack == last_ack
    other = await store.get_alert(notes[2].alert.alert_id)
    assert other is not None and other.status is HitStatus.NEW  # another vehicle's alert
    with pytest.raises(AckConflict) as info:
        await store.acknowledge_alert(alert_id, ACK)
    assert info.value.existing == last_ack
    # Closed: the vehicle's next sighting within the window opens a new alert.
    await store.add_hits([_hit("h3", 1060)])
    (after,) = await store.add_sightings([_sighting("h3", 1060)], _window)
    assert after.decision is Decision.OPENED
    assert after.alert.alert_id != alert_id


async def test_a_hit_acknowledged_before_it_is_placed_leaves_no_alert_new(
    backend: Backend,
) -> None:
    """On PostgreSQL a batch is stored, then placed, in two transactions: a client of the hits
    API may acknowledge a hit in between. The alert it then opens has no hit left to
    acknowledge: it is closed with the hit's acknowledgement, not left `new` for good."""
    store = await backend.open()
    await store.add_hits([_hit("h1", 1000), _hit("h2", 1010, plate="XYZ")])
    await store.add_hits([_hit("h3", 1020, plate="XYZ")])
    assert await store.acknowledge("h1", ACK) is not None
    assert await store.acknowledge("h2", ACK) is not None
    notes = await store.add_sightings(
        [
            _sighting("h1", 1000),
            _sighting("h2", 1010, plate="XYZ"),
            _sighting("h3", 1020, plate="XYZ"),
        ],
        _window,
    )
    by_hit = {n.sighting.hit_id: n for n in notes}
    assert by_hit["h1"].decision is Decision.OPENED
    closed = await store.get_alert(by_hit["h1"].alert.alert_id)
    assert closed is not None and closed.ack == ACK
    assert by_hit["h1"].alert.ack == ACK  # the stream's `event: alert` shows it closed
    # h3 joined h2's alert and nobody acknowledged it: that alert stays new.
    assert by_hit["h3"].alert.alert_id == by_hit["h2"].alert.alert_id
    still = await store.get_alert(by_hit["h2"].alert.alert_id)
    assert still is not None and still.status is HitStatus.NEW
    # Closed: the vehicle's next sighting opens a new alert.
    await store.add_hits([_hit("h4", 1030)])
    (after,) = await store.add_sightings([_sighting("h4", 1030)], _window)
    assert after.decision is Decision.OPENED


async def test_purge_alerts_by_last_sighting(backend: Backend) -> None:
    store = await backend.open()
    notes = await store.add_sightings(
        [_sighting("old", 1000, plate="A"), _sighting("new", 5000, plate="B")], _window
    )
    assert await store.purge_alerts(before=2000) == 1
    assert await store.get_alert(notes[0].alert.alert_id) is None
    assert await store.alert_sightings(notes[0].alert.alert_id) == []
    assert await store.get_alert(notes[1].alert.alert_id) is not None


async def test_retention_removes_covert_rows_without_counting_them(backend: Backend) -> None:
    """The counts go to /metrics (no token): beside the overt hits an operator can count, a
    covert row in them would give the covert hits' number by difference."""
    store = await backend.open()
    await store.add_hits([_hit("overt", 10), _hit("covert", 10, covert=True), _hit("new", 1000)])
    removed = await store.purge(hits_before=500, activity_before=0)
    assert removed["hits"] == 1
    assert await store.get_hit("covert") is None
    notes = await store.add_sightings(
        [_sighting("a1", 1000, plate="A"), _sighting("a2", 1000, plate="B", covert=True)], _window
    )
    assert await store.purge_alerts(before=2000) == 1
    assert all([await store.get_alert(n.alert.alert_id) is None for n in notes])


async def test_retention_trims_the_old_sightings_of_an_alert_seen_since(
    backend: Backend,
) -> None:
    """A vehicle seen every few minutes keeps its alert open (the window slides): when hits are
    purged by retention, the alert's trail of them (camera, time: personal data) goes too, and
    the alert starts at its oldest sighting kept."""
    store = await backend.open()
    step = WINDOW_MS // 2
    times = [1000 + i * step for i in range(6)]
    notes = await store.add_sightings([_sighting(f"h{i}", t) for i, t in enumerate(times)], _window)
    alert_id = notes[0].alert.alert_id
    assert {n.alert.alert_id for n in notes} == {alert_id}
    await store.add_sightings([_sighting("gone", 500, plate="OLD")], _window)

    assert await store.purge_alerts(before=times[3]) == 1  # the OLD vehicle's alert
    trail = await store.alert_sightings(alert_id)
    assert [s.hit_id for s in trail] == ["h3", "h4", "h5"]
    alert = await store.get_alert(alert_id)
    assert alert is not None
    assert (alert.sightings, alert.opened_at, alert.first_hit_id) == (3, times[3], "h3")
    assert (alert.last_seen, alert.last_hit_id) == (times[5], "h5")
    # The vehicle seen again within the window still joins it.
    (again,) = await store.add_sightings([_sighting("h6", times[5] + step)], _window)
    assert (again.decision, again.alert.alert_id, again.alert.sightings) == (
        Decision.JOINED,
        alert_id,
        4,
    )


async def test_console_sessions_expire(backend: Backend) -> None:
    store = await backend.open()
    live = ConsoleSession("s1", "t1", "ann", "operator", "csrf-1", 100, 1000)
    await store.create_session(live)
    await store.create_session(ConsoleSession("s2", "t2", "bob", "admin", "csrf-2", 100, 500))
    assert await store.get_session("s1", now=999) == live
    assert await store.get_session("s1", now=1000) is None  # expired at expires_at
    assert await store.get_session("nope", now=0) is None
    assert await store.purge_sessions(now=500) == 1
    assert await store.get_session("s2", now=0) is None
    await store.delete_session("s1")
    assert await store.get_session("s1", now=0) is None
    assert await store.purge_sessions(now=10_000) == 0


# -- deliveries and the outcome report ---------------------------------------------------------


def _delivery(
    delivery_id: str, finished_at: int, outcome: DeliveryOutcome, *, target: str = "t1"
) -> DeliveryResult:
    return DeliveryResult(
        delivery_id=delivery_id,
        hit_id=f"hit-{delivery_id}",
        target_id=target,
        list_id="list",
        covert=False,
        outcome=outcome,
        attempts=1 if outcome is DeliveryOutcome.DELIVERED else 3,
        status_code=200 if outcome is DeliveryOutcome.DELIVERED else None,
        error=None if outcome is DeliveryOutcome.DELIVERED else "timeout",
        first_attempt_at=finished_at - 5,
        finished_at=finished_at,
    )


async def test_deliveries_latest_outcome_wins_and_pages(backend: Backend) -> None:
    store = await backend.open()
    written = await store.add_deliveries(
        [
            _delivery("d1", 100, DeliveryOutcome.FAILED),
            _delivery("d2", 200, DeliveryOutcome.DELIVERED, target="t2"),
            _delivery("d3", 300, DeliveryOutcome.DELIVERED),
        ]
    )
    assert written == 3
    # A redelivery ends later: it replaces the outcome; an older one replayed does not.
    later = _delivery("d1", 400, DeliveryOutcome.DELIVERED)
    assert await store.add_deliveries([later, _delivery("d2", 150, DeliveryOutcome.FAILED)]) == 1
    log = await store.query_deliveries(DeliveryFilter(), before_seq=None, limit=2)
    assert [d.result.delivery_id for d in log] == ["d3", "d2"]  # d1 keeps its place (seq)
    rest = await store.query_deliveries(DeliveryFilter(), before_seq=log[1].seq, limit=9)
    assert [d.result for d in rest] == [later]
    assert log[1].result.outcome is DeliveryOutcome.DELIVERED
    for flt, expected in (
        (DeliveryFilter(target_id="t2"), ["d2"]),
        (DeliveryFilter(hit_id="hit-d3"), ["d3"]),
        (DeliveryFilter(outcome="delivered", since=250), ["d3", "d1"]),
        (DeliveryFilter(until=300), ["d2"]),
    ):
        found = await store.query_deliveries(flt, before_seq=None, limit=9)
        assert [d.result.delivery_id for d in found] == expected, flt
    assert await store.purge_deliveries(before=350) == 2
    remaining = await store.query_deliveries(DeliveryFilter(), before_seq=None, limit=9)
    assert [d.result.delivery_id for d in remaining] == ["d1"]


@pytest.mark.parametrize(
    ("dimension", "flt", "expected"),
    [
        pytest.param(
            ReportDimension.LIST,
            HitFilter(),
            {("l1", "confirmed", 1), ("l1", None, 1), ("l2", None, 1)},
            id="list",
        ),
        pytest.param(
            ReportDimension.CAMERA,
            HitFilter(include_covert=True),
            {("c1", "confirmed", 1), ("c1", None, 1), ("c2", None, 2)},
            id="camera-with-covert",
        ),
        pytest.param(
            ReportDimension.NONE,
            HitFilter(since=1500),
            {("", None, 2)},
            id="none-since",
        ),
        pytest.param(
            ReportDimension.BUCKET,
            HitFilter(),
            {("1000", "confirmed", 1), ("1000", None, 1), ("2000", None, 1)},
            id="bucket",
        ),
    ],
)
async def test_hit_outcome_counts(
    backend: Backend,
    dimension: ReportDimension,
    flt: HitFilter,
    expected: set[tuple[str, str | None, int]],
) -> None:
    store = await backend.open()
    await store.add_hits(
        [
            _hit("h1", 1000, camera_id="c1", list_id="l1"),
            _hit("h2", 1600, camera_id="c1", list_id="l1"),
            _hit("h3", 2100, camera_id="c2", list_id="l2"),
            _hit("h4", 2200, camera_id="c2", list_id="l3", covert=True),
        ]
    )
    await store.acknowledge("h1", ACK)
    counts = await store.hit_outcome_counts(flt, dimension=dimension, bucket_ms=1000)
    assert {(c.key, c.outcome, c.count) for c in counts} == expected
    assert all(isinstance(c, OutcomeCount) for c in counts)


async def test_outcome_counts_need_a_positive_bucket(backend: Backend) -> None:
    store = await backend.open()
    with pytest.raises(ValueError, match="bucket_ms"):
        await store.hit_outcome_counts(HitFilter(), dimension=ReportDimension.BUCKET)


# -- camera connection lifecycle ----------------------------------------------------------------


async def test_lifecycle_earliest_first_event_wins(backend: Backend) -> None:
    store = await backend.open()
    changed = await store.add_lifecycle(
        [
            LifecycleEvent("c1", "first_contact", 300, {"n": 1}),
            LifecycleEvent("c1", "disconnected", 200, {}),
            LifecycleEvent("c2", "registered", 100, {}),
        ]
    )
    assert changed == 3
    # Another replica saw the first contact earlier: it wins; a later one changes nothing.
    assert await store.add_lifecycle([LifecycleEvent("c1", "first_contact", 250, {"n": 2})]) == 1
    assert await store.add_lifecycle([LifecycleEvent("c1", "first_contact", 900, {"n": 3})]) == 0
    assert await store.add_lifecycle([LifecycleEvent("c1", "disconnected", 200, {})]) == 1
    assert await store.add_lifecycle([]) == 0
    events = await store.load_lifecycle()
    assert events == [
        LifecycleEvent("c2", "registered", 100, {}),
        LifecycleEvent("c1", "disconnected", 200, {}),
        LifecycleEvent("c1", "disconnected", 200, {}),
        LifecycleEvent("c1", "first_contact", 250, {"n": 2}),
    ]
    await store.forget_lifecycle(["c1"])
    assert await store.load_lifecycle() == [LifecycleEvent("c2", "registered", 100, {})]


async def test_lifecycle_retention_keeps_the_latest_of_each_repeating_group(
    backend: Backend,
) -> None:
    store = await backend.open()
    silent = ("went_silent", "came_back")
    moves = ("moved_live", "moved_commissioning")
    events = [LifecycleEvent("c1", "registered", 1, {}), LifecycleEvent("c2", "registered", 1, {})]
    events += [LifecycleEvent("c1", silent[n % 2], 100 + n, {"n": n}) for n in range(30)]
    events += [LifecycleEvent("c1", moves[n % 2], 50 + n, {"n": n}) for n in range(8)]
    events += [LifecycleEvent("c2", silent[n % 2], 100 + n, {"n": n}) for n in range(7)]
    # Two at the same time: the one stored last is the later one.
    events += [LifecycleEvent("c2", "went_silent", 200, {"n": 98})]
    events += [LifecycleEvent("c2", "came_back", 200, {"n": 99})]
    await store.add_lifecycle(events)
    groups = [frozenset(silent), frozenset(moves)]
    assert await store.trim_lifecycle(groups, keep=5) == (30 - 5) + (8 - 5) + (9 - 5)
    kept = await store.load_lifecycle()

    def numbers(camera: str, kinds: tuple[str, ...]) -> list[int]:
        return [e.detail["n"] for e in kept if e.camera_id == camera and e.kind in kinds]

    assert numbers("c1", silent) == list(range(25, 30))
    assert numbers("c1", moves) == list(range(3, 8))
    assert numbers("c2", silent) == [4, 5, 6, 98, 99]
    assert sum(1 for e in kept if e.kind == "registered") == 2
    assert await store.trim_lifecycle(groups, keep=5) == 0


# -- PostgreSQL only: what the database itself enforces ------------------------------------------


async def test_pg_app_role_has_no_update_or_delete_on_audit(pg_database: PgDatabase) -> None:
    store = PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url)
    await store.open()
    try:
        await store.append_audit(AuditEntry(1, "a", "admin", "camera.create", "c", None, {}))
    finally:
        await store.close()
    async with await psycopg.AsyncConnection.connect(pg_database.url, autocommit=True) as app:
        for statement in (b"UPDATE audit SET actor = 'x'", b"DELETE FROM audit", b"TRUNCATE audit"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                await app.execute(statement)
    # The owner has the privileges, and the trigger still refuses.
    async with await psycopg.AsyncConnection.connect(pg_database.migrate_url, autocommit=True) as o:
        for statement in (b"UPDATE audit SET actor = 'x'", b"DELETE FROM audit", b"TRUNCATE audit"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                await o.execute(statement)
        cur = await o.execute(b"SELECT count(*) FROM audit")
        assert await cur.fetchone() == (1,)


async def test_pg_migrations_apply_once_even_when_raced(pg_database: PgDatabase) -> None:
    results = await asyncio.gather(*(migrate.upgrade(pg_database.migrate_url) for _ in range(3)))
    every = [m.version for m in migrate.migrations()]
    assert sorted(v for applied in results for v in applied) == every
    assert await migrate.pending(pg_database.migrate_url) == []
    assert await migrate.upgrade(pg_database.migrate_url) == []


async def test_pg_concurrent_acknowledgements_have_one_winner(pg_database: PgDatabase) -> None:
    """One SQLite file serves one process; two replicas on one PostgreSQL race fairly."""
    one = PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url)
    two = PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url)
    await one.open()
    await two.open()
    await one.add_hits([_hit(f"h{i}", i) for i in range(20)])

    async def ack(store: Store, hit_id: str, by: str) -> str:
        try:
            await store.acknowledge(hit_id, Acknowledgement(Outcome.CONFIRMED, None, by, "op", 1))
        except AckConflict:
            return "conflict"
        return by

    for i in range(20):
        results = await asyncio.gather(ack(one, f"h{i}", "a"), ack(two, f"h{i}", "b"))
        assert sorted(results)[0] in {"a", "b"}
        assert "conflict" in results
        hit = await one.get_hit(f"h{i}")
        assert hit is not None and hit.ack is not None
        assert hit.ack.by in results
    await one.close()
    await two.close()


async def test_pg_unreachable_database_is_a_retriable_store_error() -> None:
    """Consumers retry a batch on it (ConsumerLoop reads `retriable`); requests get a 503."""
    store = PostgresStore(
        "postgresql://anpr_app@127.0.0.1:1/anpr", migrate_on_start=False, pool_min=0, timeout_s=0.5
    )
    await store.pool.open(wait=False)
    try:
        with pytest.raises(StoreUnavailable) as info:
            await store.get_hit("h1")
        assert info.value.retriable
    finally:
        await store.pool.close()


class _ErrorOnCancelPool:
    """A pool whose connection fails while being handed back after a cancelled query: the
    way a cancellation can come out of psycopg as an OperationalError."""

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[object]:
        try:
            yield object()
        except asyncio.CancelledError as exc:
            raise psycopg.OperationalError("connection lost while cancelling") from exc


async def test_cancelling_a_retry_loop_stops_it() -> None:
    """A loop that retries on StoreUnavailable still stops when cancelled mid-query: an error
    raised while the task is being cancelled stays a cancellation, never a retriable error."""
    started = asyncio.Event()

    async def retry_loop() -> None:
        while True:
            try:
                async with connection(_ErrorOnCancelPool()):  # type: ignore[arg-type]
                    started.set()
                    await asyncio.sleep(30)
            except StoreUnavailable:
                await asyncio.sleep(0.01)

    task = asyncio.create_task(retry_loop())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)


async def test_pg_concurrent_sightings_of_one_vehicle_open_one_alert(
    pg_database: PgDatabase,
) -> None:
    """Two replicas place hits of the same vehicle at once: the per-key lock makes one alert."""
    one = PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url)
    two = PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url)
    await one.open()
    await two.open()
    try:
        for round_no in range(10):
            base = 10_000 * (round_no + 1)
            plate = f"P{round_no}"
            results = await asyncio.gather(
                one.add_sightings([_sighting(f"a{round_no}", base, plate=plate)], _window),
                two.add_sightings([_sighting(f"b{round_no}", base + 1, plate=plate)], _window),
            )
            decisions = sorted(n.decision for notes in results for n in notes)
            assert decisions == [Decision.JOINED, Decision.OPENED], round_no
            alerts = {n.alert.alert_id for notes in results for n in notes}
            assert len(alerts) == 1
            (alert_id,) = alerts
            alert = await one.get_alert(alert_id)
            assert alert is not None
            assert alert.sightings == 2
    finally:
        await one.close()
        await two.close()


async def test_pg_app_role_purges_audit_only_through_the_function(
    pg_database: PgDatabase,
) -> None:
    store = PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url)
    await store.open()
    try:
        await store.append_audit(AuditEntry(10, "a", "admin", "camera.create", "c", None, {}))
    finally:
        await store.close()
    async with await psycopg.AsyncConnection.connect(pg_database.url, autocommit=True) as app:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            await app.execute(b"UPDATE audit_retention SET cutoff = 100")
    async with await psycopg.AsyncConnection.connect(pg_database.migrate_url, autocommit=True) as o:
        await o.execute(b"SELECT anpr_purge_audit(100)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only moves forward"):
            await o.execute(b"UPDATE audit_retention SET cutoff = 0")


async def test_pg_app_role_cannot_purge_the_audit_log_inside_its_floor(
    pg_database: PgDatabase,
) -> None:
    """The application's login asks for a cut-off in the far future: only entries older than
    the floor the database keeps (365 days) go, and the cut-off stops at the floor."""
    import time

    now = int(time.time() * 1000)
    day = 86_400_000
    store = PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url)
    await store.open()
    try:
        for at, target in ((now - 400 * day, "old"), (now - 10 * day, "recent"), (now, "now")):
            await store.append_audit(
                AuditEntry(at, "a", "admin", "camera.create", target, None, {})
            )
        removed = await store.purge(hits_before=0, activity_before=0, audit_before=2**62)
        assert removed["audit"] == 1
        kept = await store.query_audit(since=None, until=None, actor=None, before_seq=None, limit=9)
        assert sorted(a.entry.target for a in kept) == ["now", "recent"]
    finally:
        await store.close()
    async with await psycopg.AsyncConnection.connect(pg_database.url, autocommit=True) as app:
        cur = await app.execute(b"SELECT cutoff FROM audit_retention")
        row = await cur.fetchone()
        assert row is not None and now - 366 * day < row[0] < now - 364 * day
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            await app.execute(b"UPDATE audit_retention_floor SET min_keep_ms = 0")
    async with await psycopg.AsyncConnection.connect(pg_database.migrate_url, autocommit=True) as o:
        await o.execute(b"UPDATE audit_retention_floor SET min_keep_ms = 0")  # the owner may
        await o.execute(b"SELECT anpr_purge_audit(9223372036854775807)")
        cur = await o.execute(b"SELECT count(*) FROM audit")
        row = await cur.fetchone()
        assert row is not None and row[0] == 0


async def until_waiting_on_a_lock(
    other: psycopg.AsyncConnection[Any], task: asyncio.Task[Any]
) -> None:
    """Until some session waits on an advisory lock (`other` holds one), `task` still running:
    a task that ends first did not wait for the lock holder."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        cur = await other.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        )
        row = await cur.fetchone()
        if row is not None and row[0] > 0:
            break
        assert not task.done(), "the task ended without waiting for the lock's holder"
        assert asyncio.get_running_loop().time() < deadline, "never waited on the lock"
        await asyncio.sleep(0.02)
    assert not task.done()


async def test_pg_alert_acknowledgement_waits_for_placements_of_its_key(
    pg_database: PgDatabase,
) -> None:
    """A placement in progress (holding the key's lock) finishes before the alert is closed."""
    from api.store.pg_alerts import key_lock

    store = PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url)
    await store.open()
    try:
        notes = await store.add_sightings([_sighting("h1", 1000)], _window)
        alert = notes[0].alert
        async with await psycopg.AsyncConnection.connect(pg_database.url, autocommit=True) as other:
            await other.execute("SELECT pg_advisory_lock(%s)", (key_lock(alert.key),))
            task = asyncio.create_task(store.acknowledge_alert(alert.alert_id, ACK))
            await until_waiting_on_a_lock(other, task)
            await other.execute("SELECT pg_advisory_unlock(%s)", (key_lock(alert.key),))
            acked = await asyncio.wait_for(task, 10)
        assert acked is not None
        assert acked.alert.ack == ACK
    finally:
        await store.close()


async def test_pg_hits_acknowledged_at_once_on_two_replicas_close_their_alert(
    pg_database: PgDatabase,
) -> None:
    """The last two open hits of an alert, acknowledged at the same instant on two replicas:
    each would see the other's hit still open without the key's lock, and the alert would
    stay `new` for good. Mixed with alert acknowledgements, nothing deadlocks."""
    one = PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url)
    two = PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url)
    await one.open()
    await two.open()
    try:
        for round_ in range(15):
            plate = f"P{round_}"
            ids = [f"{plate}-a", f"{plate}-b", f"{plate}-c"]
            await one.add_hits([_hit(h, 1000 + i, plate=plate) for i, h in enumerate(ids)])
            notes = await one.add_sightings(
                [_sighting(h, 1000 + i, plate=plate) for i, h in enumerate(ids)], _window
            )
            alert_id = notes[0].alert.alert_id

            async def hit_ack(store: Store, hit_id: str) -> None:
                with contextlib.suppress(AckConflict):
                    await store.acknowledge(hit_id, ACK)

            async def alert_ack(store: Store, alert_id: str) -> None:
                with contextlib.suppress(AckConflict):
                    await store.acknowledge_alert(alert_id, ACK)

            if round_ % 3 == 2:  # an alert acknowledgement racing the hits'
                await asyncio.gather(
                    hit_ack(one, ids[0]),
                    alert_ack(two, alert_id),
                    hit_ack(two, ids[1]),
                    hit_ack(one, ids[2]),
                )
            else:
                await hit_ack(one, ids[0])
                await asyncio.gather(hit_ack(one, ids[1]), hit_ack(two, ids[2]))
            alert = await two.get_alert(alert_id)
            assert alert is not None and alert.status is HitStatus.ACKNOWLEDGED, round_
            for hit_id in ids:
                hit = await two.get_hit(hit_id)
                assert hit is not None and hit.ack is not None, hit_id
    finally:
        await one.close()
        await two.close()


async def test_two_replicas_flushing_the_same_cameras_do_not_deadlock(
    pg_database: PgDatabase,
) -> None:
    """Replicas see the same cameras' first events and flush them in one transaction each, in
    the order each observed them: two flushes of the same cameras in opposite orders locked
    each other's rows (a deadlock, the flush failed as the database unavailable)."""
    import asyncio

    stores = [PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url) for _ in "ab"]
    for store in stores:
        await store.open()
    try:
        for round_no in range(3):
            events = [
                LifecycleEvent(f"r{round_no}-c{i:05d}", "registered", 100 + i, {})
                for i in range(3000)
            ]
            await asyncio.gather(
                stores[0].add_lifecycle(events), stores[1].add_lifecycle(events[::-1])
            )
        assert len(await stores[0].load_lifecycle()) == 9000
    finally:
        for store in stores:
            await store.close()


async def test_two_replicas_saving_the_same_cameras_activity_do_not_deadlock(
    pg_database: PgDatabase,
) -> None:
    """As the lifecycle flush: a pipelined batch of upserts is one transaction."""
    import asyncio

    stores = [PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url) for _ in "ab"]
    for store in stores:
        await store.open()
    try:
        for round_no in range(3):
            rows = [
                CameraActivity(f"r{round_no}-c{i:05d}", 100, 100 + i, None) for i in range(3000)
            ]
            await asyncio.gather(stores[0].save_activity(rows), stores[1].save_activity(rows[::-1]))
        assert len(await stores[0].load_activity()) == 9000
    finally:
        for store in stores:
            await store.close()


async def test_pg_hit_acknowledgement_waits_for_a_placement_of_its_key_before_its_alert_exists(
    pg_database: PgDatabase,
) -> None:
    """PostgreSQL stores a batch, then places it in a second transaction. An acknowledgement
    of a hit between the two took no lock (the hit was in no alert yet) and could commit
    while the placing was under way: the placing then put the acknowledged hit in an alert
    that stayed `new`. It now takes the lock of the key the hit will be placed under."""
    from api.store.pg_alerts import key_lock

    store = PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url)
    await store.open()
    try:
        body = {"hit_id": "h1", "entry_id": "e1", "test": False}
        await store.add_hits([NewHit("h1", 1000, "cam", "list", "ABC", False, 1000, body)])
        key = AlertKey("ABC", "list", "e1", covert=False, test=False)
        async with await psycopg.AsyncConnection.connect(pg_database.url, autocommit=True) as other:
            await other.execute("SELECT pg_advisory_lock(%s)", (key_lock(key),))  # placing
            task = asyncio.create_task(store.acknowledge("h1", ACK))
            await until_waiting_on_a_lock(other, task)
            await other.execute("SELECT pg_advisory_unlock(%s)", (key_lock(key),))
            acked = await asyncio.wait_for(task, 10)
        assert acked is not None
        (note,) = await store.add_sightings([_sighting("h1", 1000)], _window)
        assert note.alert.ack == ACK  # placed after: closed with its acknowledged hit
    finally:
        await store.close()
