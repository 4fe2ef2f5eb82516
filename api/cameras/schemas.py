"""Cameras as administrators register and change them and operators read them (contract
sections 2 and 4)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from anpr.registry import CameraSpec, CameraState, GeoPoint
from api.fields import IdStr, Name


class CameraHealthOut(BaseModel):
    """Contract section 4; thresholds in `api.health.state`. Times are RFC 3339 UTC."""

    status: Literal["online", "degraded", "offline", "never_seen"]
    last_read_at: str | None
    last_heartbeat_at: str | None
    reads_last_5m: int
    reads_last_1h: int
    clock_skew_ms: int | None = Field(
        description="Median of received_at - captured_at over the camera's recent reads."
    )
    low_confidence_ratio: float | None = Field(
        description="Share of last-hour reads with a confidence below 0.5 (of those with one)."
    )
    rejected_last_1h: int
    duplicate_ratio: float | None = Field(
        description="Resent reads / (accepted + resent), last hour."
    )
    status_since: str | None = Field(description="When the status last changed (this replica).")
    reasons: list[str] = Field(description="Why the camera is degraded or offline.")


class CameraOut(CameraSpec):
    updated_at: str | None = None
    health: CameraHealthOut


class CameraList(BaseModel):
    items: list[CameraOut]


class CameraPatch(BaseModel):
    """Fields to change; absent fields keep their value, `null` clears an optional one (zones
    and external ids to `[]`, the time zone to UTC); `null` for a required one, or for
    `state`, is refused."""

    model_config = ConfigDict(extra="ignore")
    camera_id: str | None = Field(default=None, description="If given, must match the path.")
    integrator_id: IdStr | None = None
    name: Name | None = None
    zones: list[str] | None = None
    location: GeoPoint | None = None
    # strict: a boolean or a string is refused, not read as a number.
    expected_reads_per_hour: float | None = Field(default=None, allow_inf_nan=False, strict=True)
    timezone: str | None = None
    external_ids: list[str] | None = None
    state: CameraState | None = None
