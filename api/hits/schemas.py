"""Hits as the API shows them: the hit of contract section 5 plus its acknowledgement state.

Every record consumed from the hits topic is put in `HitBody`'s shape (`api.hits.body`, held to
this model by tests), so what the store holds always fits the response model (a malformed record
is counted and skipped, never answered as a 500).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.store.base import HitStatus, Outcome


class CandidateOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    plate: str
    plate_norm: str | None = None
    confidence: float | None = None


class ReadOut(BaseModel):
    """The read as on `anpr.reads.v1`; fields the gateway adds later pass through."""

    model_config = ConfigDict(extra="allow")
    v: int = 1
    read_id: str
    camera_id: str
    integrator_id: str | None = None
    captured_at: str
    captured_at_ms: int | None = None
    received_at: int | None = None
    plate: str
    plate_norm: str
    country: str | None = None
    confidence: float | None = None
    candidates: list[CandidateOut] | None = None
    direction: str | None = None
    lane: int | None = None
    vehicle: dict[str, str] | None = None
    images: dict[str, str] | None = None
    location: dict[str, float] | None = None


class MatchOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: Literal["exact", "ocr", "fuzzy", "pattern"]
    source: Literal["plate", "candidate"]
    read_plate: str
    entry_plate: str
    distance: int = 0


class LatencyOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    ingest_to_match: int | None = None
    capture_to_match: int | None = None


class HitBody(BaseModel):
    """A hit as the matcher publishes it. `test` is true for hits from commissioning cameras."""

    model_config = ConfigDict(extra="allow")
    v: int = 1
    hit_id: str = Field(min_length=1, max_length=128)
    read: ReadOut
    list_id: str = Field(min_length=1, max_length=128)
    entry_id: str = Field(min_length=1, max_length=128)
    category: str = ""
    priority: int = 3
    covert: bool = False
    test: bool = Field(
        default=False,
        description="True for a hit of a camera in state `commissioning`: a test of the "
        "connection, not an alert to act on.",
    )
    historical: bool = Field(
        default=False,
        description="True for a hit of past-read matching: the read was archived before the "
        "entry it matches was added. Same hit_id as a live match of the same read and entry.",
    )
    reason: str | None = None
    action: str | None = None
    match: MatchOut
    matched_at: int
    latency_ms: LatencyOut = Field(default_factory=LatencyOut)


class AcknowledgementOut(BaseModel):
    outcome: Outcome
    note: str | None
    by: str = Field(description="Name of the token that acknowledged the hit.")
    role: str
    at: str = Field(description="RFC 3339 UTC.")


class HitOut(HitBody):
    status: HitStatus = Field(description="`new` until an operator acknowledges it.")
    acknowledgement: AcknowledgementOut | None = None


class HitPage(BaseModel):
    items: list[HitOut]
    next_cursor: str | None = Field(
        description="Opaque; pass as `cursor` for the next (older) page. Null on the last page."
    )


class HitCountsOut(BaseModel):
    total: int
    new: int
    acknowledged: int


class AcknowledgeIn(BaseModel):
    # Of a hit or an alert. The note may span lines; a NUL is refused (PostgreSQL cannot store
    # it in text, and the note is also the audit entry's reason). A comment, not a docstring:
    # a docstring would change the OpenAPI document.
    model_config = ConfigDict(extra="forbid")
    outcome: Outcome
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("note")
    @classmethod
    def _no_nul(cls, note: str | None) -> str | None:
        if note is not None and "\x00" in note:
            raise ValueError("must not contain a NUL character")
        return note


class StreamEvent(BaseModel):
    """One server-sent event: `event: hit`, `id: <hit_id>`, `data: <HitOut as JSON>`."""

    event: Literal["hit"]
    id: str
    data: HitOut
