"""`GET /v1/audit` (auditor, and admin who may do everything): newest first, keyset pages.

Entries about covert lists, hits and alerts are shown redacted to auditors, who are not
cleared for covert (`api.audit.redact`); admins see them whole."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from anpr.clock import ms_to_rfc3339
from api.audit.redact import is_covert, redacted
from api.audit.schemas import AuditEntryOut, AuditPage
from api.deps import Auditor, Service
from api.errors import invalid
from api.hits.views import sees_covert
from api.query import decode_audit_cursor, encode_audit_cursor, page_size, time_range
from api.responses import error_responses

router = APIRouter(tags=["audit"])


@router.get("/v1/audit", response_model=AuditPage, responses=error_responses(401, 403, 422))
async def query_audit(
    principal: Auditor,
    service: Service,
    since: Annotated[str | None, Query(description="RFC 3339 or epoch ms (inclusive).")] = None,
    until: Annotated[str | None, Query(description="RFC 3339 or epoch ms (exclusive).")] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AuditPage:
    size = page_size(limit, service.settings)
    start, end = time_range(since, until)
    if actor is not None and "\x00" in actor:
        # No name holds one (PostgreSQL cannot store it): refused here, not by the database.
        raise invalid("actor", "must not contain a NUL character")
    rows = await service.store.query_audit(
        since=start, until=end, actor=actor, before_seq=decode_audit_cursor(cursor), limit=size + 1
    )
    page = rows[:size]
    items = [
        AuditEntryOut(
            seq=row.seq,
            at=ms_to_rfc3339(row.entry.at),
            actor=row.entry.actor,
            role=row.entry.role,
            action=row.entry.action,
            target=row.entry.target,
            reason=row.entry.reason,
            detail=row.entry.detail,
        )
        for row in page
    ]
    if not sees_covert(principal):
        covert_lists = {i for i, c in service.hotlists.book.configs.items() if c.covert}
        items = [redacted(i) if is_covert(i, covert_lists) else i for i in items]
    next_cursor = encode_audit_cursor(page[-1].seq) if len(rows) > size else None
    return AuditPage(items=items, next_cursor=next_cursor)
