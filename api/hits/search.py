"""A hit search as `GET /v1/hits` runs it: the caller's query checked and turned into a filter,
a plate search audit-logged with its reason before anything is answered, one keyset page.

A `plate` search needs a `reason` (at least 5 printable characters: a case reference or free
text). Covert hits are searched only for callers who may see them (`api.hits.views`). An
investigator may search hits by plate (contract section 2), always with a reason, and nothing
else of the hits: no search without a plate, no stream, no acknowledgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anpr.auth import Principal, Role
from anpr.normalize import normalize_plate
from api.audit.log import Action
from api.errors import invalid
from api.hits.views import hit_json, sees_covert
from api.query import decode_hit_cursor, encode_hit_cursor, time_range
from api.service import ApiService
from api.store.base import HitFilter, HitStatus, PageKey

MAX_REASON = 500
MIN_REASON = 5


def reason_problem(reason: str | None) -> str | None:
    """Why `reason` cannot justify a plate search: it is audited, so it must say something."""
    if reason is None or not reason.strip():
        return "a plate search needs a reason (free text or case reference)"
    if not reason.isprintable():
        return "must not contain control characters"
    if len(reason.strip()) < MIN_REASON:
        return f"at least {MIN_REASON} printable characters (free text or case reference)"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class HitQuery:
    """The query parameters of `GET /v1/hits`, as the caller gave them."""

    since: str | None = None
    until: str | None = None
    camera_id: str | None = None
    list_id: str | None = None
    plate: str | None = None
    reason: str | None = None
    status: HitStatus | None = None
    test: bool | None = None
    cursor: str | None = None

    def audit_detail(self) -> dict[str, object]:
        """What a plate search's audit entry records besides the plate and the reason."""
        detail = {
            "since": self.since,
            "until": self.until,
            "camera_id": self.camera_id,
            "list_id": self.list_id,
            "status": self.status.value if self.status else None,
            "first_page": self.cursor is None,
        }
        return {k: v for k, v in detail.items() if v is not None}


def _plate(query: HitQuery) -> str | None:
    """The normalized plate searched for; 422 on `plate` or `reason` when it cannot be."""
    if query.plate is None:
        return None
    plate_norm = normalize_plate(query.plate)
    if not plate_norm:
        raise invalid("plate", "has no letters or digits")
    problem = reason_problem(query.reason)
    if problem is not None:
        raise invalid("reason", problem)
    return plate_norm


async def search_hits(
    service: ApiService, principal: Principal, query: HitQuery, size: int
) -> dict[str, Any]:
    """One page (`HitPage` as JSON) of the hits `query` finds, newest first."""
    start, end = time_range(query.since, query.until)
    after = decode_hit_cursor(query.cursor)
    if query.plate is None and not principal.has(Role.OPERATOR):
        # An investigator searches hits by plate only (contract section 2), never browses them.
        raise invalid("plate", "an investigator's hit search names a plate")
    plate_norm = _plate(query)
    flt = HitFilter(
        since=start,
        until=end,
        camera_id=query.camera_id,
        list_id=query.list_id,
        plate_norm=plate_norm,
        status=query.status,
        include_covert=sees_covert(principal),
        test=query.test,
    )
    if plate_norm is not None:
        await service.audit.record(
            principal,
            Action.HITS_SEARCH,
            plate_norm,
            reason=(query.reason or "").strip(),
            detail=query.audit_detail(),
            covert=sees_covert(principal) and _names_covert_list(service, query.list_id),
        )
    rows = await service.store.query_hits(flt, after=after, limit=size + 1)
    page = rows[:size]
    next_cursor = None
    if len(rows) > size:
        next_cursor = encode_hit_cursor(PageKey(page[-1].matched_at, page[-1].hit_id))
    return {"items": [hit_json(hit) for hit in page], "next_cursor": next_cursor}


def _names_covert_list(service: ApiService, list_id: str | None) -> bool:
    """Whether the search names a covert list. Asked only for callers cleared for covert: the
    mark keeps an entry off `/metrics`, so for anyone else a counter that did not move would
    confirm a guessed list id covert. Their entry is still shown redacted to auditors, by the
    list it names (`api.audit.redact`); their search finds none of its hits."""
    config = None if list_id is None else service.hotlists.book.config(list_id)
    return config is not None and config.covert
