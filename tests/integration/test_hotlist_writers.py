"""Writes to one hotlist take turns across API replicas sharing PostgreSQL
(`api.store.pg_hotlist_lock`): the lock itself on the real server, then two replicas writing
one list at once through the real broker, where a write planned before the other replica's
change and committed after it undid that change."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from anpr.hotlists import ListConfig
from api.hotlists import service as hotlist_service
from api.store import pg_hotlist_lock
from api.store.base import StoreUnavailable
from api.store.postgres import PostgresStore
from tests.integration.test_api_replicas import ADMIN, replica, until
from tests.support.postgres import PgDatabase

pytestmark = pytest.mark.kafka


async def waiting_for_advisory_lock(db: PgDatabase) -> int:
    """Sessions of this database waiting for an advisory lock, as the server sees them."""
    async with await psycopg.AsyncConnection.connect(db.url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            " WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def eventually_waiting(db: PgDatabase, count: int) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while await waiting_for_advisory_lock(db) != count:
        assert asyncio.get_running_loop().time() < deadline, "no writer waiting at the server"
        await asyncio.sleep(0.02)


async def test_writers_of_one_list_take_turns_and_other_lists_do_not_wait(
    pg_database: PgDatabase,
) -> None:
    one, two = (
        PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url),
        PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url),
    )
    await one.open()
    await two.open()
    try:
        order: list[str] = []

        async def second() -> None:
            async with two.hotlist_writer("list-a"):
                order.append("second")

        async with one.hotlist_writer("list-a"):
            waiting = asyncio.create_task(second())
            await eventually_waiting(pg_database, 1)
            async with two.hotlist_writer("list-b"):  # another list: at once
                order.append("other list")
            order.append("first done")
        await asyncio.wait_for(waiting, 10)
        assert order == ["other list", "first done", "second"]
    finally:
        await one.close()
        await two.close()


async def test_a_writer_waiting_too_long_is_told_to_retry(
    pg_database: PgDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_hotlist_lock, "WAIT_S", 1)
    store = PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url)
    await store.open()
    try:
        async with store.hotlist_writer("list-a"):
            with pytest.raises(StoreUnavailable, match="another API replica"):
                async with store.hotlist_writer("list-a"):
                    pass
    finally:
        await store.close()


async def test_a_write_cancelled_while_holding_the_lock_releases_it(
    pg_database: PgDatabase,
) -> None:
    store = PostgresStore(pg_database.url, migrate_url=pg_database.migrate_url)
    await store.open()
    held = asyncio.Event()

    async def stuck_write() -> None:
        async with store.hotlist_writer("list-a"):
            held.set()
            await asyncio.Event().wait()

    try:
        task = asyncio.create_task(stuck_write())
        await asyncio.wait_for(held.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with asyncio.timeout(10), store.hotlist_writer("list-a"):
            pass
    finally:
        await store.close()


async def test_a_write_planned_before_another_replicas_change_does_not_undo_it(
    kafka_bootstrap: str,
    topic_prefix: str,
    pg_database: PgDatabase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Replica B upserts entries into a list while replica A raises its priority. B has read the
    list when A's request comes; B then waits (before it plans and takes its version) until A's
    change is committed or A waits for the lock at the server. Writers not taking turns, B
    planned from the list as it was, at a later version, and its commit put the priority back
    to 1."""
    b_planning = asyncio.Event()
    a_done = asyncio.Event()
    read_list = hotlist_service.HotlistService._now

    async def read_then_meet(
        self: hotlist_service.HotlistService, config: ListConfig
    ) -> ListConfig:
        current = await read_list(self, config)
        b_planning.set()  # only the upsert reads this way; A's configuration change does not
        deadline = asyncio.get_running_loop().time() + 20
        while not a_done.is_set() and await waiting_for_advisory_lock(pg_database) == 0:
            assert asyncio.get_running_loop().time() < deadline, "the writes never met"
            await asyncio.sleep(0.02)
        return current

    monkeypatch.setattr(hotlist_service.HotlistService, "_now", read_then_meet)
    config = {"name": "Stolen", "category": "stolen", "match": "exact"}
    async with (
        replica("api-a", kafka_bootstrap, topic_prefix, pg_database) as a,
        replica("api-b", kafka_bootstrap, topic_prefix, pg_database) as b,
    ):
        created = await a.client.put(
            "/v1/hotlists/stolen", json={**config, "priority": 1}, headers=ADMIN
        )
        assert created.status_code == 200, created.text
        await until(lambda: b.service.hotlists.book.config("stolen") is not None)
        upserted = asyncio.create_task(
            b.client.post(
                "/v1/hotlists/stolen/entries",
                json=[{"entry_id": "e1", "plate": "AB12CDE"}],
                headers=ADMIN,
            )
        )
        await asyncio.wait_for(b_planning.wait(), 20)
        raised = await a.client.put(
            "/v1/hotlists/stolen", json={**config, "priority": 5}, headers=ADMIN
        )
        a_done.set()
        assert raised.status_code == 200, raised.text
        answer = await upserted
        assert answer.status_code == 200, answer.text
        last = max(raised.json()["version"], answer.json()["version"])
        for r in (a, b):
            book = r.service.hotlists.book
            await until(lambda book=book: book.committed_version("stolen") >= last)
            now = book.config("stolen")
            assert now is not None and now.priority == 5, (r.name, now)
            assert set(book.entry_ids("stolen")) == {"e1"}
