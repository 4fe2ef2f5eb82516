"""`POST /v1/ingest/{format}`: vendor pushes turned into canonical reads by `ingest.adapters`,
then through the same pipeline as `/v1/reads` (auth, ownership, dedup, durable before 2xx).

The route parses the request and answers; the work is `ingest.vendor` (which camera a read is
for, heartbeats, the pipeline, the answer the vendor documents).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from anpr.auth import Principal
from anpr.errors import AnprError
from anpr.http import JSONBytes
from ingest.adapters import Adapter, AdapterError, PayloadTooLarge
from ingest.answers import admitted, error, push_responses, read_body, unavailable
from ingest.body import BodyError
from ingest.deps import Pusher, Service
from ingest.pushroute import PushRoute
from ingest.schemas import ErrorResponse, IngestResponse
from ingest.service import GatewayService
from ingest.vendor import Answer, VendorPush, parse_push, take_in

router = APIRouter(route_class=PushRoute)


@router.post(
    "/v1/ingest/{fmt}",
    status_code=200,
    responses=push_responses(IngestResponse, {202: IngestResponse, 404: ErrorResponse}),
)
async def post_vendor(
    fmt: str, request: Request, service: Service, principal: Pusher, camera_id: str | None = None
) -> Response:
    adapter = service.formats.adapter(fmt)
    if adapter is None:
        # Built-in names only: the registered mappings are named by the administrators, often
        # after an integrator or a customer, and an integrator is not shown the others'.
        known = ", ".join(service.formats.builtin_names())
        return error(
            404,
            f"unknown format {fmt!r}: neither a built-in format ({known}) nor a mapping "
            "registered by an administrator",
            "format",
        )
    return await admitted(
        service,
        principal,
        lambda: _ingest_vendor(fmt, adapter, request, service, principal, camera_id),
    )


async def _ingest_vendor(
    fmt: str,
    adapter: Adapter,
    request: Request,
    service: GatewayService,
    principal: Principal,
    camera_id: str | None,
) -> Response:
    try:
        body = await read_body(request, service.settings.max_body_bytes)
        push = VendorPush(
            fmt, adapter, body, request.headers.get("content-type"), request.headers, camera_id
        )
        result = parse_push(service, principal, push)
    except BodyError as exc:
        return error(exc.status, exc.message)
    except PayloadTooLarge as exc:
        return error(413, exc.message, exc.field)
    except AdapterError as exc:
        return error(422, exc.message, exc.field)
    try:
        answer = await take_in(service, principal, push, result)
    except AnprError as exc:
        return unavailable(service, exc)
    return _response(answer)


def _response(answer: Answer) -> Response:
    if isinstance(answer.payload, bytes):
        return Response(answer.payload, status_code=answer.status, media_type=answer.media_type)
    return JSONBytes(answer.payload, status_code=answer.status)
