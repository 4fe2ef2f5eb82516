"""`/healthz`, `/readyz` and `/metrics` of a service's process, built once for all of them.

Every process answers the three the same way (docs/operations.md, Health):
- `/healthz`: 200 `alive` while every supervised task is within its crash budget, else 503
  `failing`; the detail lists every task (`Runtime.health`).
- `/readyz`: 200 `ready` when the service says so, else 503 `not_ready`; the detail is what the
  service shows (flags and counts only: unauthenticated, it never names or counts a covert list
  on its own) and every consumer loop's state (`Runtime.readiness`).
- `/metrics`: the process's Prometheus registry, after an optional refresh, written out on a
  worker thread (`exposition`).

The gateway, matcher, notify and archive processes use it; the API keeps its own flat readiness
body (`api/health/routes.py`), which its OpenAPI schema documents.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel

from anpr.http import JSONBytes


async def exposition(registry: CollectorRegistry) -> bytes:
    """The text exposition of `registry`, written on a worker thread.

    With a series per camera, 10,000 cameras make 2-6 MB of text: 280 ms (API) to 490 ms
    (gateway) of work, which on the event loop held every request and consumer of the process
    at each scrape. On a thread the loop gets the interpreter back every switch interval (5 ms).
    prometheus_client's metrics are thread-safe, and `anpr.loopmetrics` reads a snapshot of
    its series."""
    return await asyncio.to_thread(generate_latest, registry)


class Health(BaseModel):
    """The body of `/healthz` and `/readyz`."""

    status: str
    detail: dict[str, object] = {}


class ProcessHealth(Protocol):
    """What the routes read (`anpr.runtime.Runtime` has it)."""

    registry: CollectorRegistry

    @property
    def alive(self) -> bool: ...

    def health(self) -> dict[str, dict[str, dict[str, object]]]: ...

    def readiness(self) -> dict[str, dict[str, object]]: ...


def health_router(
    runtime: ProcessHealth,
    *,
    ready: Callable[[], bool],
    detail: Callable[[], dict[str, object]],
    before_scrape: Callable[[], None] | None = None,
) -> APIRouter:
    """The three routes for a service whose readiness is `ready()`, showing `detail()` (plus
    its loops) on `/readyz`; `before_scrape` runs before each `/metrics`."""
    router = APIRouter(tags=["operations"])
    responses: dict[int | str, dict[str, object]] = {503: {"model": Health}}

    @router.get("/healthz", response_model=Health, responses=responses)
    async def healthz() -> Response:
        alive = runtime.alive
        return JSONBytes(
            {"status": "alive" if alive else "failing", "detail": runtime.health()},
            status_code=200 if alive else 503,
        )

    @router.get("/readyz", response_model=Health, responses=responses)
    async def readyz() -> Response:
        ok = ready()
        return JSONBytes(
            {
                "status": "ready" if ok else "not_ready",
                "detail": {**detail(), "loops": runtime.readiness()},
            },
            status_code=200 if ok else 503,
        )

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        if before_scrape is not None:
            before_scrape()
        return Response(await exposition(runtime.registry), media_type=CONTENT_TYPE_LATEST)

    return router
