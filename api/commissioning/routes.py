"""`GET /v1/cameras/{camera_id}/commissioning`: the camera against the connection standard.

Operator, supervisor and admin may read it: it holds counts and timings of the camera, no plate
and no hit, like the camera's health. Integrators may not (their tokens push reads, nothing
else); the administrator shares the report with them. Moving the camera to `live` is
`PATCH /v1/cameras/{camera_id}` `{"state": "live"}` (admin), which records the verdict of the
moment in the audit log.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Query

from anpr.clock import ms_to_rfc3339
from anpr.registry import Camera
from api.commissioning.criteria import DEFAULT_THRESHOLDS
from api.commissioning.gather import MAX_HOURS, assess
from api.commissioning.model import HOUR_MS, CommissioningReport, CommissioningStats, Criterion
from api.commissioning.schemas import CommissioningReportOut
from api.deps import Operator, Service
from api.errors import not_found
from api.responses import error_responses

router = APIRouter(tags=["cameras"])

Hours = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_HOURS,
        description="Look back over this many clock hours, the current one included "
        "(`1` is always shorter than the one-hour minimum: it can show faults, never a pass).",
    ),
]
ImagesRequired = Annotated[
    bool,
    Query(description="Judge the `images` criterion (by default it is not required)."),
]


def _criterion(c: Criterion) -> dict[str, object]:
    return {
        "id": c.id,
        "title": c.title,
        "status": c.status.value,
        "measured": c.measured,
        "unit": c.unit,
        "threshold": {"min": c.threshold.min, "max": c.threshold.max},
        "samples": c.samples,
        "detail": c.detail,
        "evidence": dict(c.evidence),
    }


def report_out(
    camera: Camera, stats: CommissioningStats, report: CommissioningReport, *, images_required: bool
) -> CommissioningReportOut:
    return CommissioningReportOut.model_validate(
        {
            "camera_id": camera.camera_id,
            "state": camera.state.value,
            "verdict": report.verdict.value,
            "summary": report.summary,
            "images_required": images_required,
            "window": {
                "start": ms_to_rfc3339(report.window_start),
                "end": ms_to_rfc3339(report.window_end),
                "hours": round(stats.window_ms / HOUR_MS, 2),
            },
            "counts": {
                "accepted": stats.reads,
                "rejected": stats.rejected,
                "duplicates": stats.duplicates,
                "heartbeats": stats.heartbeats,
            },
            "criteria": [_criterion(c) for c in report.criteria],
        }
    )


@router.get(
    "/v1/cameras/{camera_id}/commissioning",
    response_model=CommissioningReportOut,
    responses=error_responses(401, 403, 404, 422),
)
async def get_commissioning(
    camera_id: str,
    principal: Operator,
    service: Service,
    hours: Hours = MAX_HOURS,
    images_required: ImagesRequired = False,
) -> CommissioningReportOut:
    camera = service.registry.cameras.get(camera_id)
    if camera is None:
        raise not_found(f"camera {camera_id!r}")
    thresholds = dataclasses.replace(DEFAULT_THRESHOLDS, images_required=images_required)
    stats, report = assess(
        service.health, camera, service.clock(), hours=hours, thresholds=thresholds
    )
    return report_out(camera, stats, report, images_required=images_required)
