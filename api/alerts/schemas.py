"""Alerts as the control room sees them: one per vehicle (plate, list, entry) and its trail."""

from pydantic import BaseModel, Field

from api.hits.schemas import AcknowledgementOut, HitOut
from api.store.base import HitStatus


class AlertOut(BaseModel):
    alert_id: str = Field(description="Derived from the vehicle's key and the opening hit.")
    plate_norm: str
    plate: str | None = Field(description="As read at the latest sighting.")
    country: str | None = None
    list_id: str
    entry_id: str
    category: str
    priority: int = Field(description="1 is the most urgent; the highest of its hits.")
    covert: bool
    test: bool = Field(description="Hits of commissioning cameras: a test, not an alarm.")
    reason: str | None
    action: str | None
    status: HitStatus
    opened_at: str = Field(description="matched_at of the first sighting (RFC 3339 UTC).")
    last_seen_at: str = Field(description="matched_at of the latest sighting (RFC 3339 UTC).")
    sightings: int
    first_hit_id: str
    last_hit_id: str
    last_camera_id: str | None
    last_match_kind: str | None
    historical: bool = Field(
        default=False,
        description="Its latest read is a past one, found by past-read matching: the vehicle "
        "was there then, not necessarily now. A past read that joins a live alert never "
        "becomes its latest read.",
    )
    acknowledgement: AcknowledgementOut | None = None


class SightingOut(BaseModel):
    # Another model is also named SightingOut, so the OpenAPI document names this one by its module
    # path: pinned to the path clients know, so that moving the module renames no component.
    # (Set in the body, the module is fixed before pydantic builds the schema; annotations are
    # therefore evaluated at once, without `from __future__ import annotations`.)
    __module__ = "api.schemas.alerts"

    hit_id: str
    camera_id: str
    camera_name: str | None
    camera_timezone: str | None = Field(description="IANA zone of the camera, when registered.")
    captured_at: str | None
    matched_at: str
    opened: bool = Field(description="True for the sighting that opened the alert.")


class AlertDetail(AlertOut):
    trail: list[SightingOut] = Field(description="Every sighting, oldest first.")
    hit: HitOut | None = Field(description="The latest sighting's hit in full.")


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


class SightingEvent(BaseModel):
    """`data:` of `event: sighting`: the alert as it now is, and the sighting that joined it."""

    alert: AlertOut
    sighting: SightingOut
