"""The delivery worker's process app: `/healthz`, `/readyz` and `/metrics` over HTTP; the
deliveries themselves run in the lifespan as a background service."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from anpr.bus.base import Bus
from anpr.health_routes import health_router
from anpr.lifespan import service_lifespan
from anpr.runtime import Runtime
from notify.metrics import NotifyMetrics
from notify.service import NotifyService
from notify.settings import NotifySettings


def create_app(
    settings: NotifySettings, bus: Bus, *, client: httpx.AsyncClient | None = None
) -> FastAPI:
    """The delivery worker. The caller owns `bus` (started before, stopped after the app);
    `client` is for tests (by default the service makes and closes its own)."""
    registry = CollectorRegistry()
    runtime = Runtime.for_process("notify", settings, bus, registry)
    service = NotifyService(settings, runtime, NotifyMetrics(registry), client=client)

    app = FastAPI(title="ANPR notify", version="1", lifespan=service_lifespan(service))
    app.state.service = service

    def detail() -> dict[str, object]:
        return {
            "registry_loaded": service.registry_follower.caught_up.is_set(),
            "hits_caught_up": service.hits_loop.caught_up.is_set(),
        }

    app.include_router(health_router(runtime, ready=lambda: service.ready, detail=detail))
    return app
