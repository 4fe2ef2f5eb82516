"""Hotlists as supervisors manage them (contract section 4)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from anpr.hotlists import (
    GROUP_WINDOW_MAX_S,
    PAST_MATCH_HOURS_MAX,
    PRIORITY_MAX,
    PRIORITY_MIN,
    MatchMode,
)
from api.responses import FieldErrorOut

Text = Annotated[str, Field(min_length=1, max_length=1024)]


class ListIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: Text
    category: Text
    # strict: a boolean or a string is refused, not read as a number (true was priority 1).
    priority: int = Field(ge=PRIORITY_MIN, le=PRIORITY_MAX, strict=True)
    match: MatchMode = MatchMode.EXACT
    covert: bool = False
    group_window_s: int | None = Field(
        default=None,
        ge=0,
        le=GROUP_WINDOW_MAX_S,
        strict=True,
        description="Hits of one vehicle on one entry within this many seconds of the alert's "
        "last sighting join that alert instead of raising a new one; 0: every hit alerts. "
        "Absent: unchanged (600 for a new list).",
    )
    past_match_hours: int | None = Field(
        default=None,
        ge=1,
        le=PAST_MATCH_HOURS_MAX,
        strict=True,
        description="Entries added or changed are matched against the archived reads of this "
        "many hours before the change (past-read matching). Absent: unchanged (for a new list "
        "ANPR_PAST_MATCH_HOURS of the archive, default 24).",
    )


class MatcherApplied(BaseModel):
    matcher_id: str
    applied_version: int | None = Field(description="Null: the matcher has not loaded the list.")
    up_to_date: bool
    at: str = Field(description="When the matcher last reported (RFC 3339 UTC).")


class PastMatchOut(BaseModel):
    job_id: str = Field(description="`<list_id>@<version>`: the list version that added entries.")
    version: int
    state: Literal["pending", "running", "done", "failed"] = Field(
        description="pending: queued or selecting candidates; running: the matchers are trying "
        "the candidates; done; failed (see `error`)."
    )
    entries: int = Field(description="Entries added or changed by that version.")
    since: str = Field(description="Reads captured from this time (RFC 3339 UTC) ...")
    until: str = Field(description="... up to this time were searched.")
    candidates: int = Field(description="Archived reads tried against the entries.")
    hits: int = Field(description="Historical hits found (a hit raised live is shown once).")
    truncated: bool = Field(description="A bound was reached (docs/matching.md).")
    error: str | None = None
    updated_at: str


class ListOut(BaseModel):
    list_id: str
    name: str
    category: str
    priority: int
    match: MatchMode
    covert: bool
    group_window_s: int
    version: int = Field(description="Bumped by every change to the list or its entries.")
    updated_at: str
    entries: int | None = Field(description="Live entries.")
    staged_entries: int = Field(
        default=0,
        description="Entries written at a version the list has not committed yet: a write in "
        "progress, or one interrupted before its commit (they go live with the list's next "
        "change; re-send the whole list to drop them). Normally 0.",
    )
    matchers: list[MatcherApplied]
    past_match_hours: int | None = Field(
        default=None, description="The list's past-match window; null: the archive's default."
    )
    past_match: PastMatchOut | None = Field(
        default=None,
        description="The latest past-match job of the list (null: none yet): new or changed "
        "entries matched against the archived reads.",
    )


class ListPage(BaseModel):
    items: list[ListOut]


class LineErrorOut(BaseModel):
    line: int = Field(description="1-based line of the upload (CSV header = 1; JSON: item).")
    errors: list[FieldErrorOut]


class EntriesResult(BaseModel):
    list_id: str
    version: int
    entries: int = Field(description="Entries this request wrote.")
    rejected: list[LineErrorOut]


class EntryIn(BaseModel):
    """An entry (documentation of the upload; validation is `anpr.hotlists.parse`)."""

    entry_id: str
    plate: str | None = None
    pattern: str | None = Field(default=None, description="`?` one character, `*` any run.")
    country: str | None = None
    zones: list[str] | None = None
    valid_from: str | int | None = None
    valid_until: str | int | None = None
    reason: str | None = None
    action: str | None = None
    priority: int | None = None
