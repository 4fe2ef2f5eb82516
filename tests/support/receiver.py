"""A webhook receiver for tests: a real HTTP server on a loopback port, started and stopped in
the test's event loop (uvicorn), that verifies signatures and dedupes on the delivery id."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn

from anpr_cli.serving import _Server
from notify.signing import verify
from tests.support.ports import free_port

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Receiver:
    """Secrets by target id; `accepted` maps delivery id to the body first accepted for it,
    `requests` counts every request per delivery id (retries of a request that never arrived
    are not requests), `rejected` the requests whose signature did not verify."""

    secrets: dict[str, str]
    port: int = field(default_factory=free_port)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    rejected: list[str] = field(default_factory=list)
    # The client (address, port) of every request: how many connections were opened.
    clients: set[tuple[str, int]] = field(default_factory=set)
    _server: _Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.clients.add(tuple(scope["client"]))
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        did = headers.get("x-anpr-delivery", "")
        secret = self.secrets.get(headers.get("x-anpr-target", ""), "")
        ok = bool(secret) and verify(
            secret,
            body=body,
            timestamp_header=headers.get("x-anpr-timestamp"),
            signature_header=headers.get("x-anpr-signature"),
            now_s=time.time(),
        )
        self.requests[did] += 1
        if not ok:
            self.rejected.append(did)
            status = 401
        else:
            payload = orjson.loads(body)
            assert payload["delivery_id"] == did
            self.accepted.setdefault(did, payload)  # dedupe: the first one counts
            status = 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def start(self) -> None:
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
            ws="none", http="h11", access_log=False,
        )  # fmt: skip
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None
