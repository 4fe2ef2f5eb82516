"""Webhook targets per list (admin) and the delivery log (admin).

- `PUT /v1/hotlists/{list_id}/webhooks/{target_id}`: create (201, with the secret, once) or
  replace (200) a target of the list; target ids are unique over all lists.
- `GET /v1/hotlists/{list_id}/webhooks`, `GET|DELETE /v1/hotlists/{list_id}/webhooks/{target_id}`
- `GET /v1/notifications/targets`: every target of every list.
- `GET /v1/notifications/deliveries?since=&until=&target_id=&hit_id=&outcome=&limit=&cursor=`:
  delivery outcomes, newest first; times bound `finished_at`.

Targets are records on the registry topic (`anpr.webhooks`); a write waits (bounded) until this
replica's registry view shows it. Secrets are never answered after creation (`secret_hint`).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from anpr.webhooks import UrlRefused, WebhookTarget, WebhookWriter, check_url, stamp
from api.audit.log import Action
from api.deps import Admin, Service
from api.errors import conflict, invalid, not_found
from api.notifications.schemas import (
    DeliveryOut,
    DeliveryPage,
    IdStr,
    WebhookCreated,
    WebhookIn,
    WebhookList,
    WebhookOut,
)
from api.query import IdParam, decode_audit_cursor, encode_audit_cursor, page_size, time_range
from api.registry_writes import publishing
from api.responses import error_responses
from api.service import ApiService
from api.store.notifications import DeliveryFilter

router = APIRouter(tags=["notifications"])

TARGET_PATH = "/v1/hotlists/{list_id}/webhooks/{target_id}"


def _target(service: ApiService, list_id: str, target_id: str) -> WebhookTarget:
    target = service.registry.webhooks.get(target_id)
    if target is None or target.list_id != list_id:
        raise not_found(f"webhook target {target_id!r} of list {list_id!r}")
    return target


def _writer(service: ApiService) -> WebhookWriter:
    return WebhookWriter(service.bus, service.topics.registry)


@router.put(
    TARGET_PATH,
    response_model=None,
    responses={
        200: {"model": WebhookOut, "description": "Replaced"},
        201: {"model": WebhookCreated, "description": "Created; the only answer with `secret`"},
        **error_responses(401, 403, 404, 409, 422, 503),
    },
)
async def put_webhook(
    list_id: IdStr,
    target_id: IdStr,
    body: WebhookIn,
    principal: Admin,
    service: Service,
) -> JSONResponse:
    if service.hotlists.book.config(list_id) is None:
        raise not_found(f"hotlist {list_id!r}")
    try:
        url = check_url(body.url, allow_http_loopback=service.settings.webhook_allow_http_loopback)
    except UrlRefused as exc:
        raise invalid("url", str(exc)) from exc
    async with service.registry_lock:
        old = service.registry.webhooks.get(target_id)
        if old is not None and old.list_id != list_id:
            raise conflict(f"target {target_id!r} belongs to list {old.list_id!r}", "target_id")
        secret = body.secret or (old.secret if old else secrets.token_urlsafe(32))
        target = stamp(
            WebhookTarget(
                target_id=target_id,
                list_id=list_id,
                entry_id=body.entry_id,
                url=url,
                secret=secret,
                min_priority=body.min_priority,
                covert_allowed=body.covert_allowed,
                include_images=body.include_images,
                include_test=body.include_test,
                description=body.description,
                created_at=old.created_at if old else 0,
                updated_at=0,
            ),
            created=old is None,
            at=service.clock(),
        )
        async with publishing(service, "webhook", covert=_covert_list(service, list_id)):
            await _writer(service).put(target)
        await service.registry_changed.wait_for(
            lambda: service.registry.webhooks.get(target_id) == target,
            service.settings.write_visible_timeout_s,
        )
    await service.audit.record(
        principal,
        Action.WEBHOOK_PUT,
        f"webhook/{target_id}",
        detail={
            "list_id": list_id,
            "entry_id": body.entry_id,
            "created": old is None,
            "secret_changed": old is None or secret != old.secret,
            "covert_allowed": body.covert_allowed,
            "min_priority": body.min_priority,
        },
        covert=_covert_list(service, list_id),
    )
    out = WebhookOut.of(target)
    if old is None:
        created = WebhookCreated(**out.model_dump(), secret=secret)
        return JSONResponse(created.model_dump(mode="json"), status_code=201)
    return JSONResponse(out.model_dump(mode="json"))


@router.get(TARGET_PATH, response_model=WebhookOut, responses=error_responses(401, 403, 404, 422))
async def get_webhook(
    list_id: IdStr, target_id: IdStr, principal: Admin, service: Service
) -> WebhookOut:
    return WebhookOut.of(_target(service, list_id, target_id))


@router.delete(TARGET_PATH, status_code=204, responses=error_responses(401, 403, 404, 422, 503))
async def delete_webhook(
    list_id: IdStr, target_id: IdStr, principal: Admin, service: Service
) -> Response:
    async with service.registry_lock:
        _target(service, list_id, target_id)
        async with publishing(service, "webhook", covert=_covert_list(service, list_id)):
            await _writer(service).delete(target_id)
        await service.registry_changed.wait_for(
            lambda: target_id not in service.registry.webhooks,
            service.settings.write_visible_timeout_s,
        )
    await service.audit.record(
        principal,
        Action.WEBHOOK_DELETE,
        f"webhook/{target_id}",
        detail={"list_id": list_id},
        covert=_covert_list(service, list_id),
    )
    return Response(status_code=204)


@router.get(
    "/v1/hotlists/{list_id}/webhooks",
    response_model=WebhookList,
    responses=error_responses(401, 403, 422),
)
async def list_webhooks(list_id: IdStr, principal: Admin, service: Service) -> WebhookList:
    targets = [t for t in service.registry.webhooks.values() if t.list_id == list_id]
    return WebhookList(items=[WebhookOut.of(t) for t in sorted(targets, key=_by_id)])


@router.get(
    "/v1/notifications/targets", response_model=WebhookList, responses=error_responses(401, 403)
)
async def all_webhooks(principal: Admin, service: Service) -> WebhookList:
    targets = sorted(service.registry.webhooks.values(), key=_by_id)
    return WebhookList(items=[WebhookOut.of(t) for t in targets])


def _by_id(target: WebhookTarget) -> tuple[str, str]:
    return target.list_id, target.target_id


@router.get(
    "/v1/notifications/deliveries",
    response_model=DeliveryPage,
    responses=error_responses(401, 403, 422),
)
async def query_deliveries(
    principal: Admin,
    service: Service,
    since: Annotated[str | None, Query(description="finished_at, inclusive")] = None,
    until: Annotated[str | None, Query(description="finished_at, exclusive")] = None,
    target_id: IdParam = None,
    hit_id: IdParam = None,
    outcome: Literal["delivered", "failed", "cancelled"] | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> DeliveryPage:
    size = page_size(limit, service.settings)
    start, end = time_range(since, until)
    rows = await service.store.query_deliveries(
        DeliveryFilter(start, end, target_id, hit_id, outcome),
        before_seq=decode_audit_cursor(cursor),
        limit=size + 1,
    )
    page = rows[:size]
    next_cursor = encode_audit_cursor(page[-1].seq) if len(rows) > size else None
    return DeliveryPage(
        items=[DeliveryOut.model_validate(r.result.model_dump(mode="json")) for r in page],
        next_cursor=next_cursor,
    )


def _covert_list(service: ApiService, list_id: str) -> bool:
    config = service.hotlists.book.config(list_id)
    return config is not None and config.covert
