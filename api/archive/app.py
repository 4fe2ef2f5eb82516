"""The archive's process app (`anpr archive`): `/healthz`, `/readyz` and `/metrics` only; the
archive consumer runs in the lifespan."""

from __future__ import annotations

from fastapi import FastAPI

from anpr.bus.base import Bus
from anpr.health_routes import health_router
from anpr.lifespan import service_lifespan
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
    app = FastAPI(title="ANPR read archive", version="1", lifespan=service_lifespan(service))
    app.state.service = service
    app.include_router(
        health_router(
            service.runtime,
            ready=lambda: service.ready,
            detail=lambda: {"caught_up": service.loop.caught_up.is_set()},
        )
    )
    return app
