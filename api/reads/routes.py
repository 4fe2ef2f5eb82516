"""Investigative search of the read archive (investigator, supervisor, admin; contract section 7).

`GET /v1/reads?plate=&match=exact|ocr&camera_id=&since=&until=&reason=&limit=&cursor=` lists
sightings newest first by (captured_at, read_id, camera_id) with keyset pages;
`GET /v1/reads/{read_id}[?camera_id=]` shows one. Every request, each page included, needs a
`reason` (at least 5 printable characters: a case reference or free text) and is written to the
audit log, with the reason, before anything is answered. A search names a `plate` or a
`camera_id` (or both): the archive is not browsed whole. `match=ocr` also finds reads whose plate
has the same OCR skeleton and differs in at most 2 positions (the `ocr` rule of contract
section 6). Times bound `captured_at`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from anpr.ids import is_valid_id
from api.archive.base import PlateMatch
from api.audit.log import Action
from api.deps import Investigator, Service
from api.errors import ApiError, not_found
from api.query import IdParam
from api.reads.schemas import SightingOut, SightingPage
from api.reads.search import MAX_REASON, ReadSearch, check_reason, search_archive, sighting_json
from api.responses import error_responses

router = APIRouter(tags=["reads"])

Reason = Annotated[
    str | None,
    Query(max_length=MAX_REASON, description="Why (case reference or free text); audited."),
]


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
    search = ReadSearch(
        reason=reason,
        plate=plate,
        match=match,
        camera_id=camera_id,
        since=since,
        until=until,
        cursor=cursor,
    )
    return SightingPage.model_validate(await search_archive(service, principal, search, limit))


@router.get(
    "/v1/reads/{read_id}",
    response_model=SightingOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def get_read(
    read_id: str,
    principal: Investigator,
    service: Service,
    reason: Reason = None,
    camera_id: IdParam = None,
) -> SightingOut:
    """One read. A read_id is unique per camera only: when cameras share it, `409` names them
    (field `camera_id`) and `camera_id=` picks one; never another camera's read instead."""
    why = check_reason(reason)
    if not is_valid_id(read_id):
        raise not_found(f"read {read_id!r}")
    target = read_id if camera_id is None else f"{camera_id}/{read_id}"
    await service.audit.record(principal, Action.READ_VIEW, target, reason=why)
    found = await service.reads.get_reads(read_id, camera_id=camera_id)
    if not found:
        raise not_found(f"read {read_id!r}")
    cameras = sorted({s.camera_id for s in found})
    if len(cameras) > 1:
        detail = f"read_id {read_id!r} is used by cameras {', '.join(cameras)}: give camera_id"
        raise ApiError(409, detail, errors=[{"field": "camera_id", "message": detail}])
    return SightingOut.model_validate(sighting_json(found[0]))
