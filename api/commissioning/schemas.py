"""The commissioning report of a camera (`GET /v1/cameras/{camera_id}/commissioning`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

CriterionStatus = Literal["pass", "fail", "insufficient_data", "not_applicable"]
VerdictOut = Literal["pass", "fail", "insufficient_data"]


class LimitOut(BaseModel):
    min: float | None = Field(description="The measured value must be at least this.")
    max: float | None = Field(description="The measured value must be at most this.")


class CriterionOut(BaseModel):
    id: str = Field(description="Stable identifier, e.g. `valid_reads`.")
    title: str
    status: CriterionStatus
    measured: float | None = Field(description="Null when nothing could be measured yet.")
    unit: str
    threshold: LimitOut
    samples: int = Field(description="How many observations the measured value rests on.")
    detail: str
    evidence: dict[str, float | int | None] = Field(
        description="Further figures behind the measured value."
    )


class WindowOut(BaseModel):
    start: str = Field(description="RFC 3339 UTC.")
    end: str = Field(description="RFC 3339 UTC (the time of the report).")
    hours: float


class CountsOut(BaseModel):
    accepted: int
    rejected: int
    duplicates: int
    heartbeats: int


class CommissioningReportOut(BaseModel):
    """The camera's evidence against the acceptance criteria of the connection standard."""

    camera_id: str
    state: Literal["commissioning", "live"]
    verdict: VerdictOut = Field(
        description="`fail` if any criterion fails, else `insufficient_data` if any lacks "
        "evidence, else `pass`."
    )
    summary: str
    images_required: bool
    window: WindowOut
    counts: CountsOut
    criteria: list[CriterionOut]
