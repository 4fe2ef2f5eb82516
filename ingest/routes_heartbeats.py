"""`POST /v1/heartbeats`: a camera's sign of life, sent every 60 s or so."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from anpr.auth import Principal, Role
from anpr.bus.base import Message
from anpr.clock import ms_to_rfc3339, now_ms
from anpr.codecs import HEARTBEATS
from anpr.codecs.records import HeartbeatRecord
from anpr.errors import AnprError
from anpr.http import JSONBytes, error_body
from anpr.reads import BadTime, FieldError, parse_captured_at
from ingest.answers import error, push_responses, rate_limited, read_body, unavailable
from ingest.body import BodyError
from ingest.deps import Pusher, Service
from ingest.pipeline import not_yours
from ingest.pushroute import PushRoute
from ingest.schemas import ErrorResponse, HeartbeatResponse
from ingest.service import GatewayService

router = APIRouter(route_class=PushRoute)
MAX_HEARTBEAT_BYTES = 64 * 1024
MAX_STATUS_DEPTH = 32


def _deeper_than(value: object, limit: int) -> bool:
    if limit < 0:
        return True
    if isinstance(value, dict):
        return any(_deeper_than(v, limit - 1) for v in value.values())
    if isinstance(value, list):
        return any(_deeper_than(v, limit - 1) for v in value)
    return False


def validate_heartbeat(
    service: GatewayService, principal: Principal, raw: object
) -> tuple[HeartbeatRecord | None, list[FieldError], int]:
    """The heartbeat record to publish, or its errors and the status to answer."""
    if not isinstance(raw, dict):
        return None, [FieldError("body", "must be a JSON object")], 422
    errors: list[FieldError] = []
    camera_id = raw.get("camera_id")
    camera = service.registry.cameras.get(camera_id) if isinstance(camera_id, str) else None
    status = 422
    if not isinstance(camera_id, str):
        errors.append(FieldError("camera_id", "required string"))
    elif camera is None or (
        principal.role is not Role.ADMIN and camera.integrator_id != principal.integrator_id
    ):
        # The same answer for unregistered and foreign cameras: ids cannot be probed.
        return None, [not_yours(camera_id)], 403
    sent: int | None = None
    if raw.get("sent_at") is None:
        errors.append(FieldError("sent_at", "required"))
    else:
        try:
            sent = parse_captured_at(raw["sent_at"])
        except BadTime as exc:
            errors.append(FieldError("sent_at", exc.message))
    cam_status = raw.get("status")
    if cam_status is not None and not isinstance(cam_status, dict):
        errors.append(FieldError("status", "must be an object"))
    elif cam_status is not None and _deeper_than(cam_status, MAX_STATUS_DEPTH):
        # orjson parses 1,024 levels; the record's encoder stops sooner (a 500 before).
        errors.append(FieldError("status", f"nested deeper than {MAX_STATUS_DEPTH} levels"))
    if errors or camera is None or sent is None:
        return None, errors, status
    record: HeartbeatRecord = {
        "v": 1,
        "camera_id": camera.camera_id,
        "integrator_id": camera.integrator_id,
        "sent_at": ms_to_rfc3339(sent),
        "sent_at_ms": sent,
        "received_at": now_ms(),
    }
    if cam_status is not None:
        record["status"] = cam_status
    return record, [], 202


@router.post(
    "/v1/heartbeats",
    status_code=202,
    response_model=HeartbeatResponse,
    responses=push_responses(ErrorResponse),
)
async def post_heartbeat(request: Request, service: Service, principal: Pusher) -> Response:
    limited = rate_limited(service, principal)
    if limited is not None:
        return limited
    try:
        raw = orjson.loads(await read_body(request, MAX_HEARTBEAT_BYTES))
    except BodyError as exc:
        return error(exc.status, exc.message)
    except orjson.JSONDecodeError as exc:
        return error(400, f"the body is not valid JSON: {exc}")
    record, errors, status = validate_heartbeat(service, principal, raw)
    named = raw.get("camera_id") if isinstance(raw, dict) else None
    if isinstance(named, str) and named in service.registry.cameras:
        caller = principal.integrator_id or principal.role.value
        service.events.contact(named, caller, refused=status == 403)
    if record is None:
        return JSONBytes(
            error_body("heartbeat rejected", [e.as_dict() for e in errors]),
            status_code=status,
        )
    camera_id = str(record["camera_id"])
    try:
        await service.bus.publish(
            [Message(service.topics.heartbeats, camera_id.encode(), HEARTBEATS.encode(record))],
            timeout_s=service.settings.publish_timeout_s,
        )
    except AnprError as exc:
        return unavailable(service, exc)
    service.metrics.heartbeats.labels(camera_id, str(record["integrator_id"])).inc()
    return JSONBytes({"accepted": 1}, status_code=202)
