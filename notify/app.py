"""The delivery worker's process app: `/healthz`, `/readyz` and `/metrics` over HTTP; the
deliveries themselves run in the lifespan as a background service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel

from anpr.bus.base import Bus
from anpr.runtime import Runtime
from notify.metrics import NotifyMetrics
from notify.service import NotifyService
from notify.settings import NotifySettings


class Health(BaseModel):
    status: str
    detail: dict[str, object] = {}


def create_app(
    settings: NotifySettings, bus: Bus, *, client: httpx.AsyncClient | None = None
) -> FastAPI:
    """The delivery worker. The caller owns `bus` (started before, stopped after the app);
    `client` is for tests (by default the service makes and closes its own)."""
    registry = CollectorRegistry()
    runtime = Runtime.for_process("notify", settings, bus, registry)
    service = NotifyService(settings, runtime, NotifyMetrics(registry), client=client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(title="ANPR notify", version="1", lifespan=lifespan)
    app.state.service = service

    @app.get("/healthz", response_model=Health, responses={503: {"model": Health}})
    async def healthz() -> Response:
        alive = runtime.alive
        return JSONResponse(
            {"status": "alive" if alive else "failing", "detail": runtime.health()},
            status_code=200 if alive else 503,
        )

    @app.get("/readyz", response_model=Health, responses={503: {"model": Health}})
    async def readyz(request: Request) -> Response:
        svc: NotifyService = request.app.state.service
        detail = {
            "registry_loaded": svc.registry_follower.caught_up.is_set(),
            "hits_caught_up": svc.hits_loop.caught_up.is_set(),
            "targets": len(svc.registry.webhooks),
            "loops": runtime.readiness(),
        }
        ok = svc.ready
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "detail": detail},
            status_code=200 if ok else 503,
        )

    @app.get("/metrics", response_class=Response)
    async def metrics(request: Request) -> Response:
        svc: NotifyService = request.app.state.service
        return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
