"""Running several ASGI apps and background services in one event loop, stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI

from anpr.httptimeouts import http_protocol

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `serve_all`, which stops every server.

    uvicorn's own main loop wakes ten times a second to look at `should_exit`; five servers in
    one process made fifty wake-ups a second with no traffic. This one ticks once a second (the
    Date header's resolution) and is woken at once when `should_exit` is set.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        self._exit_event = asyncio.Event()
        self._exit_requested = False
        super().__init__(config)

    @property
    def should_exit(self) -> bool:
        return self._exit_requested

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._exit_requested = value
        if value:
            self._exit_event.set()

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (
                counter + 10
            ) % 864_000  # on_tick refreshes the Date header on multiples of 10
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit_event.wait(), 1.0)
            should_exit = await self.on_tick(counter)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass(frozen=True, slots=True)
class Endpoint:
    app: FastAPI
    host: str
    port: int
    name: str


BANNER_WAIT_S = 120.0
_WHAT = {
    "gateway": "cameras: POST /v1/reads",
    "api": "control room: /v1/..., docs /docs",
    "matcher": "/healthz, /readyz, /metrics",
    "notify": "webhooks: /healthz, /readyz, /metrics",
    "archive": "read archive: /healthz, /readyz, /metrics",
}


async def _banner(servers: Sequence[uvicorn.Server], endpoints: Sequence[Endpoint]) -> None:
    """One start-up line naming every service of this process and its port, once all listen."""
    deadline = asyncio.get_running_loop().time() + BANNER_WAIT_S
    while not all(s.started for s in servers):
        if asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.05)
    parts = [f"{e.name} http://{e.host}:{e.port} ({_WHAT.get(e.name, '')})" for e in endpoints]
    log.info("listening: %s", "; ".join(parts))


async def serve_all(
    endpoints: Sequence[Endpoint],
    *,
    background: Sequence[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = (),
    log_level: str = "info",
    header_timeout_s: float = 10.0,
    body_timeout_s: float = 60.0,
) -> None:
    """Serve every endpoint and run every background job until SIGINT/SIGTERM or a failure.

    Logging is left as `anpr.logs.configure_logging` set it (`log_config=None`); each
    connection runs uvicorn's httptools protocol with header and body timeouts
    (`anpr.httptimeouts`)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    servers = [
        _Server(
            uvicorn.Config(
                e.app,
                host=e.host,
                port=e.port,
                log_level=log_level.lower(),
                log_config=None,
                http=http_protocol(header_timeout_s, body_timeout_s),
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=10,
            )
        )
        for e in endpoints
    ]
    tasks = [
        asyncio.create_task(s.serve(), name=f"serve-{e.name}")
        for s, e in zip(servers, endpoints, strict=True)
    ]
    tasks += [asyncio.create_task(job(stop), name=f"job-{i}") for i, job in enumerate(background)]
    banner = asyncio.create_task(_banner(servers, endpoints), name="banner")
    stopper = asyncio.create_task(stop.wait(), name="stop")
    done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stopper and task.exception() is not None:
            log.error("%s failed: %r", task.get_name(), task.exception())
    stop.set()
    for server in servers:
        server.should_exit = True
    results = await asyncio.gather(*tasks, return_exceptions=True)
    stopper.cancel()
    banner.cancel()
    failures = [
        r
        for r in results
        if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)
    ]
    if failures:
        raise failures[0]
    for server, endpoint in zip(servers, endpoints, strict=True):
        if not server.started:
            raise SystemExit(f"{endpoint.name} could not listen on {endpoint.host}:{endpoint.port}")
