"""The API application factory: `create_app(settings, bus)`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from anpr.accesslog import AccessLogMiddleware
from anpr.bus.base import Bus
from anpr.clock import now_ms
from anpr.http import NO_TELEMETRY
from anpr.openapi_docs import BEARER, install_docs
from api.alerts import routes as routes_alerts
from api.archive.base import ReadStore
from api.audit import routes as routes_audit
from api.cameras import routes as routes_cameras
from api.commissioning import routes as routes_commissioning
from api.console import routes as routes_console
from api.console.sessions import SESSION_COOKIE, cookie_refusal
from api.deps import get_principal
from api.errors import install_error_handlers
from api.formats import routes as routes_formats
from api.guard import install_guard
from api.health import routes as routes_health
from api.hits import routes as routes_hits
from api.hits import stream_routes as routes_stream
from api.hotlists import routes as routes_hotlists
from api.notifications import routes as routes_notifications
from api.reads import routes as routes_reads
from api.reports import routes as routes_reports
from api.rollout import routes as routes_rollout
from api.service import ApiService
from api.settings import ApiSettings
from api.store.base import Store
from api.tokens import issue as routes_registry
from api.tokens import routes as routes_tokens


def create_app(
    settings: ApiSettings,
    bus: Bus,
    *,
    store: Store | None = None,
    reads: ReadStore | None = None,
    clock: Callable[[], int] = now_ms,
) -> FastAPI:
    """The control-room API. The caller owns `bus` (started before, stopped after the app); the
    lifespan starts and stops the API's followers, consumers and store. `store` defaults to a
    SQLite file at `settings.db_path` (PostgreSQL with `ANPR_DATABASE_URL`), `reads` (the read
    archive) likewise; `clock` (epoch ms) is for tests."""
    service = ApiService(settings, bus, store=store, reads=reads, clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="ANPR API",
        version="1",
        description=(
            "Control room and operations: hits (query, acknowledge, stream), camera health and "
            "commissioning, hotlists, registry administration and the audit log."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry=NO_TELEMETRY,
    )
    app.state.service = service
    app.include_router(routes_health.router)
    app.include_router(routes_registry.router)
    app.include_router(routes_tokens.router)
    app.include_router(routes_cameras.router)
    app.include_router(routes_commissioning.router)
    app.include_router(routes_stream.router)
    app.include_router(routes_hits.router)
    app.include_router(routes_alerts.router)
    app.include_router(routes_console.router)
    app.include_router(routes_hotlists.router)
    app.include_router(routes_audit.router)
    app.include_router(routes_notifications.router)
    app.include_router(routes_reports.router)
    app.include_router(routes_formats.router)
    app.include_router(routes_rollout.router)
    app.include_router(routes_reads.router)
    install_error_handlers(app)
    install_docs(app, schemes={"bearer": BEARER}, marker=get_principal)
    install_guard(
        app,
        authenticate=service.authenticate,
        loading=lambda: not service.registry_loaded,
        retry_after_s=settings.retry_after_s,
        default_limit=settings.api_max_body_bytes,
        limits={
            ("PUT", "/v1/hotlists/{list_id}/entries"): settings.hotlist_max_body_bytes,
            ("POST", "/v1/hotlists/{list_id}/entries"): settings.hotlist_upsert_max_body_bytes,
        },
        cookie=(SESSION_COOKIE, partial(cookie_refusal, service)),
    )
    app.add_middleware(  # outermost: request id, 4xx/5xx access log, request metrics
        AccessLogMiddleware,
        requests=service.metrics.requests,
        seconds=service.metrics.request_seconds,
    )
    return app
