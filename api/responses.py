"""The error body as the OpenAPI document describes it, and the `responses=` of a route."""

from __future__ import annotations

from pydantic import BaseModel

from api.errors import BEARER_CHALLENGE


class FieldErrorOut(BaseModel):
    field: str
    message: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[FieldErrorOut] = []


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """The `responses=` of a route: each listed status answers with `ErrorResponse`."""
    out: dict[int | str, dict[str, object]] = {}
    for code in codes:
        entry: dict[str, object] = {"model": ErrorResponse}
        if code == 401:
            entry["headers"] = {name: {"schema": {"type": "string"}} for name in BEARER_CHALLENGE}
        if code == 429:
            entry["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
        out[code] = entry
    return out
