"""What the push routes answer besides success, and the admission every push goes through.

`POST /v1/reads`, `/v1/heartbeats` and `/v1/ingest/{format}` share their refusals (the body over
its limit, the integrator over its rate, the gateway overloaded, Kafka unavailable), each counted
in a metric and answered in the one error body (`anpr.http.error_body`), and the `responses=`
that document them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from anpr.auth import Principal
from anpr.errors import AnprError
from anpr.http import JSONBytes, field_error_body, read_bounded_body
from ingest.admission import Overloaded
from ingest.body import BodyError
from ingest.schemas import ErrorResponse
from ingest.service import GatewayService


def error(status: int, message: str, field: str = "body", **headers: str) -> JSONBytes:
    return JSONBytes(field_error_body(message, field), status_code=status, headers=headers or None)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) as soon as it is over `limit` bytes."""
    body = await read_bounded_body(request, limit)
    if body is None:
        raise BodyError(413, f"the body is over the limit of {limit} bytes")
    return body


def unavailable(service: GatewayService, exc: AnprError) -> JSONBytes:
    service.metrics.produce_failures.labels("retriable" if exc.retriable else "refused").inc()
    return error(
        503,
        f"reads not stored, nothing in this request was accepted; retry later ({exc})",
        "kafka",
        **{"Retry-After": str(service.settings.retry_after_s)},
    )


def shed(service: GatewayService, exc: Overloaded) -> JSONBytes:
    """503 for a request refused by admission control; it published nothing."""
    service.metrics.shed.labels(exc.reason.value).inc()
    return error(
        503,
        "the gateway is overloaded: nothing in this request was accepted; retry later",
        "load",
        **{"Retry-After": str(exc.retry_after_s)},
    )


def rate_limited(service: GatewayService, principal: Principal) -> JSONBytes | None:
    """429 when the caller's integrator is over its rate (one request costs one token)."""
    wait = service.limiter.take(principal.integrator_id or principal.name, 1.0)
    if wait <= 0:
        return None
    return error(
        429, "too many requests from this integrator", "rate", **{"Retry-After": str(int(wait))}
    )


async def admitted(
    service: GatewayService, principal: Principal, work: Callable[[], Awaitable[Response]]
) -> Response:
    """`work` under the caller's rate limit and a slot of admission control; refusals answered
    here (429, 503) before any of the request's work is done."""
    limited = rate_limited(service, principal)
    if limited is not None:
        return limited
    try:
        async with service.admission.slot() as ticket:
            service.metrics.queue_wait_seconds.observe(ticket.waited_s)
            return await work()
    except Overloaded as exc:
        return shed(service, exc)


def push_responses(
    rejected: type[BaseModel], more: Mapping[int, type[BaseModel]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a push route: its refusals, 403 and 422 answered with `rejected` (the
    per-read `IngestResponse`, or an `ErrorResponse`), and `more`, in the order of the codes."""
    models: dict[int, type[BaseModel]] = {
        401: ErrorResponse,
        403: rejected,
        413: ErrorResponse,
        422: rejected,
        429: ErrorResponse,
        503: ErrorResponse,
        **(more or {}),
    }
    return {code: {"model": models[code]} for code in sorted(models)}
