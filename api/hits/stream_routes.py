"""`GET /v1/hits/stream`: new hits as server-sent events (operator and up; covert hits only for
supervisors). See `api.hits.stream` for resumption with `Last-Event-ID`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import StreamingResponse

from api.console.sessions import still_allowed
from api.deps import Operator, Service
from api.hits.schemas import StreamEvent
from api.hits.stream import HitStream
from api.responses import error_responses

router = APIRouter(tags=["hits"])

# Inline (the nested hit models are components through the other hit routes).
_EVENT_SCHEMA = {
    k: v
    for k, v in StreamEvent.model_json_schema(ref_template="#/components/schemas/{model}").items()
    if k != "$defs"
}
_EVENT_STREAM = {
    "description": (
        "`text/event-stream`: one `event: hit` per new hit, `id:` = hit_id, `data:` = the hit "
        "as JSON (`HitOut`), preceded (without `id:`) by `event: alert` (`data:` the `AlertOut` "
        "the hit opened) or `event: sighting` (`data:` `SightingEvent`, the alert it joined); "
        "a `: keep-alive` comment at least every 15 s."
    ),
    "content": {"text/event-stream": {"schema": _EVENT_SCHEMA}},
}


@router.get(
    "/v1/hits/stream",
    response_class=StreamingResponse,
    responses={200: _EVENT_STREAM, **error_responses(401, 403)},
)
async def stream_hits(
    principal: Operator,
    service: Service,
    request: Request,
    last_event_id: Annotated[str | None, Header(max_length=256)] = None,
    last_event_id_query: Annotated[
        str | None,
        Query(
            alias="last_event_id",
            max_length=256,
            description="For clients that cannot set the Last-Event-ID header.",
        ),
    ] = None,
) -> StreamingResponse:
    settings = service.settings
    stream = HitStream(
        store=service.store,
        hub=service.hub,
        metrics=service.metrics,
        principal=principal,
        last_event_id=last_event_id or last_event_id_query,
        keepalive_s=settings.stream_keepalive_s,
        page=settings.stream_backlog_page,
        registry=service.registry,
        published=service.hit_ingest.published,
        allowed=await still_allowed(
            service, request, principal, recheck_s=settings.stream_keepalive_s
        ),
    )
    return StreamingResponse(
        stream.events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
