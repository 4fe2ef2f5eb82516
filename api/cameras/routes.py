"""Cameras: registration (admin) and their health (operator and up). Their commissioning report
is `api.commissioning.routes`; a PATCH from `commissioning` to `live` records that report's verdict
of the moment in the audit entry (`commissioning_verdict`, `commissioning_summary`)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response

from anpr.clock import ms_to_rfc3339
from anpr.ids import is_valid_id
from anpr.registry import WRITER_FIELDS, Camera, CameraSpec, CameraState, validate_camera
from anpr.timeslice import sliced
from api.audit.log import Action
from api.cameras.schemas import CameraHealthOut, CameraList, CameraOut, CameraPatch
from api.commissioning.gather import assess
from api.deps import Admin, Operator, Service
from api.errors import ApiError, conflict, invalid, not_found
from api.health.state import HealthReport
from api.registry_writes import publishing
from api.responses import error_responses
from api.service import ApiService

router = APIRouter(tags=["cameras"])
_META = WRITER_FIELDS


def _time(ms: int | None) -> str | None:
    return ms_to_rfc3339(ms) if ms is not None else None


def health_out(report: HealthReport) -> CameraHealthOut:
    return CameraHealthOut(
        status=report.status.value,
        last_read_at=_time(report.last_read_at),
        last_heartbeat_at=_time(report.last_heartbeat_at),
        reads_last_5m=report.reads_last_5m,
        reads_last_1h=report.reads_last_1h,
        clock_skew_ms=report.clock_skew_ms,
        low_confidence_ratio=report.low_confidence_ratio,
        rejected_last_1h=report.rejected_last_1h,
        duplicate_ratio=report.duplicate_ratio,
        status_since=_time(report.status_since),
        reasons=list(report.reasons),
    )


# `null` in a PATCH puts these back to what a registration without them gets. Not `state`:
# a null must not take a commissioning camera live; nor the required fields (422 names them).
CLEARED_BY_NULL = frozenset({"zones", "external_ids", "timezone"})


def _spec_fields(camera: Camera) -> dict[str, Any]:
    return {k: v for k, v in camera.record.items() if k not in _META}


def camera_out(service: ApiService, camera: Camera, now: int) -> CameraOut:
    return _camera_model(camera, service.health.report(camera, now))


def _camera_model(camera: Camera, report: HealthReport) -> CameraOut:
    """Pure: a registry camera (immutable, replaced on update) and a health snapshot."""
    updated = camera.record.get("updated_at")
    return CameraOut.model_validate(
        {
            **_spec_fields(camera),
            "updated_at": _time(updated) if isinstance(updated, int) else None,
            "health": health_out(report),
        }
    )


def _camera_list_json(parts: list[tuple[Camera, HealthReport]]) -> bytes:
    return CameraList(items=[_camera_model(c, r) for c, r in parts]).model_dump_json().encode()


def _camera(service: ApiService, camera_id: str) -> Camera:
    camera = service.registry.cameras.get(camera_id)
    if camera is None:
        raise not_found(f"camera {camera_id!r}")
    return camera


async def _put(service: ApiService, spec: CameraSpec, previous: Camera | None) -> Camera:
    async with publishing(service, "camera"):
        record = await service.registry_writer.put_camera(spec, previous)
    stamp = record["updated_at"]
    await service.registry_changed.wait_for(
        lambda: (
            (cam := service.registry.cameras.get(spec.camera_id)) is not None
            and cam.record.get("updated_at") == stamp
        ),
        service.settings.write_visible_timeout_s,
    )
    return service.registry.cameras.get(spec.camera_id) or _camera(service, spec.camera_id)


def check_ids(spec: CameraSpec) -> None:
    """The ids `CameraSpec` lets through unanchored (e.g. with spaces) are refused here."""
    errors = [
        {"field": name, "message": "must be 1-128 of A-Z a-z 0-9 . _ : -"}
        for name, value in (("camera_id", spec.camera_id), ("integrator_id", spec.integrator_id))
        if not is_valid_id(value)
    ]
    if errors:
        raise ApiError(422, "invalid camera", errors=errors)


def _check_external_ids(service: ApiService, spec: CameraSpec) -> None:
    """409 when a vendor id is already another camera's: it would take over the device's
    pushes (issue 11, item 5)."""
    for ext in spec.external_ids:
        others = service.registry.external_id_claims(ext) - {spec.camera_id}
        if others:
            raise conflict(
                f"external id {ext!r} is already registered to camera {min(others)!r}",
                "external_ids",
            )


def _check_integrator(service: ApiService, integrator_id: str) -> None:
    if integrator_id not in service.registry.integrators:
        raise invalid("integrator_id", f"integrator {integrator_id!r} is not registered")


@router.post(
    "/v1/cameras",
    status_code=201,
    response_model=CameraOut,
    responses=error_responses(401, 403, 409, 422, 503),
)
async def create_camera(spec: CameraSpec, principal: Admin, service: Service) -> CameraOut:
    check_ids(spec)
    async with service.registry_lock:
        if spec.camera_id in service.registry.cameras:
            raise conflict(f"camera {spec.camera_id!r} exists", "camera_id")
        _check_integrator(service, spec.integrator_id)
        _check_external_ids(service, spec)
        camera = await _put(service, spec, None)
    await service.audit.record(
        principal, Action.CAMERA_CREATE, spec.camera_id, detail=spec.model_dump(mode="json")
    )
    return camera_out(service, camera, service.clock())


@router.get("/v1/cameras", response_model=CameraList, responses=error_responses(401, 403))
async def list_cameras(principal: Operator, service: Service) -> CameraList | Response:
    # At 10,000 cameras building this list was 0.4-0.7 s of work on the loop that streams
    # hits: the health reports (which read the monitors the loop updates) are taken in 2 ms
    # slices, and the models and the JSON are made on a worker thread.
    now = service.clock()
    cameras = sorted(service.registry.cameras.values(), key=lambda c: c.camera_id)
    parts = [(c, service.health.report(c, now)) async for c in sliced(cameras)]
    body = await asyncio.to_thread(_camera_list_json, parts)
    return Response(body, media_type="application/json")


@router.get(
    "/v1/cameras/{camera_id}",
    response_model=CameraOut,
    responses=error_responses(401, 403, 404),
)
async def get_camera(camera_id: str, principal: Operator, service: Service) -> CameraOut:
    return camera_out(service, _camera(service, camera_id), service.clock())


@router.get(
    "/v1/cameras/{camera_id}/health",
    response_model=CameraHealthOut,
    responses=error_responses(401, 403, 404),
)
async def get_camera_health(
    camera_id: str, principal: Operator, service: Service
) -> CameraHealthOut:
    camera = _camera(service, camera_id)
    return health_out(service.health.report(camera, service.clock()))


@router.patch(
    "/v1/cameras/{camera_id}",
    response_model=CameraOut,
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
async def patch_camera(
    camera_id: str, patch: CameraPatch, principal: Admin, service: Service
) -> CameraOut:
    changes = patch.model_dump(mode="json", exclude_unset=True)
    for name in CLEARED_BY_NULL & changes.keys():
        if changes[name] is None:
            changes[name] = CameraSpec.model_fields[name].get_default(call_default_factory=True)
    if changes.get("camera_id", camera_id) != camera_id:
        raise invalid("camera_id", "cannot be changed (delete and register the camera anew)")
    async with service.registry_lock:
        current = _camera(service, camera_id)
        merged = validate_camera({**_spec_fields(current), **changes, "camera_id": camera_id})
        if isinstance(merged, list):
            raise ApiError(422, "invalid camera", errors=merged)
        check_ids(merged)
        _check_external_ids(service, merged)
        if merged.integrator_id != current.integrator_id:
            _check_integrator(service, merged.integrator_id)
        camera = await _put(service, merged, current)
    detail = dict(changes)
    if current.state is CameraState.COMMISSIONING and camera.state is CameraState.LIVE:
        # The evidence the administrator went live on (or overrode), for the auditors.
        _, report = assess(service.health, current, service.clock())
        detail["commissioning_verdict"] = report.verdict.value
        detail["commissioning_summary"] = report.summary
    await service.audit.record(principal, Action.CAMERA_UPDATE, camera_id, detail=detail)
    return camera_out(service, camera, service.clock())


@router.delete(
    "/v1/cameras/{camera_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404, 503),
)
async def delete_camera(camera_id: str, principal: Admin, service: Service) -> Response:
    async with service.registry_lock:
        _camera(service, camera_id)
        async with publishing(service, "camera"):
            await service.registry_writer.delete_camera(camera_id)
        await service.registry_changed.wait_for(
            lambda: camera_id not in service.registry.cameras,
            service.settings.write_visible_timeout_s,
        )
    await service.audit.record(principal, Action.CAMERA_DELETE, camera_id)
    return Response(status_code=204)
