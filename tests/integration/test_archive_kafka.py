"""The archive consumer through the real broker into the real PostgreSQL: every read the broker
acknowledged is archived exactly once, across a restart of the archiver and a replay; retention
drops old day partitions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import psycopg
import pytest
from pydantic import SecretStr

from anpr.bus.base import Message
from anpr.bus.kafka import KafkaBus
from anpr.clock import now_ms
from anpr.topics import Topics
from api.archive.records import DAY_MS
from api.archive.service import ArchiveService
from api.archive.settings import ArchiveSettings
from tests.support.factories import recent_read
from tests.support.postgres import PgDatabase

pytestmark = pytest.mark.kafka


def settings(prefix: str, db: PgDatabase, **extra: Any) -> ArchiveSettings:
    return ArchiveSettings(
        topic_prefix=prefix,
        database_url=SecretStr(db.url),
        database_migrate_url=SecretStr(db.migrate_url),
        **extra,
    )


async def publish_reads(bus: KafkaBus, prefix: str, reads: list[dict[str, Any]]) -> None:
    topic = Topics.from_prefix(prefix).reads
    await bus.publish(
        [Message(topic, r["camera_id"].encode(), orjson.dumps(r)) for r in reads], timeout_s=10
    )


async def archived(db: PgDatabase) -> list[tuple[str, int]]:
    async with await psycopg.AsyncConnection.connect(db.super_url, autocommit=True) as conn:
        cur = await conn.execute(b"SELECT read_id, count(*) FROM reads GROUP BY read_id")
        return [(str(r[0]), int(r[1])) for r in await cur.fetchall()]


async def until_async(check: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_every_read_archived_exactly_once_across_a_restart(
    kafka_bus: KafkaBus, kafka_bootstrap: str, topic_prefix: str, pg_database: PgDatabase
) -> None:
    config = settings(topic_prefix, pg_database, archive_poll_ms=50)
    first = [recent_read(camera_id=f"cam-{i % 5}") for i in range(300)]
    second = [recent_read(camera_id=f"cam-{i % 5}") for i in range(200)]
    await publish_reads(kafka_bus, topic_prefix, first[:150])

    def count_reaches(n: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return sum(c for _, c in await archived(pg_database)) >= n

        return check

    archiver = ArchiveService(config, kafka_bus, poll_ms=50)
    await archiver.start()
    # Stop the archiver while reads are still being published and archived.
    await publish_reads(kafka_bus, topic_prefix, first[150:])
    await until_async(count_reaches(100))
    await archiver.stop()
    # While it is down: more reads, and a resend of reads already archived (a gateway retry).
    await publish_reads(kafka_bus, topic_prefix, second + first[:50])

    restarted = ArchiveService(config, kafka_bus, poll_ms=50)
    await restarted.start()
    try:
        await until_async(count_reaches(len(first) + len(second)))
        rows = await archived(pg_database)
        assert sorted(rid for rid, _ in rows) == sorted(r["read_id"] for r in first + second)
        assert {c for _, c in rows} == {1}
        stored = restarted.metrics.reads.labels("stored")._value.get()
        duplicate = restarted.metrics.reads.labels("duplicate")._value.get()
        assert stored + duplicate >= len(second) + 50
        assert duplicate >= 50
    finally:
        await restarted.stop()


async def test_retention_drops_old_partitions(
    kafka_bus: KafkaBus, topic_prefix: str, pg_database: PgDatabase
) -> None:
    now = now_ms()
    clock = [now]
    config = settings(topic_prefix, pg_database, read_retention_days=5)
    ages = [0, 1, 2, 3, 4]
    reads = [recent_read(captured_at_ms=now - d * DAY_MS) for d in ages]
    archiver = ArchiveService(config, kafka_bus, poll_ms=50, clock=lambda: clock[0])
    await archiver.start()
    try:
        await publish_reads(kafka_bus, topic_prefix, reads)

        async def all_in() -> bool:
            return len(await archived(pg_database)) == len(reads)

        await until_async(all_in)
        assert await archiver.apply_retention() == 0
        clock[0] = now + 3 * DAY_MS  # reads older than now - 2 days are past retention
        dropped = await archiver.apply_retention()
        assert dropped in (2, 3)  # days -4, -3 always; day -2 once all of it is past
        left = {rid for rid, _ in await archived(pg_database)}
        assert reads[0]["read_id"] in left and reads[1]["read_id"] in left
        assert reads[3]["read_id"] not in left and reads[4]["read_id"] not in left
        # A late read past retention is not written at all.
        await publish_reads(kafka_bus, topic_prefix, [recent_read(captured_at_ms=now - 4 * DAY_MS)])
        expired = archiver.metrics.reads.labels("expired")

        async def counted() -> bool:
            return bool(expired._value.get() == 1)

        await until_async(counted)
        assert reads[4]["read_id"] not in {rid for rid, _ in await archived(pg_database)}
    finally:
        await archiver.stop()
