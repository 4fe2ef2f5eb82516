"""Investigative search of the read archive (investigator, supervisor, admin; contract section 7).

`GET /v1/reads?plate=&match=exact|ocr&camera_id=&since=&until=&reason=&limit=&cursor=` lists
sightings newest first by (captured_at, read_id) with keyset pages; `GET /v1/reads/{read_id}`
shows one. Every request, each page included, needs a `reason` (at least 5 printable
characters: a case reference or free text) and is written to the audit log, with the reason,
before anything is answered. A search names a `plate` or a `camera_id` (or both): the archive is
not browsed whole. `match=ocr` also finds reads whose plate has the same OCR skeleton and differs
in at most 2 positions (the `ocr` rule of contract section 6). Times bound `captured_at`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from anpr.clock import ms_to_rfc3339
from anpr.normalize import normalize_plate
from api.archive.base import PlateMatch, ReadQuery, Sighting
from api.archive.cursor import decode_read_cursor, encode_read_cursor
from api.audit.log import Action
from api.deps import Investigator, Service
from api.errors import invalid, not_found
from api.query import IdParam, page_size, time_range
from api.reads.schemas import SightingOut, SightingPage
from api.responses import error_responses

router = APIRouter(tags=["reads"])

MIN_REASON = 5
MAX_REASON = 500
Reason = Annotated[
    str | None,
    Query(max_length=MAX_REASON, description="Why (case reference or free text); audited."),
]


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


@router.get("/v1/reads", response_model=SightingPage, responses=error_responses(401, 403, 422))
async def search_reads(
    principal: Investigator,
    service: Service,
    reason: Reason = None,
    plate: Annotated[str | None, Query(max_length=64)] = None,
    match: PlateMatch = PlateMatch.EXACT,
    camera_id: IdParam = None,
    since: Annotated[str | None, Query(description="RFC 3339 or epoch ms (inclusive).")] = None,
    until: Annotated[str | None, Query(description="RFC 3339 or epoch ms (exclusive).")] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> SightingPage:
    why = check_reason(reason)
    size = page_size(limit, service.settings)
    plate_norm = None
    if plate is not None:
        plate_norm = normalize_plate(plate)
        if not plate_norm:
            raise invalid("plate", "has no letters or digits")
    if plate_norm is None and camera_id is None:
        raise invalid("plate", "a search names a plate or a camera_id")
    if match is PlateMatch.OCR and plate_norm is None:
        raise invalid("match", "match=ocr needs a plate")
    start, end = time_range(since, until)
    after = decode_read_cursor(cursor)
    detail = {
        "match": match.value,
        "camera_id": camera_id,
        "since": since,
        "until": until,
        "first_page": cursor is None,
    }
    await service.audit.record(
        principal,
        Action.READS_SEARCH,
        plate_norm or f"camera:{camera_id}",
        reason=why,
        detail={k: v for k, v in detail.items() if v is not None},
    )
    query = ReadQuery(plate_norm, match, camera_id, start, end)
    rows = await service.reads.search(query, after=after, limit=size + 1)
    page = rows[:size]
    next_cursor = encode_read_cursor(page[-1].key) if len(rows) > size else None
    return SightingPage.model_validate(
        {"items": [sighting_json(s) for s in page], "next_cursor": next_cursor}
    )


@router.get(
    "/v1/reads/{read_id}", response_model=SightingOut, responses=error_responses(401, 403, 404, 422)
)
async def get_read(
    read_id: str, principal: Investigator, service: Service, reason: Reason = None
) -> SightingOut:
    why = check_reason(reason)
    if len(read_id) > 128:
        raise not_found(f"read {read_id!r}")
    await service.audit.record(principal, Action.READ_VIEW, read_id, reason=why)
    found = await service.reads.get_read(read_id)
    if found is None:
        raise not_found(f"read {read_id!r}")
    return SightingOut.model_validate(sighting_json(found))
