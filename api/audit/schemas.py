"""Audit log entries as the auditor reads them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class AuditEntryOut(BaseModel):
    seq: int
    at: str = Field(description="RFC 3339 UTC.")
    actor: str = Field(description="Name of the token that acted.")
    role: str
    action: str = Field(description="e.g. hits.search, hit.acknowledge, camera.create.")
    target: str = Field(description="What was acted on: a normalized plate, a hit_id, an id.")
    reason: str | None = Field(description="Why, as the caller said (search reason, note).")
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None
