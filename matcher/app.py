"""The matcher's process app: only `/healthz`, `/readyz` and `/metrics` over HTTP; the matching
itself runs in the lifespan as a background service."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from anpr.bus.base import Bus
from anpr.health_routes import health_router
from anpr.http import JSONBytes
from anpr.lifespan import service_lifespan
from anpr.openapi_docs import install_docs
from anpr.runtime import Runtime
from matcher.metrics import MatcherMetrics
from matcher.service import MatcherService
from matcher.settings import MatcherSettings


def create_app(settings: MatcherSettings, bus: Bus) -> FastAPI:
    """The matcher. The caller owns `bus` (started before, stopped after the app)."""
    registry = CollectorRegistry()
    runtime = Runtime.for_process("matcher", settings, bus, registry)
    service = MatcherService(settings, runtime, MatcherMetrics(registry))

    app = FastAPI(
        title="ANPR matcher",
        version="1",
        lifespan=service_lifespan(service),
        default_response_class=JSONBytes,
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)  # Swagger UI from the package, no CDN
    app.state.service = service

    def detail() -> dict[str, object]:
        return {
            "registry_loaded": service.registry.caught_up.is_set(),
            "hotlists_loaded": service.hotlists.caught_up.is_set(),
            # Overt lists only: a count with covert ones would count them by difference.
            "lists_loaded": sum(not c.covert for c in service.state.index.configs.values()),
        }

    app.include_router(health_router(runtime, ready=lambda: service.ready, detail=detail))
    return app
