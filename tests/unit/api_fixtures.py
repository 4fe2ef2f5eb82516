"""Helpers for the API tests: a running app on the in-memory bus, tokens per role, hit and read
factories published straight on the bus (standing in for the matcher and the gateway), and a
small ASGI driver for server-sent events (httpx's ASGI transport buffers whole responses)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from anpr.bus.base import Message
from anpr.bus.local import LocalBus
from anpr.clock import now_ms
from anpr.hits import derive_hit_id
from anpr.topics import Topics
from api.app import create_app
from api.archive.sqlite_reads import SqliteReadStore
from api.service import ApiService
from api.settings import ApiSettings
from api.store.sqlite import SqliteStore
from tests.support.factories import recent_read

ADMIN_TOKEN = "test-admin-token-0123456789abcdef0123456789"
ROLES = ("operator", "supervisor", "admin", "auditor", "manager", "investigator")


def api_settings(**overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "admin_token": SecretStr(ADMIN_TOKEN),
        "stream_keepalive_s": 0.2,
        "consumer_poll_ms": 50,
        "health_refresh_s": 60.0,
        "retention_interval_s": 3600.0,
    }
    values.update(overrides)
    return ApiSettings(**values)


def make_hit(
    *,
    camera_id: str = "cam-1",
    list_id: str = "stolen",
    entry_id: str = "e-1",
    plate: str = "1ABC123",
    covert: bool = False,
    test: bool = False,
    matched_at: int | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    read = recent_read(camera_id=camera_id, plate=plate, plate_norm=plate)
    hit: dict[str, Any] = {
        "v": 1,
        "hit_id": derive_hit_id(read["read_id"], camera_id, list_id, entry_id),
        "read": read,
        "list_id": list_id,
        "entry_id": entry_id,
        "category": "stolen",
        "priority": 2,
        "covert": covert,
        "test": test,
        "reason": "stolen vehicle",
        "action": "stop and check",
        "match": {
            "kind": "exact",
            "source": "plate",
            "read_plate": plate,
            "entry_plate": plate,
            "distance": 0,
        },
        "matched_at": matched_at if matched_at is not None else now_ms(),
        "latency_ms": {"ingest_to_match": 12, "capture_to_match": 2500},
    }
    hit.update(overrides)
    return hit


@dataclass
class ApiHarness:
    bus: LocalBus
    topics: Topics
    service: ApiService
    client: httpx.AsyncClient
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str = "admin") -> dict[str, str]:
        token = ADMIN_TOKEN if role == "bootstrap" else self.tokens[role]
        return {"Authorization": f"Bearer {token}"}

    async def publish(self, topic: str, key: str, value: dict[str, Any] | bytes | None) -> None:
        raw = orjson.dumps(value) if isinstance(value, dict) else value
        await self.bus.publish([Message(topic, key.encode(), raw)], timeout_s=1.0)

    async def publish_hits(self, *hits: dict[str, Any]) -> None:
        await self.bus.publish(
            [Message(self.topics.hits, h["hit_id"].encode(), orjson.dumps(h)) for h in hits],
            timeout_s=1.0,
        )
        await self.until(lambda: all(self._stored(h["hit_id"]) for h in hits))

    def _stored(self, hit_id: str) -> bool:
        store = self.service.store
        assert isinstance(store, SqliteStore)
        row = store.db.execute("SELECT 1 FROM hits WHERE hit_id=?", (hit_id,)).fetchone()
        return row is not None

    async def until(self, predicate: Callable[[], bool], timeout_s: float = 2.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.005)

    async def register_camera(self, camera_id: str, **fields: Any) -> dict[str, Any]:
        integrator = fields.pop("integrator_id", "int-1")
        if integrator not in self.service.registry.integrators:
            response = await self.client.post(
                "/v1/integrators",
                json={"integrator_id": integrator, "name": integrator},
                headers=self.auth(),
            )
            assert response.status_code == 201, response.text
        body = {"camera_id": camera_id, "integrator_id": integrator, "name": camera_id, **fields}
        response = await self.client.post("/v1/cameras", json=body, headers=self.auth())
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


@contextlib.asynccontextmanager
async def running_api(
    *, hits_before: Sequence[dict[str, Any]] = (), **settings: Any
) -> AsyncIterator[ApiHarness]:
    """The API on a fresh bus and an empty store; `hits_before` are on the topic before it."""
    config = api_settings(**settings)
    topics = Topics.from_prefix(config.topic_prefix)
    bus = LocalBus(None, topics.specs(config))
    await bus.start()
    if hits_before:
        await bus.publish(
            [Message(topics.hits, h["hit_id"].encode(), orjson.dumps(h)) for h in hits_before],
            timeout_s=1.0,
        )
    app = create_app(config, bus, store=SqliteStore(None), reads=SqliteReadStore(None))
    service: ApiService = app.state.service
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                harness = ApiHarness(bus, topics, service, client, app)
                await harness.until(lambda: service.ready)
                for role in ROLES:
                    response = await client.post(
                        "/v1/tokens",
                        json={"role": role, "name": f"{role}-1"},
                        headers=harness.auth("bootstrap"),
                    )
                    assert response.status_code == 201, response.text
                    harness.tokens[role] = response.json()["token"]
                response = await client.post(
                    "/v1/integrators",
                    json={"integrator_id": "int-1", "name": "Integrator one"},
                    headers=harness.auth("bootstrap"),
                )
                assert response.status_code == 201, response.text
                harness.tokens["integrator"] = response.json()["token"]
                yield harness
    finally:
        await bus.stop()


@dataclass
class SseEvent:
    event: str | None = None
    id: str | None = None
    data: str | None = None
    comments: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return orjson.loads(self.data or "null")


class SseClient:
    """Drives one streaming GET against the ASGI app and parses what it sends."""

    def __init__(self, app: Any, path: str, headers: dict[str, str]) -> None:
        raw_path, _, query = path.partition("?")
        self._scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("api", 80),
        }
        self._app = app
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self._started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._disconnect = asyncio.Event()
        self._sent_request = False
        self._buffer = b""
        self._task: asyncio.Task[None] | None = None
        self.headers: dict[str, str] = {}
        self.finished = asyncio.Event()
        self.reading = asyncio.Event()  # cleared: the client does not read (a slow client)
        self.reading.set()
        self.writes = 0  # body chunks received
        self.held = asyncio.Event()  # set once a write waits for the client to read

    async def _receive(self) -> dict[str, Any]:
        if not self._sent_request:
            self._sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._disconnect.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
            self._started.set_result(message["status"])
        elif message["type"] == "http.response.body":
            if not self.reading.is_set():
                self.held.set()
            await self.reading.wait()
            if message.get("body"):
                self.writes += 1
                await self._chunks.put(message["body"])
            if not message.get("more_body"):
                self.finished.set()

    async def __aenter__(self) -> SseClient:
        self._task = asyncio.create_task(self._app(self._scope, self._receive, self._send))
        self.status = await asyncio.wait_for(self._started, 2.0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._disconnect.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 2.0)

    async def next_event(self, timeout_s: float = 2.0) -> SseEvent:
        """The next event block (comment-only blocks included)."""
        while b"\n\n" not in self._buffer:
            chunk = await asyncio.wait_for(self._chunks.get(), timeout_s)
            self._buffer += chunk
        block, self._buffer = self._buffer.split(b"\n\n", 1)
        event = SseEvent()
        for line in block.decode().split("\n"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                event.comments.append(value)
            elif name in ("event", "id", "data"):
                setattr(event, name, value)
        return event

    async def next_hit(self, timeout_s: float = 2.0) -> SseEvent:
        """The next `hit` event, skipping comments and `retry:` blocks."""
        while True:
            event = await self.next_event(timeout_s)
            if event.event == "hit":
                return event

    async def hits(self, count: int, timeout_s: float = 2.0) -> list[SseEvent]:
        return [await self.next_hit(timeout_s) for _ in range(count)]
