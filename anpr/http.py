"""HTTP helpers shared by the services' apps: the error body, an orjson response class, a bounded
body read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from fastapi.telemetry import TelemetryConfig
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

# FastAPI's own OpenTelemetry layer, off: the services export Prometheus metrics
# (`anpr.accesslog`), and with it on FastAPI asks per request whether a provider is configured.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def error_body(detail: str, errors: Iterable[Mapping[str, str]] = ()) -> dict[str, object]:
    """The one shape every service answers an error with (contract section 1):
    `{"detail": ..., "errors": [{"field": ..., "message": ...}]}`; `errors` may be empty."""
    return {"detail": detail, "errors": [dict(e) for e in errors]}


def field_error_body(detail: str, field: str) -> dict[str, object]:
    """The error body of a rejection with one field at fault, which `detail` explains."""
    return error_body(detail, [{"field": field, "message": detail}])


class JSONBytes(JSONResponse):
    """A JSON response rendered with orjson (fast; FastAPI's ORJSONResponse is deprecated).

    A `JSONResponse` so that FastAPI documents a route's `response_model` as its answer: for any
    other response class it writes `{"type": "string"}` into the OpenAPI document."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def read_bounded_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to be over `limit` bytes (declared
    length or bytes received), without buffering the rest.

    From `receive` itself, not `Request.stream()`: an async generator per request (the loop's
    first-iteration hook and its weak set included) was 2-3 µs of a single-read request. What
    `stream()` also does is kept: a body read before is answered from the request, a client
    gone is `ClientDisconnect`, and the body read is kept on the request for `Request.body()`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    read_before: bytes | None = getattr(request, "_body", None)
    if read_before is not None:
        return read_before if len(read_before) <= limit else None
    chunks: list[bytes] = []
    size = 0
    receive = request.receive
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    request._body = body  # what `Request.body()` keeps, for a later reader
    return body
