"""The SQLite stores run their statements on their own thread, and purge in bounded batches with
other statements served between two batches."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from anpr.sqlite_wal import connect_wal
from api.alerts.placer import new_sighting
from api.archive.records import ArchivedRead
from api.archive.sqlite_reads import SqliteReadStore
from api.store.alerts import ConsoleSession
from api.store.base import AuditEntry, NewHit, StoreUnavailable
from api.store.sqlite import SqliteStore

T0 = 1_750_000_000_000


@pytest.fixture
async def store() -> AsyncIterator[SqliteStore]:
    store = SqliteStore(None)
    await store.open()
    yield store
    await store.close()


def _hit(n: int, matched_at: int) -> NewHit:
    return NewHit(f"h{n}", matched_at, "cam-1", "list-1", "AB12CDE", False, matched_at, {"n": n})


async def test_statements_run_off_the_event_loop(store: SqliteStore) -> None:
    # The statement waits for an event that only the event loop sets: on the loop's own thread
    # it would block the loop and time out.
    loop_went_on = threading.Event()

    def waits_for_the_loop(db: sqlite3.Connection) -> tuple[bool, str]:
        return loop_went_on.wait(timeout=10), threading.current_thread().name

    asyncio.get_running_loop().call_soon(loop_went_on.set)
    released, thread = await store.sql(waits_for_the_loop)
    assert released
    assert thread.startswith("anpr-sqlite-store")


async def test_purge_deletes_in_batches_and_serves_queries_between(store: SqliteStore) -> None:
    await store.add_hits([_hit(n, T0 + n) for n in range(10)])
    await store.add_hits([_hit(100 + n, T0 + 1000 + n) for n in range(2)])
    store.purge_batch = 3
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)

    purged, seq = await asyncio.gather(
        store.purge(hits_before=T0 + 1000, activity_before=0), store.seq_of("h100")
    )

    assert purged["hits"] == 10
    assert seq is not None
    hit_deletes = [i for i, s in enumerate(statements) if s.startswith("DELETE FROM hits")]
    assert len(hit_deletes) == 4  # 3 + 3 + 3 + 1
    query = next(i for i, s in enumerate(statements) if s.startswith("SELECT seq FROM hits"))
    assert hit_deletes[0] < query < hit_deletes[-1]
    assert [h.hit_id for h in await store.hits_after_seq(0, include_covert=True, limit=50)] == [
        "h100",
        "h101",
    ]


async def test_audit_and_session_purges_take_every_batch(store: SqliteStore) -> None:
    store.purge_batch = 2
    for n in range(5):
        await store.append_audit(AuditEntry(T0 + n, "ops", "admin", "a", "t", None, {}))
        await store.create_session(ConsoleSession(f"s{n}", "t", "ops", "admin", "c", T0, T0 + n))
    removed = await store.purge(hits_before=T0, activity_before=T0, audit_before=T0 + 4)
    assert removed == {"hits": 0, "camera_activity": 0, "audit": 4}
    audit = await store.query_audit(since=None, until=None, actor=None, before_seq=None, limit=9)
    assert [a.entry.at for a in audit] == [T0 + 4]
    assert await store.purge_sessions(now=T0 + 3) == 4
    assert await store.get_session("s4", now=T0) is not None


async def test_archive_purge_batches_a_table_without_rowid() -> None:
    reads = SqliteReadStore(None)
    await reads.open()
    try:
        reads.purge_batch = 2
        rows = [
            ArchivedRead(
                f"r{n}",
                "cam-1",
                T0 + n,
                T0 + n,
                "AB12CDE",
                "AB12CDE",
                "AB12CDE",
                None,
                None,
                {},
                b"{}",
            )
            for n in range(5)
        ]
        assert await reads.add_reads(rows) == 5
        assert await reads.purge_reads(before=T0 + 4) == 4
        (left,) = await reads.get_reads("r4", camera_id=None)
        assert left.captured_at == T0 + 4
        assert await reads.get_reads("r0", camera_id=None) == []
    finally:
        await reads.close()


async def test_a_closed_store_refuses_statements(store: SqliteStore) -> None:
    await store.close()
    with pytest.raises(RuntimeError, match="not open"):
        await store.get_hit("h1")
    await store.open()
    assert await store.get_hit("h1") is None


async def test_a_database_locked_past_the_busy_timeout_is_retriable(tmp_path: Path) -> None:
    path = tmp_path / "api.sqlite3"
    store = SqliteStore(path)
    await store.open()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        await store.sql(lambda db: db.execute("PRAGMA busy_timeout=50"))
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable, match="busy") as raised:
            await store.add_hits([_hit(2, T0)])
        assert raised.value.retriable
    finally:
        other.execute("ROLLBACK")
        other.close()
        await store.close()


async def test_two_connections_on_one_file_write_at_once_without_locking_errors(
    tmp_path: Path,
) -> None:
    """The API's store and the read archive share `api.sqlite3` in embedded mode, each with its
    own connection. Placing alerts reads and then writes in one transaction; with a deferred
    `BEGIN`, a commit of the archive between the two failed it at once with "database is
    locked" (a hit was set aside as poison). `BEGIN IMMEDIATE` makes it wait instead."""
    path = tmp_path / "api.sqlite3"
    store, reads = SqliteStore(path), SqliteReadStore(path)
    await store.open()
    await reads.open()
    rounds = 300

    async def hits_and_alerts() -> None:
        for n in range(rounds):
            hit = _hit(n, T0 + n)
            await store.add_hits([hit])
            await store.add_sightings([new_sighting(hit)], lambda _: 60_000)

    async def archive() -> None:
        for n in range(rounds):
            row = ArchivedRead(
                f"r{n}", "cam-1", T0 + n, T0 + n, "AB12CDE", "AB12CDE", "AB12CDE",
                None, None, {}, b"{}",
            )  # fmt: skip
            await reads.add_reads([row])

    try:
        await asyncio.gather(hits_and_alerts(), archive())
        assert await store.max_seq() == rounds
    finally:
        await reads.close()
        await store.close()


async def test_the_hit_store_and_the_archive_open_one_new_file_at_once(tmp_path: Path) -> None:
    # `anpr run` opens api.sqlite3 from both at start-up. Switching a file to WAL while another
    # connection switches it fails at once with "database is locked" (no busy handler): a
    # quarter of these rounds failed the API's start-up before `connect_wal` retried it.
    for round_no in range(60):
        path = tmp_path / f"round{round_no}" / "api.sqlite3"
        hits, reads = SqliteStore(path), SqliteReadStore(path)
        try:
            await asyncio.gather(hits.open(), reads.open())
            assert await hits.add_hits([_hit(1, T0)])
        finally:
            await hits.close()
            await reads.close()


def test_wal_switch_gives_up_after_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "held.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            connect_wal(str(path), busy_timeout_s=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    connect_wal(str(path), busy_timeout_s=0.2).close()
