"""The matcher's process app: only `/healthz`, `/readyz` and `/metrics` over HTTP; the matching
itself runs in the lifespan as a background service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel

from anpr.bus.base import Bus
from anpr.http import JSONBytes
from anpr.openapi_docs import install_docs
from anpr.runtime import Runtime
from matcher.metrics import MatcherMetrics
from matcher.service import MatcherService
from matcher.settings import MatcherSettings


class Health(BaseModel):
    status: str
    detail: dict[str, object] = {}


def create_app(settings: MatcherSettings, bus: Bus) -> FastAPI:
    """The matcher. The caller owns `bus` (started before, stopped after the app)."""
    registry = CollectorRegistry()
    runtime = Runtime.for_process("matcher", settings, bus, registry)
    service = MatcherService(settings, runtime, MatcherMetrics(registry))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="ANPR matcher",
        version="1",
        lifespan=lifespan,
        default_response_class=JSONBytes,
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)  # Swagger UI from the package, no CDN
    app.state.service = service

    @app.get("/healthz", response_model=Health, responses={503: {"model": Health}})
    async def healthz() -> Response:
        alive = runtime.alive
        return JSONBytes(
            {"status": "alive" if alive else "failing", "detail": runtime.health()},
            status_code=200 if alive else 503,
        )

    @app.get("/readyz", response_model=Health, responses={503: {"model": Health}})
    async def readyz(request: Request) -> Response:
        svc: MatcherService = request.app.state.service
        detail = {
            "registry_loaded": svc.registry.caught_up.is_set(),
            "hotlists_loaded": svc.hotlists.caught_up.is_set(),
            "loops": runtime.readiness(),
            "lists_loaded": len(svc.state.index.configs),  # a count: no list named unauthenticated
        }
        ok = svc.ready
        return JSONBytes(
            {"status": "ready" if ok else "not_ready", "detail": detail},
            status_code=200 if ok else 503,
        )

    @app.get("/metrics", response_class=Response)
    async def metrics(request: Request) -> Response:
        svc: MatcherService = request.app.state.service
        return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
