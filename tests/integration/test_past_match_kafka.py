"""Past-read matching through the real broker, on SQLite and on PostgreSQL.

The archive, the matcher and the API run in this process on one Kafka bus. A read captured at
"09:00" (an hour ago) is archived; an entry for its plate is added at "10:00" (now); the
historical hit appears once, in the hits query and on the stream, and the list shows the job.
A read matched both live and in the past (a changed entry re-runs past matching) stays one hit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from anpr.bus.base import Message
from anpr.bus.kafka import KafkaBus
from anpr.clock import ms_to_rfc3339, now_ms
from anpr.hits import derive_hit_id
from anpr.settings import CommonSettings
from anpr.topics import Topics
from api.app import create_app as create_api
from api.archive.app import create_app as create_archive
from api.archive.service import ArchiveService
from api.archive.settings import ArchiveSettings
from api.service import ApiService
from api.settings import ApiSettings
from matcher.app import create_app as create_matcher
from matcher.service import MatcherService
from matcher.settings import MatcherSettings
from tests.unit.api_fixtures import ADMIN_TOKEN, SseClient, make_read

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HOUR_MS = 3600 * 1000


@dataclass
class Stack:
    api: FastAPI
    client: httpx.AsyncClient
    bus: KafkaBus
    topics: Topics
    archive: ArchiveService


async def until(predicate: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if request.param == "sqlite":
        return {"data_dir": tmp_path}
    db = request.getfixturevalue("pg_database")
    return {
        "data_dir": tmp_path,
        "database_url": SecretStr(db.url),
        "database_migrate_url": SecretStr(db.migrate_url),
    }


@contextlib.asynccontextmanager
async def stack(bootstrap: str, prefix: str, database: dict[str, Any]) -> AsyncIterator[Stack]:
    common: dict[str, Any] = {
        "admin_token": SecretStr(ADMIN_TOKEN),
        "kafka_bootstrap": bootstrap,
        "topic_prefix": prefix,
        "topic_partitions": 3,
        **database,
    }
    topics = Topics.from_prefix(prefix)
    bus = KafkaBus(bootstrap, topics.specs(CommonSettings(**common)), client_id="past-match")
    await bus.start()
    await bus.ensure_topics()
    api = create_api(
        ApiSettings(**common, consumer_poll_ms=50, stream_poll_ms=50, stream_keepalive_s=0.2),
        bus,
    )
    matcher = create_matcher(MatcherSettings(**common, matcher_poll_ms=50), bus)
    archive = create_archive(ArchiveSettings(**common, archive_poll_ms=50), bus)
    try:
        async with (
            api.router.lifespan_context(api),
            matcher.router.lifespan_context(matcher),
            archive.router.lifespan_context(archive),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=api), base_url="http://api"
            ) as client,
        ):
            api_service: ApiService = api.state.service
            matcher_service: MatcherService = matcher.state.service
            archive_service: ArchiveService = archive.state.service
            await until(
                lambda: api_service.ready and matcher_service.ready and archive_service.ready,
                timeout_s=90,
            )
            yield Stack(api, client, bus, topics, archive_service)
    finally:
        await bus.stop()


async def publish_reads(s: Stack, reads: list[dict[str, Any]]) -> None:
    await s.bus.publish(
        [Message(s.topics.reads, r["camera_id"].encode(), orjson.dumps(r)) for r in reads],
        timeout_s=10,
    )


def read_at(captured: int, plate: str, read_id: str) -> dict[str, Any]:
    return make_read(
        read_id=read_id,
        captured_at=ms_to_rfc3339(captured),
        captured_at_ms=captured,
        received_at=captured + 400,
        plate=plate,
        plate_norm=plate,
    )


async def job_of(s: Stack, list_id: str) -> dict[str, Any] | None:
    got = await s.client.get(f"/v1/hotlists/{list_id}", headers=ADMIN)
    assert got.status_code == 200, got.text
    job: dict[str, Any] | None = got.json()["past_match"]
    return job


async def until_job(s: Stack, list_id: str, version: int, state: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        job = await job_of(s, list_id)
        if job is not None and job["version"] == version and job["state"] == state:
            return job
        assert asyncio.get_running_loop().time() < deadline, f"job not {state}: {job}"
        await asyncio.sleep(0.1)


async def hits_of(s: Stack, list_id: str) -> list[dict[str, Any]]:
    got = await s.client.get(f"/v1/hits?list_id={list_id}&limit=100", headers=ADMIN)
    assert got.status_code == 200, got.text
    items: list[dict[str, Any]] = got.json()["items"]
    return items


async def until_hits(s: Stack, list_id: str, count: int) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + 60
    while len(items := await hits_of(s, list_id)) < count:
        assert asyncio.get_running_loop().time() < deadline, f"hits: {items}"
        await asyncio.sleep(0.1)
    return items


async def test_a_read_of_0900_gives_one_historical_hit_for_an_entry_added_at_1000(
    kafka_bootstrap: str, topic_prefix: str, database: dict[str, Any]
) -> None:
    now = now_ms()
    nine = now - HOUR_MS  # "09:00"; the entry is added at "10:00", now
    reads = [
        read_at(nine, "AB123CD", "r-0900"),
        read_at(nine + 60_000, "A8123CD", "r-0901-ocr"),  # B/8: an OCR look-alike
        read_at(nine + 120_000, "XY999ZZ", "r-0902-other"),
        read_at(now - 30 * HOUR_MS, "AB123CD", "r-yesterday"),  # outside the 24 h window
    ]
    async with stack(kafka_bootstrap, topic_prefix, database) as s:
        put = await s.client.put(
            "/v1/hotlists/stolen",
            json={"name": "Stolen", "category": "stolen", "priority": 1, "match": "ocr"},
            headers=ADMIN,
        )
        assert put.status_code == 200, put.text
        assert put.json()["past_match"] is None
        await publish_reads(s, reads)
        stored = s.archive.metrics.reads.labels("stored")
        await until(lambda: stored._value.get() >= len(reads))

        async with SseClient(s.api, "/v1/hits/stream", ADMIN) as stream:
            added = await s.client.post(
                "/v1/hotlists/stolen/entries",
                json=[{"entry_id": "stolen-1", "plate": "AB 123 CD", "reason": "stolen at 10:00"}],
                headers=ADMIN,
            )
            assert added.status_code == 200, added.text
            version = added.json()["version"]
            job = await until_job(s, "stolen", version, "done")
            assert job["job_id"] == f"stolen@{version}"
            assert (job["entries"], job["candidates"], job["hits"]) == (1, 2, 2)
            assert not job["truncated"]

            hits = await until_hits(s, "stolen", 2)
            by_read = {h["read"]["read_id"]: h for h in hits}
            assert sorted(by_read) == ["r-0900", "r-0901-ocr"]
            assert all(h["historical"] is True for h in hits)
            assert by_read["r-0900"]["match"]["kind"] == "exact"
            assert by_read["r-0901-ocr"]["match"]["kind"] == "ocr"
            assert by_read["r-0900"]["hit_id"] == derive_hit_id(
                "r-0900", "cam-1", "stolen", "stolen-1"
            )
            streamed = [e.id for e in await stream.hits(2, timeout_s=20)]
            assert sorted(streamed) == sorted(by_read[r]["hit_id"] for r in by_read)

            # A read matched live, then again in the past when the entry changes: one hit.
            live = read_at(now_ms() - 1000, "AB123CD", "r-live")
            await publish_reads(s, [live])
            hits = await until_hits(s, "stolen", 3)
            live_hit = next(h for h in hits if h["read"]["read_id"] == "r-live")
            assert live_hit["historical"] is False
            assert (await stream.next_hit(timeout_s=20)).id == live_hit["hit_id"]

            changed = await s.client.post(
                "/v1/hotlists/stolen/entries",
                json=[{"entry_id": "stolen-1", "plate": "AB123CD", "country": "BE"}],
                headers=ADMIN,
            )
            assert changed.status_code == 200, changed.text
            job = await until_job(s, "stolen", changed.json()["version"], "done")
            assert (job["candidates"], job["hits"]) == (3, 3)  # all three again: same hit_ids

            # A new entry and a live read of it: the stream's next hit is that one, so none of
            # the hits matched again was streamed twice.
            sentinel = await s.client.post(
                "/v1/hotlists/stolen/entries",
                json=[{"entry_id": "sentinel", "plate": "QQ777"}],
                headers=ADMIN,
            )
            assert sentinel.status_code == 200, sentinel.text
            await until_job(s, "stolen", sentinel.json()["version"], "done")
            await publish_reads(s, [read_at(now_ms() - 500, "QQ777", "r-sentinel")])
            nxt = await stream.next_hit(timeout_s=20)
            assert orjson.loads(nxt.data)["read"]["read_id"] == "r-sentinel"

        hits = await hits_of(s, "stolen")
        assert sorted(h["read"]["read_id"] for h in hits) == [
            "r-0900",
            "r-0901-ocr",
            "r-live",
            "r-sentinel",
        ]
        assert {h["read"]["read_id"]: h["historical"] for h in hits} == {
            "r-0900": True,
            "r-0901-ocr": True,
            "r-live": False,
            "r-sentinel": False,
        }
