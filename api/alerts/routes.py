"""Alerts (operator and up): one per vehicle within the list's `group_window_s`.

`GET /v1/alerts` lists them by latest activity, newest first (`since` bounds the latest sighting,
`until` the first); `GET /v1/alerts/{id}` adds the trail of sightings and the latest hit;
acknowledging an alert acknowledges its hits not yet acknowledged, once (a second time: 409,
naming who did). Covert alerts do not exist for operators, exactly like covert hits.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from anpr.ids import is_valid_id
from api.alerts.schemas import AlertDetail, AlertOut, AlertPage
from api.alerts.views import alert_json, sighting_json
from api.audit.log import Action
from api.deps import Operator, Service
from api.errors import ApiError, not_found
from api.hits.schemas import AcknowledgeIn
from api.hits.views import ack_json, acknowledgement, hit_json, sees_covert
from api.query import IdParam, decode_alert_cursor, encode_alert_cursor, page_size, time_range
from api.responses import error_responses
from api.service import ApiService
from api.store.alerts import AlertAcknowledged, AlertFilter, AlertPageKey, StoredAlert
from api.store.base import AckConflict, AuditEntry, HitStatus

# An alert of a thousand sightings names its hits in its audit entry up to this many.
MAX_AUDITED_HIT_IDS = 1000

router = APIRouter(tags=["alerts"])


async def _visible_alert(service: ApiService, alert_id: str, principal: Operator) -> StoredAlert:
    alert = await service.store.get_alert(alert_id) if is_valid_id(alert_id) else None
    if alert is None or (alert.key.covert and not sees_covert(principal)):
        raise not_found(f"alert {alert_id!r}")
    return alert


@router.get("/v1/alerts", response_model=AlertPage, responses=error_responses(401, 403, 422))
async def list_alerts(
    principal: Operator,
    service: Service,
    since: Annotated[str | None, Query(description="Latest sighting at or after.")] = None,
    until: Annotated[str | None, Query(description="First sighting before.")] = None,
    camera_id: IdParam = None,
    list_id: IdParam = None,
    status: HitStatus | None = None,
    test: bool | None = None,
    max_priority: Annotated[
        int | None, Query(ge=1, le=5, description="Only priorities 1..max_priority.")
    ] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> AlertPage:
    size = page_size(limit, service.settings)
    start, end = time_range(since, until)
    flt = AlertFilter(
        since=start,
        until=end,
        camera_id=camera_id,
        list_id=list_id,
        status=status,
        include_covert=sees_covert(principal),
        test=test,
        min_priority=max_priority,
    )
    rows = await service.store.query_alerts(flt, after=decode_alert_cursor(cursor), limit=size + 1)
    page = rows[:size]
    next_cursor = None
    if len(rows) > size:
        next_cursor = encode_alert_cursor(AlertPageKey(page[-1].last_seen, page[-1].alert_id))
    return AlertPage.model_validate(
        {"items": [alert_json(a) for a in page], "next_cursor": next_cursor}
    )


async def _detail(service: ApiService, alert: StoredAlert) -> AlertDetail:
    trail = await service.store.alert_sightings(alert.alert_id)
    hit = await service.store.get_hit(alert.last_hit_id)
    return AlertDetail.model_validate(
        {
            **alert_json(alert),
            "trail": [sighting_json(s, service.registry) for s in trail],
            "hit": hit_json(hit) if hit is not None else None,
        }
    )


@router.get(
    "/v1/alerts/{alert_id}", response_model=AlertDetail, responses=error_responses(401, 403, 404)
)
async def get_alert(alert_id: str, principal: Operator, service: Service) -> AlertDetail:
    return await _detail(service, await _visible_alert(service, alert_id, principal))


@router.post(
    "/v1/alerts/{alert_id}/acknowledge",
    response_model=AlertDetail,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def acknowledge_alert(
    alert_id: str, body: AcknowledgeIn, principal: Operator, service: Service
) -> AlertDetail:
    """Acknowledges the alert and its hits not yet acknowledged; the next sighting of the
    vehicle opens a new alert. A second acknowledgement is 409 and names who was first."""
    # The alert's and its hits' acknowledgements and the audit entry are one transaction.
    await _visible_alert(service, alert_id, principal)
    ack = acknowledgement(body, principal, service.clock())

    def audit_entry(done: AlertAcknowledged) -> AuditEntry:
        # The hits acknowledged by this, by id: those acknowledged before, one by one, are in
        # their own `hit.acknowledge` entries (an auditor finds every hit's acknowledgement).
        return service.audit.entry(
            principal,
            Action.ALERT_ACKNOWLEDGE,
            alert_id,
            reason=body.note,
            detail={
                "outcome": body.outcome.value,
                "sightings": done.alert.sightings,
                "hits": len(done.hit_ids),
                "hit_ids": list(done.hit_ids[:MAX_AUDITED_HIT_IDS]),
            },
            covert=done.alert.key.covert,
        )

    try:
        acknowledged = await service.store.acknowledge_alert(alert_id, ack, audit=audit_entry)
    except AckConflict as exc:
        first = exc.existing
        detail = f"alert already acknowledged by {first.by} ({first.outcome.value})"
        raise ApiError(
            409,
            detail,
            errors=[{"field": "alert_id", "message": detail}],
            extra={"acknowledgement": ack_json(first)},
        ) from exc
    if acknowledged is None:
        raise not_found(f"alert {alert_id!r}")
    alert = acknowledged.alert
    service.audit.written(Action.ALERT_ACKNOWLEDGE, covert=alert.key.covert)
    return await _detail(service, alert)


__all__ = ["AlertOut", "router"]
