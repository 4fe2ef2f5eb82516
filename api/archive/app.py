"""The archive's process app (`anpr archive`): `/healthz`, `/readyz` and `/metrics` only; the
archive consumer runs in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from anpr.bus.base import Bus
from api.archive.base import ReadStore
from api.archive.pastmatch import PastMatchConfig
from api.archive.service import ArchiveService
from api.archive.settings import ArchiveSettings


def create_app(settings: ArchiveSettings, bus: Bus, *, reads: ReadStore | None = None) -> FastAPI:
    """The read archive. The caller owns `bus` (started before, stopped after the app)."""
    service = ArchiveService(
        settings,
        bus,
        reads=reads,
        poll_ms=settings.archive_poll_ms,
        retention_interval_s=settings.archive_retention_interval_s,
        past_match=PastMatchConfig(
            hours=settings.past_match_hours,
            max_candidates=settings.past_match_max_candidates,
            max_patterns=settings.past_match_max_patterns,
        )
        if settings.past_match_enabled
        else None,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(title="ANPR read archive", version="1", lifespan=lifespan)
    app.state.service = service

    @app.get("/healthz")
    async def healthz() -> Response:
        runtime = service.runtime
        alive = runtime.alive
        return JSONResponse(
            {"status": "alive" if alive else "failing", "detail": runtime.health()},
            status_code=200 if alive else 503,
        )

    @app.get("/readyz")
    async def readyz(request: Request) -> Response:
        svc: ArchiveService = request.app.state.service
        ok = svc.ready
        return JSONResponse(
            {
                "status": "ready" if ok else "not_ready",
                "caught_up": svc.loop.caught_up.is_set(),
                "loops": svc.runtime.readiness(),
            },
            status_code=200 if ok else 503,
        )

    @app.get("/metrics", response_class=Response)
    async def metrics(request: Request) -> Response:
        svc: ArchiveService = request.app.state.service
        return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
