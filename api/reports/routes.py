"""`GET /v1/reports/hits?since=&until=&group_by=list|camera|outcome|day&timezone=&test=`
(supervisor and up): hit counts by group, with acknowledgement outcomes and the false-positive
share. Supervisors see covert hits (contract section 2), so covert lists are in their report;
the report goes through the same `sees_covert` rule as the hit queries, so a role without it
never gets a covert list or a covert hit counted. Test hits (commissioning cameras) are left
out unless `test=true` (only them) or `test=all`.
"""

from __future__ import annotations

import zoneinfo
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import Service, Supervisor
from api.errors import invalid
from api.hits.views import sees_covert
from api.query import time_range
from api.reports.aggregate import BUCKET_MS, GroupBy, GroupCounts, aggregate
from api.responses import error_responses
from api.store.base import HitFilter

router = APIRouter(tags=["reports"])


class GroupOut(BaseModel):
    key: str = Field(description="list_id, camera_id, outcome or day (YYYY-MM-DD).")
    hits: int
    acknowledged: int
    unacknowledged: int
    outcomes: dict[str, int]
    false_positive_share: float | None = Field(
        description="false_positive / acknowledged; null when nothing is acknowledged."
    )

    @classmethod
    def of(cls, group: GroupCounts) -> GroupOut:
        return cls(
            key=group.key,
            hits=group.hits,
            acknowledged=group.acknowledged,
            unacknowledged=group.unacknowledged,
            outcomes=dict(group.outcomes),
            false_positive_share=group.false_positive_share,
        )


class HitReport(BaseModel):
    group_by: GroupBy
    since: int | None
    until: int | None
    timezone: str
    groups: list[GroupOut]
    total: GroupOut


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise invalid("timezone", "must be an IANA time zone such as Europe/Brussels") from exc


@router.get("/v1/reports/hits", response_model=HitReport, responses=error_responses(401, 403, 422))
async def hit_report(
    principal: Supervisor,
    service: Service,
    group_by: GroupBy,
    since: Annotated[str | None, Query(description="RFC 3339 or epoch ms, inclusive")] = None,
    until: Annotated[str | None, Query(description="RFC 3339 or epoch ms, exclusive")] = None,
    timezone: Annotated[str, Query(max_length=64, description="Days for group_by=day.")] = "UTC",
    test: Literal["false", "true", "all"] = "false",
) -> HitReport:
    start, end = time_range(since, until)
    zone = _zone(timezone)
    flt = HitFilter(
        since=start,
        until=end,
        include_covert=sees_covert(principal),
        test={"false": False, "true": True, "all": None}[test],
    )
    rows = await service.store.hit_outcome_counts(
        flt, dimension=group_by.dimension, bucket_ms=BUCKET_MS
    )
    groups, total = aggregate(rows, group_by, tz=zone)
    return HitReport(
        group_by=group_by,
        since=start,
        until=end,
        timezone=timezone,
        groups=[GroupOut.of(g) for g in groups],
        total=GroupOut.of(total),
    )
