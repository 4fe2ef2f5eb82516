"""HTTP helpers shared by the services' apps: the error body, an orjson response class, request
metrics."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from prometheus_client import Counter, Gauge, Histogram
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def error_body(detail: str, errors: Iterable[Mapping[str, str]] = ()) -> dict[str, object]:
    """The one shape every service answers an error with (contract section 1):
    `{"detail": ..., "errors": [{"field": ..., "message": ...}]}`; `errors` may be empty."""
    return {"detail": detail, "errors": [dict(e) for e in errors]}


def field_error_body(detail: str, field: str) -> dict[str, object]:
    """The error body of a rejection with one field at fault, which `detail` explains."""
    return error_body(detail, [{"field": field, "message": detail}])


class JSONBytes(Response):
    """A JSON response rendered with orjson (fast; FastAPI's ORJSONResponse is deprecated)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class RequestMetricsMiddleware:
    """ASGI middleware counting requests by route template and status, timing them, and (when
    given a gauge) counting those in flight. Shared by the services' apps.

    The label is the route template, never the raw path: paths carry ids and would explode the
    label set. A request is observed once, when its last body chunk is sent (or it fails).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        requests: Counter,
        seconds: Histogram,
        in_flight: Gauge | None = None,
    ) -> None:
        self.app = app
        self.requests = requests
        self.seconds = seconds
        self.in_flight = in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()
        observed = False

        def observe() -> None:
            nonlocal observed
            if observed:
                return
            observed = True
            template = getattr(scope.get("route"), "path", None) or "unmatched"
            self.requests.labels(template, str(status)).inc()
            self.seconds.labels(template).observe(time.perf_counter() - started)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                observe()

        if self.in_flight is not None:
            self.in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if self.in_flight is not None:
                self.in_flight.dec()
            observe()


async def read_bounded_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to be over `limit` bytes (declared
    length or bytes received), without buffering the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
