"""Hits: query (newest first, keyset pages), counts, one hit, acknowledgement (operator and up).

Times (`since` inclusive, `until` exclusive) are RFC 3339 with an offset or epoch milliseconds and
bound the hit's `matched_at`, which is also the listing order. `status` is `new` (not yet
acknowledged) or `acknowledged`. A `plate` search needs a `reason` and is audit-logged. Covert
hits do not exist for operators (see `api.hits.views`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from anpr.ids import is_valid_id
from api.audit.log import Action
from api.deps import HitSearcher, Operator, Service
from api.errors import conflict, not_found
from api.hits.schemas import AcknowledgeIn, HitCountsOut, HitOut, HitPage
from api.hits.search import MAX_REASON, HitQuery, search_hits
from api.hits.views import acknowledgement, hit_json, sees_covert, visible
from api.query import IdParam, page_size, time_range
from api.responses import error_responses
from api.service import ApiService
from api.store.base import (
    AckConflict,
    AuditEntry,
    HitAcknowledged,
    HitFilter,
    HitStatus,
    StoredHit,
)

router = APIRouter(tags=["hits"])

Since = Annotated[str | None, Query(description="RFC 3339 with offset, or epoch ms (inclusive).")]
Until = Annotated[str | None, Query(description="RFC 3339 with offset, or epoch ms (exclusive).")]


async def _visible_hit(service: ApiService, hit_id: str, principal: Operator) -> StoredHit:
    hit = await service.store.get_hit(hit_id) if is_valid_id(hit_id) else None
    if hit is None or not visible(hit, principal):
        raise not_found(f"hit {hit_id!r}")
    return hit


@router.get("/v1/hits", response_model=HitPage, responses=error_responses(401, 403, 422))
async def query_hits(
    principal: HitSearcher,
    service: Service,
    since: Since = None,
    until: Until = None,
    camera_id: IdParam = None,
    list_id: IdParam = None,
    plate: Annotated[
        str | None, Query(max_length=64, description="Needs `reason`; audit-logged.")
    ] = None,
    reason: Annotated[
        str | None, Query(max_length=MAX_REASON, description="Why the plate is searched.")
    ] = None,
    status: HitStatus | None = None,
    test: Annotated[
        bool | None,
        Query(description="true: only test hits of commissioning cameras; false: only live."),
    ] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> HitPage:
    size = page_size(limit, service.settings)
    query = HitQuery(
        since=since,
        until=until,
        camera_id=camera_id,
        list_id=list_id,
        plate=plate,
        reason=reason,
        status=status,
        test=test,
        cursor=cursor,
    )
    return HitPage.model_validate(await search_hits(service, principal, query, size))


@router.get(
    "/v1/hits/counts", response_model=HitCountsOut, responses=error_responses(401, 403, 422)
)
async def count_hits(
    principal: Operator,
    service: Service,
    since: Since = None,
    until: Until = None,
    camera_id: IdParam = None,
    list_id: IdParam = None,
    test: Annotated[
        bool | None,
        Query(description="true: only test hits of commissioning cameras; false: only live."),
    ] = None,
) -> HitCountsOut:
    """How many hits (new, acknowledged) match; covert ones count only for supervisors."""
    start, end = time_range(since, until)
    counts = await service.store.count_hits(
        HitFilter(
            since=start,
            until=end,
            camera_id=camera_id,
            list_id=list_id,
            include_covert=sees_covert(principal),
            test=test,
        )
    )
    return HitCountsOut(total=counts.total, new=counts.new, acknowledged=counts.acknowledged)


@router.get("/v1/hits/{hit_id}", response_model=HitOut, responses=error_responses(401, 403, 404))
async def get_hit(hit_id: str, principal: Operator, service: Service) -> HitOut:
    return HitOut.model_validate(hit_json(await _visible_hit(service, hit_id, principal)))


@router.post(
    "/v1/hits/{hit_id}/acknowledge",
    response_model=HitOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def acknowledge_hit(
    hit_id: str, body: AcknowledgeIn, principal: Operator, service: Service
) -> HitOut:
    """The operator is the caller's token; a hit is acknowledged once (a second time: 409)."""
    # The acknowledgement and its audit entry are one transaction: an entry that cannot be
    # written leaves the hit new, never acknowledged without a trace.
    await _visible_hit(service, hit_id, principal)
    ack = acknowledgement(body, principal, service.clock())

    def audit_entry(done: HitAcknowledged) -> AuditEntry:
        detail: dict[str, object] = {"outcome": body.outcome.value}
        if done.closed_alert_id is not None:
            detail["alert_closed"] = done.closed_alert_id
        return service.audit.entry(
            principal,
            Action.HIT_ACKNOWLEDGE,
            hit_id,
            reason=body.note,
            detail=detail,
            covert=done.hit.covert,
        )

    try:
        acknowledged = await service.store.acknowledge(hit_id, ack, audit=audit_entry)
    except AckConflict as exc:
        raise conflict(
            f"hit already acknowledged by {exc.existing.by} ({exc.existing.outcome.value})",
            "hit_id",
        ) from exc
    if acknowledged is None:
        raise not_found(f"hit {hit_id!r}")
    hit = acknowledged.hit
    service.audit.written(Action.HIT_ACKNOWLEDGE, covert=hit.covert)
    return HitOut.model_validate(hit_json(hit))
