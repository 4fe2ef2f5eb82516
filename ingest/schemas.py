"""Response models of the gateway, for the OpenAPI schema."""

from __future__ import annotations

from pydantic import BaseModel


class FieldErrorOut(BaseModel):
    field: str
    message: str


class RejectedRead(BaseModel):
    index: int
    read_id: str | None
    errors: list[FieldErrorOut]


class IngestResponse(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[RejectedRead]


class ErrorResponse(BaseModel):
    detail: str
    errors: list[FieldErrorOut] = []


class HeartbeatResponse(BaseModel):
    accepted: int
