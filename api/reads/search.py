"""A search of the read archive as `GET /v1/reads` runs it, and a read as the API shows it.

Every request needs a `reason` (at least 5 printable characters: a case reference or free text)
and is written to the audit log, with the reason, before anything is answered. A search names a
`plate` or a `camera_id` (or both): the archive is not browsed whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anpr.auth import Principal
from anpr.clock import ms_to_rfc3339
from anpr.normalize import normalize_plate
from api.archive.base import PlateMatch, ReadQuery, Sighting
from api.archive.cursor import decode_read_cursor, encode_read_cursor
from api.audit.log import Action
from api.errors import invalid
from api.query import page_size, time_range
from api.service import ApiService

MIN_REASON = 5
MAX_REASON = 500


def check_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) < MIN_REASON or not text.isprintable():
        raise invalid(
            "reason",
            f"a search of the read archive needs a reason of at least {MIN_REASON} printable "
            "characters (case reference or free text)",
        )
    return text


def sighting_json(s: Sighting) -> dict[str, Any]:
    images = s.body.get("images")
    return {
        "read_id": s.read_id,
        "camera_id": s.camera_id,
        "captured_at": ms_to_rfc3339(s.captured_at),
        "captured_at_ms": s.captured_at,
        "received_at": s.received_at,
        "plate": s.plate,
        "plate_norm": s.plate_norm,
        "country": s.country,
        "confidence": s.confidence,
        "images": images if isinstance(images, dict) and images else None,
        "read": s.body,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadSearch:
    """The query parameters of `GET /v1/reads`, as the caller gave them."""

    reason: str | None = None
    plate: str | None = None
    match: PlateMatch = PlateMatch.EXACT
    camera_id: str | None = None
    since: str | None = None
    until: str | None = None
    cursor: str | None = None


def _plate(search: ReadSearch) -> str | None:
    """The normalized plate searched for; 422 when the search names nothing to look for."""
    plate_norm = None
    if search.plate is not None:
        plate_norm = normalize_plate(search.plate)
        if not plate_norm:
            raise invalid("plate", "has no letters or digits")
    if plate_norm is None and search.camera_id is None:
        raise invalid("plate", "a search names a plate or a camera_id")
    if search.match is PlateMatch.OCR and plate_norm is None:
        raise invalid("match", "match=ocr needs a plate")
    return plate_norm


async def search_archive(
    service: ApiService, principal: Principal, search: ReadSearch, limit: int | None
) -> dict[str, Any]:
    """One page (`SightingPage` as JSON) of the reads `search` finds, newest first."""
    why = check_reason(search.reason)
    size = page_size(limit, service.settings)
    plate_norm = _plate(search)
    start, end = time_range(search.since, search.until)
    after = decode_read_cursor(search.cursor)
    detail = {
        "match": search.match.value,
        "camera_id": search.camera_id,
        "since": search.since,
        "until": search.until,
        "first_page": search.cursor is None,
    }
    await service.audit.record(
        principal,
        Action.READS_SEARCH,
        plate_norm or f"camera:{search.camera_id}",
        reason=why,
        detail={k: v for k, v in detail.items() if v is not None},
    )
    query = ReadQuery(plate_norm, search.match, search.camera_id, start, end)
    rows = await service.reads.search(query, after=after, limit=size + 1)
    page = rows[:size]
    next_cursor = encode_read_cursor(page[-1].key) if len(rows) > size else None
    return {"items": [sighting_json(s) for s in page], "next_cursor": next_cursor}
