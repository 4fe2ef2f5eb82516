"""`POST /v1/ingest/{format}`: vendor pushes turned into canonical reads by `ingest.adapters`,
then through the same pipeline as `/v1/reads` (auth, ownership, dedup, durable before 2xx).

The camera is `?camera_id=`, or the first of a read's vendor identities registered in a camera's
`external_ids`. On success the device gets the answer its vendor documents, so it stops resending.
"""

from __future__ import annotations

import logging

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from anpr.auth import Principal, Role
from anpr.bus.base import Message
from anpr.clock import now_ms
from anpr.errors import AnprError
from anpr.http import JSONBytes, error_body
from anpr.reads import FieldError, parse_captured_at
from anpr.registry import Camera
from ingest.adapters import Adapter, AdapterError, AdapterResult, PayloadTooLarge
from ingest.admission import Overloaded
from ingest.body import BodyError
from ingest.deps import Pusher, Service
from ingest.routes_reads import error, rate_limited, read_body, shed, unavailable
from ingest.schemas import ErrorResponse, IngestResponse
from ingest.service import GatewayService

router = APIRouter()
log = logging.getLogger(__name__)


def _owned(principal: Principal, camera: Camera) -> bool:
    return principal.role is Role.ADMIN or camera.integrator_id == principal.integrator_id


def _camera(
    service: GatewayService, principal: Principal, camera_id: str | None, vendor_ids: list[str]
) -> Camera | None:
    """The camera `?camera_id=` names, or the caller's camera with one of `vendor_ids`. Another
    integrator's camera is never resolved from a vendor id: its id would be named back."""
    if camera_id:
        return service.registry.cameras.get(camera_id)
    for vendor_id in vendor_ids:
        camera = service.registry.camera_by_external_id(vendor_id)
        if camera is not None and _owned(principal, camera):
            return camera
    return None


def _parse(adapter: Adapter, body: bytes, request: Request, tz: str | None) -> AdapterResult:
    content_type = request.headers.get("content-type")
    return adapter.parse(body, content_type, camera_tz=tz, headers=request.headers)


async def _heartbeats(
    service: GatewayService, principal: Principal, result: AdapterResult, camera_id: str | None
) -> None:
    """Vendor heartbeats (OpenALPR agents) become camera heartbeats; best effort."""
    messages = []
    for beat in result.heartbeats:
        camera = _camera(service, principal, camera_id, beat["vendor_ids"])
        if camera is None or not _owned(principal, camera):
            continue
        sent = parse_captured_at(beat["sent_at"])
        record = {
            "v": 1,
            "camera_id": camera.camera_id,
            "integrator_id": camera.integrator_id,
            "sent_at": beat["sent_at"],
            "sent_at_ms": sent if isinstance(sent, int) else None,
            "received_at": now_ms(),
            "status": beat["status"],
        }
        messages.append(
            Message(service.topics.heartbeats, camera.camera_id.encode(), orjson.dumps(record))
        )
    if messages:
        try:
            await service.bus.publish(messages, timeout_s=service.settings.publish_timeout_s)
        except AnprError as exc:
            log.warning("vendor heartbeats not published: %s", exc)


@router.post(
    "/v1/ingest/{fmt}",
    status_code=200,
    responses={
        202: {"model": IngestResponse},
        401: {"model": ErrorResponse},
        403: {"model": IngestResponse},
        404: {"model": ErrorResponse},
        413: {"model": ErrorResponse},
        422: {"model": IngestResponse},
        429: {"model": ErrorResponse},
        503: {"model": ErrorResponse},
    },
)
async def post_vendor(
    fmt: str, request: Request, service: Service, principal: Pusher, camera_id: str | None = None
) -> Response:
    adapter = service.formats.adapter(fmt)
    if adapter is None:
        known = ", ".join(service.formats.names())
        return error(404, f"unknown format {fmt!r}; one of {known}", "format")
    limited = rate_limited(service, principal.integrator_id or principal.name, 1.0)
    if limited is not None:
        return limited
    try:
        async with service.admission.slot() as ticket:
            service.metrics.queue_wait_seconds.observe(ticket.waited_s)
            return await _ingest_vendor(fmt, adapter, request, service, principal, camera_id)
    except Overloaded as exc:
        return shed(service, exc)


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
        given = service.registry.cameras.get(camera_id) if camera_id else None
        given = given if given is not None and _owned(principal, given) else None
        tz = given.timezone if given else None
        result = _parse(adapter, body, request, tz)
        if given is None and result.reads:
            first = _camera(service, principal, None, result.vendor_ids[0])
            if first is not None and first.timezone != (tz or "UTC"):
                # Times without an offset are the camera's local time: parse again in its zone.
                result = _parse(adapter, body, request, first.timezone)
    except BodyError as exc:
        return error(exc.status, exc.message)
    except PayloadTooLarge as exc:
        return error(413, exc.message, exc.field)
    except AdapterError as exc:
        return error(422, exc.message, exc.field)

    items: list[object] = []
    broken: dict[int, FieldError] = {}
    for position, (read, vendor_ids) in enumerate(result.pairs()):
        camera = _camera(service, principal, camera_id, vendor_ids)
        item = dict(read)
        if camera is not None:
            item["camera_id"] = camera.camera_id
        elif camera_id:
            item["camera_id"] = camera_id
        else:
            broken[position] = FieldError(
                "camera_id",
                "no camera found: pass ?camera_id= or register one of "
                f"{', '.join(vendor_ids) or '(no vendor id in the payload)'} in a camera's "
                "external_ids",
            )
        items.append(item)
    # Problems concern events that gave no read (an adapter's `index` counts the payload's
    # events, not the reads it produced), so they are counted and logged, never pinned on a read.
    if result.problems:
        service.metrics.reads_rejected.labels("vendor", "unregistered", "unregistered").inc(
            len(result.problems)
        )
        log.info(
            "%s push: %d events not turned into reads: %s",
            fmt,
            len(result.problems),
            result.problems[:5],
        )

    await _heartbeats(service, principal, result, camera_id)
    if not items:
        if result.problems:
            errors = [{"field": p["field"], "message": p["message"]} for p in result.problems]
            return JSONBytes(
                error_body("no read could be taken from the payload", errors), status_code=422
            )
        status, media, payload = result.success_response
        return Response(payload, status_code=status, media_type=media)
    try:
        outcome = await service.pipeline.ingest(principal, items, broken)
    except AnprError as exc:
        return unavailable(service, exc)
    if outcome.status != 202:
        return JSONBytes(outcome.body(), status_code=outcome.status)
    if outcome.rejected:
        log.info(
            "%s push: %d reads rejected: %s",
            fmt,
            len(outcome.rejected),
            [r.as_dict() for r in outcome.rejected][:5],
        )
    status, media, payload = result.success_response
    return Response(payload, status_code=status, media_type=media)
