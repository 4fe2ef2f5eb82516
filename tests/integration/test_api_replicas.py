"""Two API replicas on one PostgreSQL database, through the real broker, behave as one:
an acknowledgement on one is a 409 on the other, both stream the same hit ids, the audit log is
shared, and a replica that restarts loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from anpr.bus.base import Message
from anpr.bus.kafka import KafkaBus
from anpr.topics import Topics
from api.app import create_app
from api.service import ApiService
from api.settings import ApiSettings
from tests.support.postgres import PgDatabase
from tests.unit.api_fixtures import ADMIN_TOKEN, SseClient, make_hit

pytestmark = pytest.mark.kafka
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class Replica:
    name: str
    service: ApiService
    client: httpx.AsyncClient
    app: Any
    bus: KafkaBus


async def until(predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def replica(name: str, bootstrap: str, prefix: str, db: PgDatabase) -> AsyncIterator[Replica]:
    settings = ApiSettings(
        admin_token=SecretStr(ADMIN_TOKEN),
        kafka_bootstrap=bootstrap,
        topic_prefix=prefix,
        topic_partitions=3,
        database_url=SecretStr(db.url),
        database_migrate_url=SecretStr(db.migrate_url),
        database_pool_max=4,
        consumer_poll_ms=50,
        stream_poll_ms=50,
        stream_keepalive_s=0.2,
    )
    bus = KafkaBus(bootstrap, Topics.from_prefix(prefix).specs(settings), client_id=name)
    await bus.start()
    await bus.ensure_topics()
    app = create_app(settings, bus)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                service: ApiService = app.state.service
                try:
                    await until(lambda: service.ready, timeout_s=90)
                except AssertionError as exc:
                    state = (
                        service.registry_loaded,
                        service.hotlists.loaded,
                        service.hits_caught_up,
                        [
                            (loop.name, loop.ready, loop.state.value)
                            for loop in service.runtime.loops
                        ],
                    )
                    raise AssertionError(f"{name} not ready: {state}") from exc
                yield Replica(name, service, client, app, bus)
    finally:
        await bus.stop()


async def publish_hits(bus: KafkaBus, prefix: str, hits: list[dict[str, Any]]) -> None:
    topic = Topics.from_prefix(prefix).hits
    await bus.publish(
        [Message(topic, h["hit_id"].encode(), orjson.dumps(h)) for h in hits], timeout_s=10.0
    )


async def test_two_replicas_behave_as_one(
    kafka_bootstrap: str, topic_prefix: str, pg_database: PgDatabase, kafka_bus: KafkaBus
) -> None:
    async with replica("api-a", kafka_bootstrap, topic_prefix, pg_database) as a:
        async with replica("api-b", kafka_bootstrap, topic_prefix, pg_database) as b:
            assert a.service.store.store_id == b.service.store.store_id
            created = await a.client.post(
                "/v1/tokens", json={"role": "operator", "name": "op-a"}, headers=ADMIN
            )
            assert created.status_code == 201, created.text
            token = created.json()["token"]
            operator = {"Authorization": f"Bearer {token}"}
            await until(lambda: b.service.registry.principal(token) is not None)

            hits = [make_hit(camera_id=f"cam-{i % 4}") for i in range(12)]
            async with (
                SseClient(a.app, "/v1/hits/stream", operator) as stream_a,
                SseClient(b.app, "/v1/hits/stream", operator) as stream_b,
            ):
                await publish_hits(kafka_bus, topic_prefix, hits)
                got_a = [e.id for e in await stream_a.hits(len(hits), timeout_s=20)]
                got_b = [e.id for e in await stream_b.hits(len(hits), timeout_s=20)]
            assert sorted(got_a) == sorted(h["hit_id"] for h in hits)
            assert got_a == got_b  # the same ids, in the same (store) order

            target = hits[0]["hit_id"]
            body = {"outcome": "confirmed", "note": "stopped at the junction"}
            path = f"/v1/hits/{target}/acknowledge"
            first = await a.client.post(path, json=body, headers=operator)
            assert first.status_code == 200, first.text
            second = await b.client.post(path, json=body, headers=operator)
            assert second.status_code == 409, second.text
            shown = await b.client.get(f"/v1/hits/{target}", headers=operator)
            assert shown.json()["status"] == "acknowledged"

            audit_a = (await a.client.get("/v1/audit", headers=ADMIN)).json()["items"]
            audit_b = (await b.client.get("/v1/audit", headers=ADMIN)).json()["items"]
            assert audit_a == audit_b
            acks = [e for e in audit_b if e["action"] == "hit.acknowledge"]
            assert [e["target"] for e in acks] == [target]
            last_seen = got_b[-1]

        # Replica B is down; hits keep coming; B restarted on the same database misses none.
        later = [make_hit() for _ in range(5)]
        await publish_hits(kafka_bus, topic_prefix, later)
        async with replica("api-b2", kafka_bootstrap, topic_prefix, pg_database) as b2:
            resumed = {**operator, "Last-Event-ID": last_seen}
            async with SseClient(b2.app, "/v1/hits/stream", resumed) as stream:
                replayed = [e.id for e in await stream.hits(len(later), timeout_s=20)]
            assert sorted(replayed) == sorted(h["hit_id"] for h in later)

    # Every replica down: what arrives meanwhile is stored by the next one to start.
    last = [make_hit() for _ in range(3)]
    await publish_hits(kafka_bus, topic_prefix, last)
    async with replica("api-c", kafka_bootstrap, topic_prefix, pg_database) as c:
        wanted = len(hits) + len(later) + len(last)
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            listed = await c.client.get("/v1/hits?limit=100", headers=operator)
            done = len(listed.json()["items"]) == wanted
            if done or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.1)
        ids = [h["hit_id"] for h in listed.json()["items"]]
        assert sorted(ids) == sorted(h["hit_id"] for h in hits + later + last)
