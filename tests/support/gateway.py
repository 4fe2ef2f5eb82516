"""Running a gateway app against a bus in tests, with a registered integrator and cameras."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from anpr.bus.base import Bus, Record
from anpr.bus.local import LocalBus
from anpr.registry import CameraSpec, RegistryWriter
from anpr.settings import CommonSettings
from anpr.topics import Topics
from ingest.app import create_app
from ingest.settings import GatewaySettings

ADMIN_TOKEN = "admin-" + "x" * 40


@dataclass
class GatewayHarness:
    client: httpx.AsyncClient
    bus: Bus
    topics: Topics
    token: str
    other_token: str
    app: Any

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def basic(self, user: str, token: str) -> dict[str, str]:
        encoded = base64.b64encode(f"{user}:{token}".encode()).decode()
        return {"Authorization": f"Basic {encoded}"}


async def read_topic(
    bus: Bus, topic: str, *, expect: int | None = None, timeout_s: float = 10.0
) -> list[Record]:
    """Every record on `topic` from the start; with `expect`, wait until that many arrived and
    then a little longer so extra (duplicate) records would be seen too."""
    consumer = bus.consumer([topic], group_id=None, from_beginning=True)
    await consumer.start()
    records: list[Record] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        quiet_rounds = 0
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=10_000)
            records.extend(batch)
            if expect is None or len(records) >= expect:
                quiet_rounds = quiet_rounds + 1 if not batch else 0
                if quiet_rounds >= 3:
                    break
    finally:
        await consumer.stop()
    return records


def values(records: list[Record]) -> list[dict[str, Any]]:
    return [orjson.loads(r.value) for r in records if r.value is not None]


@asynccontextmanager
async def running_gateway(
    bus: Bus, *, register: bool = True, **settings: Any
) -> AsyncIterator[GatewayHarness]:
    """A gateway on `bus`; with `register`, two integrators and their cameras are registered
    first (a second replica on the same topics passes `register=False` and shares them)."""
    config = GatewaySettings(admin_token=SecretStr(ADMIN_TOKEN), **settings)
    topics = Topics.from_prefix(config.topic_prefix)
    writer = RegistryWriter(bus, topics.registry)
    token = other = ""
    if register:
        token = await writer.create_integrator("int-1", "Integrator One")
        other = await writer.create_integrator("int-2", "Integrator Two")
        await writer.put_camera(
            CameraSpec(camera_id="cam-1", integrator_id="int-1", name="One", zones=["z1"])
        )
        await writer.put_camera(CameraSpec(camera_id="cam-2", integrator_id="int-2", name="Two"))
    app = create_app(config, bus)
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app.state.service.follower.caught_up.wait(), 20)
        await asyncio.wait_for(app.state.service.peers.loop.caught_up.wait(), 20)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield GatewayHarness(client, bus, topics, token, other, app)


@asynccontextmanager
async def gateway_on_local_bus(**settings: Any) -> AsyncIterator[GatewayHarness]:
    """`running_gateway` on a fresh in-memory `LocalBus`, stopped afterwards."""
    bus = LocalBus(None, Topics.from_prefix("anpr.").specs(CommonSettings()))
    await bus.start()
    try:
        async with running_gateway(bus, **settings) as harness:
            yield harness
    finally:
        await bus.stop()
