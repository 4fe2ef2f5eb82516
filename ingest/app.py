"""The gateway application factory: `create_app(settings, bus)`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from anpr.accesslog import AccessLogMiddleware
from anpr.bus.base import Bus
from anpr.health_routes import health_router
from anpr.http import NO_TELEMETRY, JSONBytes, error_body, field_error_body
from anpr.lifespan import service_lifespan
from anpr.openapi_docs import BASIC, BEARER, install_docs
from ingest import routes_heartbeats, routes_reads, routes_vendor
from ingest.deps import WARMING, get_pusher
from ingest.direct import GatewayApp
from ingest.service import GatewayService
from ingest.settings import GatewaySettings


def http_error_response(exc: StarletteHTTPException) -> JSONBytes:
    """The gateway's answer to an `HTTPException`: the one error body, the field at fault
    named from the status."""
    field = (
        "dedup"
        if exc.detail == WARMING
        else {
            401: "authorization",
            403: "authorization",
            503: "registry",
        }.get(exc.status_code, "request")
    )
    return JSONBytes(
        field_error_body(str(exc.detail), field), status_code=exc.status_code, headers=exc.headers
    )


def create_app(settings: GatewaySettings, bus: Bus) -> FastAPI:
    """The gateway. The caller owns `bus` (started before, stopped after the app)."""
    service = GatewayService(settings, bus)

    app = GatewayApp(
        title="ANPR gateway",
        version="1",
        description="Camera-facing gateway: reads and heartbeats in, durable in Kafka before 2xx.",
        lifespan=service_lifespan(service),
        default_response_class=JSONBytes,
        docs_url=None,
        redoc_url=None,
        telemetry=NO_TELEMETRY,
    )
    app.state.service = service
    # The push routes first: a router tries its routes in order, and they take the traffic.
    app.include_router(routes_reads.router)
    app.include_router(routes_heartbeats.router)
    app.include_router(routes_vendor.router)
    app.include_router(
        health_router(
            service.runtime,
            ready=lambda: service.ready,
            detail=lambda: {
                "registry_loaded": service.registry_loaded,
                "cameras": len(service.registry.cameras),
            },
            before_scrape=lambda: service.metrics.registry_ready.set(
                1 if service.registry_loaded else 0
            ),
        )
    )
    install_docs(app, schemes={"bearer": BEARER, "basic": BASIC}, marker=get_pusher)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONBytes:
        return http_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONBytes:
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p != "body") or "body",
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        return JSONBytes(error_body("invalid request", errors), status_code=422)

    def observed(inner: ASGIApp) -> ASGIApp:
        """Request id, 4xx/5xx access log and request metrics, around `inner`."""
        return AccessLogMiddleware(
            inner,
            requests=service.metrics.requests,
            seconds=service.metrics.request_seconds,
            in_flight=service.metrics.in_flight,
        )

    app.add_middleware(observed)  # outermost
    app.serve_directly(
        [
            route
            for router in (routes_reads.router, routes_heartbeats.router, routes_vendor.router)
            for route in router.routes
            if isinstance(route, APIRoute)
        ],
        wrap=observed,
        http_error=http_error_response,
    )
    return app
