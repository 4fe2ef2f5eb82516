"""HTTP helpers shared by the services' apps: the error body, an orjson response class, a bounded
body read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from fastapi.telemetry import TelemetryConfig
from starlette.requests import Request
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
