"""Models shared by every resource: the error body, health and readiness, pages."""

from __future__ import annotations

from pydantic import BaseModel

from api.errors import BEARER_CHALLENGE


class FieldErrorOut(BaseModel):
    field: str
    message: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[FieldErrorOut] = []


class Alive(BaseModel):
    status: str
    # Every supervised task: state, restarts, recent crashes, last error.
    tasks: dict[str, dict[str, object]] = {}


class Readiness(BaseModel):
    status: str
    registry_loaded: bool
    hotlists_loaded: bool
    hits_caught_up: bool
    # Every consumer loop: state, caught up, lag, stalled, consumers made.
    loops: dict[str, dict[str, object]] = {}


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """The `responses=` of a route: each listed status answers with `ErrorResponse`."""
    out: dict[int | str, dict[str, object]] = {}
    for code in codes:
        entry: dict[str, object] = {"model": ErrorResponse}
        if code == 401:
            entry["headers"] = {name: {"schema": {"type": "string"}} for name in BEARER_CHALLENGE}
        out[code] = entry
    return out
