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

import psycopg
import pytest

from api.store import migrate
from api.store.base import (
    AckConflict,
    Acknowledgement,
    AuditEntry,
    CameraActivity,
    HitFilter,
    HitStatus,
    NewHit,
    Outcome,
    PageKey,
    Store,
    StoreUnavailable,
)
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
    assert acked.ack == ACK
    with pytest.raises(AckConflict) as info:
        await store.acknowledge("h1", Acknowledgement(Outcome.NO_ACTION, None, "b", "admin", 6))
    assert info.value.existing == ACK
    assert await store.acknowledge("nope", ACK) is None


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
