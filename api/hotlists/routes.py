"""Hotlists (supervisor and admin): configuration, atomic replacement, upserts and deletions.

An upload with some bad lines writes the good ones and reports the others in `rejected`; an
upload where nothing is usable (a bad CSV header, or every line rejected) changes nothing and
answers 422 with the same body. An upload with no lines at all empties the list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Request, Response

from anpr.auth import Principal
from anpr.clock import ms_to_rfc3339
from anpr.hotlists import LineError, ListConfig
from anpr.ids import is_valid_id
from anpr.threadwork import on_worker
from anpr.timeslice import release
from api.audit.log import Action
from api.deps import Service, Supervisor
from api.errors import ApiError, invalid, not_found
from api.hotlists.pastmatch_out import past_match_out
from api.hotlists.schemas import (
    EntriesResult,
    EntryIn,
    ListIn,
    ListOut,
    ListPage,
    MatcherApplied,
)
from api.hotlists.service import WriteInterrupted
from api.hotlists.upload import UPLOAD_BODY, is_json, parse_upload, read_upload
from api.registry_writes import publishing
from api.responses import error_responses
from api.service import ApiService

router = APIRouter(tags=["hotlists"])
UPSERT_MAX_ENTRIES = 100_000


def list_out(service: ApiService, config: ListConfig) -> ListOut:
    hot = service.hotlists
    return ListOut(
        list_id=config.list_id,
        name=config.name,
        category=config.category,
        priority=config.priority,
        match=config.match,
        covert=config.covert,
        group_window_s=config.group_window_s,
        version=config.version,
        updated_at=ms_to_rfc3339(config.updated_at_ms),
        entries=hot.book.entry_count(config.list_id),
        staged_entries=len(hot.book.staged(config.list_id)),
        past_match_hours=config.past_match_hours,
        past_match=past_match_out(hot.past_match.job(config.list_id)),
        matchers=[
            MatcherApplied(
                matcher_id=status.matcher_id,
                applied_version=version,
                up_to_date=version is not None and version >= config.version,
                at=ms_to_rfc3339(status.at),
            )
            for status, version in hot.matchers.applied(config.list_id)
        ],
    )


def _check_list_id(list_id: str) -> None:
    if not is_valid_id(list_id):
        raise invalid("list_id", "must be 1-128 of A-Z a-z 0-9 . _ : -")


def _existing(service: ApiService, list_id: str) -> ListConfig:
    config = service.hotlists.book.config(list_id)
    if config is None:
        raise not_found(f"hotlist {list_id!r}")
    return config


def _result(config: ListConfig, written: int, rejected: list[LineError]) -> EntriesResult:
    return EntriesResult.model_validate(
        {
            "list_id": config.list_id,
            "version": config.version,
            "entries": written,
            "rejected": [r.as_dict() for r in rejected],
        }
    )


def _nothing_usable(config: ListConfig, rejected: list[LineError]) -> ApiError:
    """422 for an upload without a usable entry: the result body plus the usual errors."""
    return ApiError(
        422,
        "no usable entry in the upload; nothing was changed",
        errors=[
            {"field": e.field, "message": f"line {r.line}: {e.message}"}
            for r in rejected[:100]
            for e in r.errors
        ],
        extra=_result(config, 0, rejected).model_dump(),
    )


async def _audit(
    service: ApiService,
    principal: Principal,
    action: Action,
    target: str,
    *,
    covert: bool,
    **detail: Any,
) -> None:
    await service.audit.record(principal, action, target, detail=detail, covert=covert)


@asynccontextmanager
async def _writing(
    service: ApiService,
    principal: Principal,
    action: Action,
    target: str,
    *,
    covert: bool,
    **detail: Any,
) -> AsyncIterator[None]:
    """`publishing`, and an audit entry marked `interrupted` when the write failed after some
    of its records went out: it answers 503, yet it changed something, and who did is kept."""
    try:
        async with publishing(service, "hotlist", covert=covert):
            yield
    except ApiError as exc:
        if isinstance(exc.__cause__, WriteInterrupted):
            await _audit(
                service, principal, action, target, covert=covert, interrupted=True, **detail
            )
        raise


@router.get("/v1/hotlists", response_model=ListPage, responses=error_responses(401, 403))
async def list_hotlists(principal: Supervisor, service: Service) -> ListPage:
    configs = sorted(service.hotlists.book.configs.values(), key=lambda c: c.list_id)
    return ListPage(items=[list_out(service, config) for config in configs])


@router.get(
    "/v1/hotlists/{list_id}", response_model=ListOut, responses=error_responses(401, 403, 404)
)
async def get_hotlist(list_id: str, principal: Supervisor, service: Service) -> ListOut:
    return list_out(service, _existing(service, list_id))


@router.put(
    "/v1/hotlists/{list_id}",
    response_model=ListOut,
    responses=error_responses(401, 403, 422, 503),
)
async def put_hotlist(
    list_id: str, body: ListIn, principal: Supervisor, service: Service
) -> ListOut:
    """Create the list (empty) or change its configuration; its entries stay."""
    _check_list_id(list_id)
    hot = service.hotlists
    before = hot.book.config(list_id)
    was_covert = before is not None and before.covert
    covert = body.covert or was_covert
    async with hot.lock(list_id), publishing(service, "hotlist", covert=covert):
        config = await hot.put_config(
            list_id,
            name=body.name,
            category=body.category,
            priority=body.priority,
            match=body.match,
            covert=body.covert,
            group_window_s=body.group_window_s,
            past_match_hours=body.past_match_hours,
        )
    await service.audit.record(
        principal,
        Action.HOTLIST_CONFIG,
        list_id,
        detail=body.model_dump(mode="json"),
        covert=config.covert or was_covert,
    )
    return list_out(service, config)


@router.delete(
    "/v1/hotlists/{list_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404, 503),
)
async def delete_hotlist(list_id: str, principal: Supervisor, service: Service) -> Response:
    hot = service.hotlists
    async with hot.lock(list_id):
        current = _existing(service, list_id)
        async with _writing(
            service, principal, Action.HOTLIST_DELETE, list_id, covert=current.covert
        ):
            await hot.delete_list(current)
    await _audit(service, principal, Action.HOTLIST_DELETE, list_id, covert=current.covert)
    return Response(status_code=204)


@router.put(
    "/v1/hotlists/{list_id}/entries",
    response_model=EntriesResult,
    responses=error_responses(401, 403, 404, 413, 415, 422, 503),
    openapi_extra=UPLOAD_BODY,
)
async def replace_entries(
    list_id: str, request: Request, principal: Supervisor, service: Service
) -> EntriesResult:
    """Replace every entry of the list atomically (matchers switch at once to the new set)."""
    _existing(service, list_id)
    raw = await read_upload(request, service.settings.hotlist_max_body_bytes)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    entries, rejected = await on_worker(parse_upload, content_type, raw)
    hot = service.hotlists
    async with hot.lock(list_id):
        current = _existing(service, list_id)
        if rejected and not entries:
            raise _nothing_usable(current, rejected)
        async with _writing(
            service,
            principal,
            Action.HOTLIST_REPLACE,
            list_id,
            covert=current.covert,
            entries=len(entries),
            rejected=len(rejected),
        ):
            config = await hot.replace(current, entries)
    written = len(entries)
    await release(entries)  # in slices, not all at once as this returns (1M entries: 150 ms)
    await _audit(
        service,
        principal,
        Action.HOTLIST_REPLACE,
        list_id,
        covert=config.covert,
        version=config.version,
        entries=written,
        rejected=len(rejected),
    )
    return _result(config, written, rejected)


@router.post(
    "/v1/hotlists/{list_id}/entries",
    response_model=EntriesResult,
    responses=error_responses(401, 403, 404, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": EntryIn.model_json_schema(),
                        "maxItems": UPSERT_MAX_ENTRIES,
                        "title": "Entries",
                    }
                }
            },
        }
    },
)
async def upsert_entries(
    list_id: str, request: Request, principal: Supervisor, service: Service
) -> EntriesResult:
    """Add entries or overwrite them by entry_id (`rejected[].line` is the 1-based item)."""
    _existing(service, list_id)
    # Read raw and parsed on a worker, as an upload is: FastAPI parsed a body parameter on the
    # event loop (16 MiB: ~100 ms of no hits streamed, no request answered).
    raw = await read_upload(request, service.settings.hotlist_upsert_max_body_bytes)
    if not is_json(request.headers.get("content-type")):
        raise invalid("content-type", "send a JSON array of entries as application/json")
    specs, rejected = await on_worker(
        parse_upload, "application/json", raw, max_items=UPSERT_MAX_ENTRIES
    )
    hot = service.hotlists
    async with hot.lock(list_id):
        current = _existing(service, list_id)
        if rejected and not specs:
            raise _nothing_usable(current, rejected)
        if not specs:
            return _result(current, 0, [])
        async with _writing(
            service,
            principal,
            Action.HOTLIST_UPSERT,
            list_id,
            covert=current.covert,
            entry_ids=[s.entry_id for s in specs[:100]],
            entries=len(specs),
            rejected=len(rejected),
        ):
            config = await hot.upsert(current, specs)
    await _audit(
        service,
        principal,
        Action.HOTLIST_UPSERT,
        list_id,
        covert=config.covert,
        version=config.version,
        entry_ids=[s.entry_id for s in specs[:100]],
        entries=len(specs),
        rejected=len(rejected),
    )
    return _result(config, len(specs), rejected)


@router.delete(
    "/v1/hotlists/{list_id}/entries/{entry_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404, 503),
)
async def delete_entry(
    list_id: str, entry_id: str, principal: Supervisor, service: Service
) -> Response:
    hot = service.hotlists
    async with hot.lock(list_id):
        current = _existing(service, list_id)
        if entry_id not in hot.book.entry_ids(list_id):
            raise not_found(f"entry {entry_id!r} of hotlist {list_id!r}")
        async with publishing(service, "hotlist", covert=current.covert):  # two records: one chunk
            config = await hot.delete_entry(current, entry_id)
    await _audit(
        service,
        principal,
        Action.HOTLIST_DELETE_ENTRY,
        f"{list_id}/{entry_id}",
        covert=config.covert,
        version=config.version,
    )
    return Response(status_code=204)
