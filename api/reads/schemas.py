"""Sightings: archived reads as an investigator sees them (`GET /v1/reads`)."""

from typing import Any

from pydantic import BaseModel, Field


class SightingOut(BaseModel):
    # Another model is also named SightingOut, so the OpenAPI document names this one by its module
    # path: pinned to the path clients know, so that moving the module renames no component.
    # (Set in the body, the module is fixed before pydantic builds the schema; annotations are
    # therefore evaluated at once, without `from __future__ import annotations`.)
    __module__ = "api.schemas.reads"

    read_id: str
    camera_id: str
    captured_at: str = Field(description="RFC 3339, UTC.")
    captured_at_ms: int
    received_at: int = Field(description="When the gateway accepted the read (epoch ms).")
    plate: str = Field(description="The plate as the camera read it.")
    plate_norm: str
    country: str | None = None
    confidence: float | None = None
    images: dict[str, str] | None = Field(
        default=None,
        description="The read's images when the camera sent and the archive kept them.",
    )
    read: dict[str, Any] = Field(description="The whole read as it was on the reads topic.")


class SightingPage(BaseModel):
    items: list[SightingOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same filters) for more."
    )
