"""`POST /v1/reads`: reads pushed by cameras and integrators (contract section 3)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from anpr.auth import Principal
from anpr.errors import AnprError
from anpr.http import JSONBytes
from anpr.reads import FieldError
from ingest.answers import admitted, error, push_responses, read_body, unavailable
from ingest.body import BodyError, split_body
from ingest.deps import Pusher, Service
from ingest.pushroute import PushRoute
from ingest.schemas import IngestResponse
from ingest.service import GatewayService

router = APIRouter(route_class=PushRoute)


@router.post(
    "/v1/reads",
    status_code=202,
    response_model=IngestResponse,
    responses=push_responses(IngestResponse),
)
async def post_reads(request: Request, service: Service, principal: Pusher) -> Response:
    return await admitted(service, principal, lambda: _ingest_reads(request, service, principal))


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
