"""`GET /v1/rollout` (admin, manager): the connection rollout report.

`format=json` (default) answers `RolloutOut`; `md`, `csv` and `html` answer the same report as
text to paste into a weekly report or a Confluence/Jira page (`table=` picks the CSV table).
The report holds camera ids, integrators, counts, durations and reasons: no plate, no hit.

Every format is rendered on a worker thread: at 10,000 cameras, most of them stuck early in a
rollout, a rendering is 50-150 ms of work (Markdown, HTML, CSV, or the JSON body validated
against `RolloutOut`), which the event loop that streams hits must not wait out.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import Manager, Service
from api.errors import unavailable
from api.responses import error_responses
from api.rollout.render import to_csv, to_html, to_json, to_markdown
from api.rollout.report import RolloutReport
from api.rollout.schemas import RolloutOut

router = APIRouter(tags=["rollout"])

TEXT = {
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}

TEXT_CONTENT = {media.split(";")[0]: {"schema": {"type": "string"}} for media in TEXT.values()}


@router.get(
    "/v1/rollout",
    response_model=RolloutOut,
    responses={200: {"content": TEXT_CONTENT}, **error_responses(401, 403, 422, 503)},
)
async def get_rollout(
    principal: Manager,
    service: Service,
    format: Annotated[Literal["json", "md", "csv", "html"], Query()] = "json",
    table: Annotated[Literal["integrators", "stuck", "weeks", "reasons"], Query()] = "integrators",
) -> RolloutOut | Response:
    # Before the registry is replayed (only the bootstrap admin token is known then), the
    # report would count part of the cameras without saying so.
    report = await service.refresh_rollout() if service.registry_loaded else None
    if report is None:
        raise unavailable("the API is still loading the registry", service.settings.retry_after_s)
    if format == "md":
        return Response(await asyncio.to_thread(to_markdown, report), media_type=TEXT["md"])
    if format == "csv":
        name = f"rollout-{table}.csv"
        return Response(
            await asyncio.to_thread(to_csv, report, table),
            media_type=TEXT["csv"],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    if format == "html":
        return Response(await asyncio.to_thread(to_html, report), media_type=TEXT["html"])
    return Response(await asyncio.to_thread(json_body, report), media_type="application/json")


def json_body(report: RolloutReport) -> bytes:
    """The `RolloutOut` body, checked against the model as FastAPI would check it."""
    return RolloutOut.model_validate(to_json(report)).model_dump_json().encode()
