"""The embedded bus (`anpr.bus.local`) when its SQLite file cannot take a write: the file locked
by another process (`anpr admin` beside `anpr run`) or the disk full. Such a failure is the bus
being away for a while: retriable, answered 503 by the gateway, and a batch whose hits cannot be
published is redone, never set aside as poison."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from anpr.bus.base import Message, Record
from anpr.bus.local import LocalBus
from anpr.consume import ConsumerLoop
from anpr.errors import BusUnavailable
from anpr.runtime import Runtime
from anpr.settings import CommonSettings
from anpr.supervise import RestartPolicy
from anpr.topics import Topics
from tests.conftest import MakeRead
from tests.support.gateway import gateway_on_local_bus, read_topic
from tests.support.wait import until

TOPICS = Topics.from_prefix("anpr.")


@pytest.fixture
async def file_bus(tmp_path: Path) -> AsyncIterator[LocalBus]:
    bus = LocalBus(tmp_path / "bus.sqlite3", TOPICS.specs(CommonSettings()))
    await bus.start()
    yield bus
    await bus.stop()


def fill_disk(bus: LocalBus) -> None:
    """No page more for the file: what SQLite meets on a full disk (SQLITE_FULL)."""
    pages = bus.db.execute("PRAGMA page_count").fetchone()[0]
    bus.db.execute(f"PRAGMA max_page_count={pages}")


def free_disk(bus: LocalBus) -> None:
    bus.db.execute("PRAGMA max_page_count=1073741823")


async def test_a_publish_on_a_locked_file_is_retriable(file_bus: LocalBus, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "bus.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing
    file_bus.db.execute("PRAGMA busy_timeout=50")
    try:
        with pytest.raises(BusUnavailable):
            await file_bus.publish([Message(TOPICS.reads, b"cam", b"r1")], timeout_s=1)
        consumer = file_bus.consumer([TOPICS.reads], group_id="g", from_beginning=True)
        await consumer.start()
        with pytest.raises(BusUnavailable):
            await consumer.commit({(TOPICS.reads, 0): 0})
    finally:
        other.execute("ROLLBACK")
        other.close()
    await file_bus.publish([Message(TOPICS.reads, b"cam", b"r2")], timeout_s=1)
    assert file_bus.end_offset(TOPICS.reads) == 1


async def test_a_publish_on_a_full_disk_is_retriable_and_says_why(file_bus: LocalBus) -> None:
    await file_bus.publish([Message(TOPICS.reads, b"cam", b"r0")], timeout_s=1)
    fill_disk(file_bus)
    with pytest.raises(BusUnavailable, match="full"):
        await file_bus.publish([Message(TOPICS.reads, b"cam", b"x" * 200_000)], timeout_s=1)
    assert not file_bus.db.in_transaction
    free_disk(file_bus)
    await file_bus.publish([Message(TOPICS.reads, b"cam", b"r1")], timeout_s=1)
    assert file_bus.end_offset(TOPICS.reads) == 2


async def test_the_gateway_answers_503_when_the_embedded_bus_file_is_full(
    make_read: MakeRead,
) -> None:
    async with gateway_on_local_bus() as gw:
        assert isinstance(gw.bus, LocalBus)
        fill_disk(gw.bus)
        read = make_read(read_id="full-1", images={"plate_jpeg_b64": "/9j/" + "A" * 200_000})
        response = await gw.client.post("/v1/reads", json=read, headers=gw.auth())
        assert response.status_code == 503, response.text
        assert "Retry-After" in response.headers
        free_disk(gw.bus)
        response = await gw.client.post("/v1/reads", json=read, headers=gw.auth())
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == 1


async def test_reads_whose_hits_cannot_be_stored_are_redone_not_dead_lettered(
    file_bus: LocalBus,
) -> None:
    """The matcher's shape: a batch of reads in, a hit per read published. On a full disk the
    reads are redone once there is room, not set aside (and committed) as poison."""
    runtime = Runtime(
        process="test",
        bus=file_bus,
        registry=CollectorRegistry(),
        deadletter_topic=TOPICS.deadletter,
        policy=RestartPolicy(backoff_initial_s=0.01, backoff_max_s=0.05),
    )

    async def handle(records: Sequence[Record]) -> None:
        hits = [Message(TOPICS.hits, r.key or b"", b"h" * 100_000) for r in records]
        await file_bus.publish(hits, timeout_s=1)

    loop = ConsumerLoop(
        runtime, [TOPICS.reads], handle, name="reads", group_id="m", from_beginning=True,
        poll_ms=20,
    )  # fmt: skip
    await file_bus.publish(
        [Message(TOPICS.reads, b"r%d" % i, b"read") for i in range(3)], timeout_s=1
    )
    fill_disk(file_bus)
    loop.start()
    try:
        restarts: Any = runtime.registry.get_sample_value
        await until(
            lambda: restarts(
                "anpr_task_restarts_total",
                {"process": "test", "task": "reads", "reason": "retriable"},
            )
        )
        assert file_bus.end_offset(TOPICS.deadletter) == 0
        free_disk(file_bus)
        await until(lambda: file_bus.end_offset(TOPICS.hits) == 3)
        assert file_bus.end_offset(TOPICS.deadletter) == 0
        assert len(await read_topic(file_bus, TOPICS.hits, timeout_s=0.3)) == 3
        assert runtime.supervisor.healthy
    finally:
        await runtime.stop()
