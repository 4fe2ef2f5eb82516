"""`POST /v1/reads`: reads pushed by cameras and integrators (contract section 3)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from anpr.auth import Principal
from anpr.errors import AnprError
from anpr.http import JSONBytes, field_error_body, read_bounded_body
from anpr.reads import FieldError
from ingest.admission import Overloaded
from ingest.body import BodyError, split_body
from ingest.deps import Pusher, Service
from ingest.schemas import ErrorResponse, IngestResponse
from ingest.service import GatewayService

router = APIRouter()


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


def rate_limited(service: GatewayService, who: str, cost: float) -> JSONBytes | None:
    wait = service.limiter.take(who, cost)
    if wait <= 0:
        return None
    return error(
        429, "too many requests from this integrator", "rate", **{"Retry-After": str(int(wait))}
    )


@router.post(
    "/v1/reads",
    status_code=202,
    response_model=IngestResponse,
    responses={
        401: {"model": ErrorResponse},
        403: {"model": IngestResponse},
        413: {"model": ErrorResponse},
        422: {"model": IngestResponse},
        429: {"model": ErrorResponse},
        503: {"model": ErrorResponse},
    },
)
async def post_reads(request: Request, service: Service, principal: Pusher) -> Response:
    limited = rate_limited(service, principal.integrator_id or principal.name, 1.0)
    if limited is not None:
        return limited
    try:
        async with service.admission.slot() as ticket:
            service.metrics.queue_wait_seconds.observe(ticket.waited_s)
            return await _ingest_reads(request, service, principal)
    except Overloaded as exc:
        return shed(service, exc)


async def _ingest_reads(
    request: Request, service: GatewayService, principal: Principal
) -> Response:
    try:
        body = await read_body(request, service.settings.max_body_bytes)
        split = split_body(
            body, request.headers.get("content-type"), max_items=service.settings.max_batch_reads
        )
    except BodyError as exc:
        service.metrics.reads_rejected.labels("body", "unregistered", "unregistered").inc()
        return error(exc.status, exc.message)
    try:
        broken = {i: FieldError("body", message) for i, message in split.broken.items()}
        outcome = await service.pipeline.ingest(principal, split.items, broken)
    except AnprError as exc:
        return unavailable(service, exc)
    return JSONBytes(outcome.body(), status_code=outcome.status)
