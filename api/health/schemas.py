"""`/healthz` and `/readyz` bodies: the supervised tasks and consumer loops as they stand."""

from __future__ import annotations

from pydantic import BaseModel


class Alive(BaseModel):
    status: str
    # Every supervised task: state, restarts, recent crashes, last error.
    tasks: dict[str, dict[str, object]] = {}


class Readiness(BaseModel):
    status: str
    registry_loaded: bool
    hotlists_loaded: bool
    hits_caught_up: bool
    # Every consumer loop: state, caught up, lag (not the hotlists followers'), stalled,
    # consumers made.
    loops: dict[str, dict[str, object]] = {}
