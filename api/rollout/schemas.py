"""The rollout report as JSON (`GET /v1/rollout`): counts, durations and reasons; no plate, no hit.
Each field's meaning is documented in docs/connection-standard.md ("The rollout report")."""

from pydantic import BaseModel, Field


class StageOut(BaseModel):
    stage: str
    cameras: int = Field(description="Cameras in this stage now.")
    samples: int = Field(description="Cameras whose time in the stage is measured.")
    median_days: float | None
    p90_days: float | None


class StuckOut(BaseModel):
    camera_id: str
    integrator_id: str
    stage: str
    since: str = Field(description="When the camera entered its stage (RFC 3339).")
    days: float
    reason_code: str
    reason: str = Field(description="The blocking criterion or error, with its measure.")


class WeekOut(BaseModel):
    week: str = Field(description="ISO week, e.g. 2026-W48.")
    starts: str
    connected: int = Field(description="Cameras that went live that week.")


class GroupOut(BaseModel):
    # Another model is also named GroupOut, so the OpenAPI document names this one by its module
    # path: pinned to the path clients know, so that moving the module renames no component.
    # (Set in the body, the module is fixed before pydantic builds the schema; annotations are
    # therefore evaluated at once, without `from __future__ import annotations`.)
    __module__ = "api.schemas.rollout"

    integrator_id: str | None = Field(description="None for the whole network.")
    name: str
    cameras: int
    stuck_cameras: int
    median_days_to_live: float | None
    stages: list[StageOut]
    stuck: list[StuckOut]
    weeks: list[WeekOut]


class ReasonOut(BaseModel):
    reason_code: str
    reason: str
    cameras: int = Field(description="Cameras not live that this reason blocks.")
    stuck: int = Field(description="Of those, stuck longer than the threshold.")


class RolloutOut(BaseModel):
    generated_at: str
    stuck_after_days: float
    overall: GroupOut
    integrators: list[GroupOut] = Field(description="Ranked: most stuck cameras first.")
    top_reasons: list[ReasonOut]
