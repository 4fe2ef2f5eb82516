"""`PUT/GET/DELETE /v1/formats/{name}`, `GET /v1/formats` (admin): declarative vendor mappings.

A mapping (JSON or YAML body, `anpr.formats.spec`) is checked, then published on the registry
topic as `format/<name>`; every gateway learns it from there without a restart and answers
`POST /v1/ingest/{name}` with it. The answer waits until this replica's own registry view has
the change (read-your-writes), as camera writes do.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from anpr.formats import BUILTIN_FORMATS, FormatMapping, describe, validate_mapping
from anpr.formats.load import MAX_MAPPING_BYTES, MappingFileError, load_mapping_text
from anpr.http import read_bounded_body
from api.audit.log import Action
from api.deps import Admin, Service
from api.errors import ApiError, invalid, not_found
from api.formats.schemas import FormatList, FormatOut
from api.registry_writes import publishing
from api.responses import error_responses

router = APIRouter(tags=["administration"])

MAPPING_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


def format_out(name: str, mapping: FormatMapping) -> FormatOut:
    return FormatOut(name=name, mapping=describe(mapping), ingest_path=f"/v1/ingest/{name}")


@router.put(
    "/v1/formats/{name}",
    response_model=FormatOut,
    responses={201: {"model": FormatOut}, **error_responses(401, 403, 413, 422, 503)},
    openapi_extra=MAPPING_BODY,
)
async def put_format(
    name: str, request: Request, response: Response, principal: Admin, service: Service
) -> FormatOut:
    raw = await read_bounded_body(request, MAX_MAPPING_BYTES)
    if raw is None:
        raise ApiError(413, f"a mapping is at most {MAX_MAPPING_BYTES // 1024} KiB")
    try:
        data = load_mapping_text(raw, request.headers.get("content-type"))
    except MappingFileError as exc:
        raise invalid("body", str(exc)) from exc
    mapping = validate_mapping(data, name=name)
    if not isinstance(mapping, FormatMapping):
        fields = ", ".join(sorted({e["field"] for e in mapping}))
        raise ApiError(422, f"invalid mapping: {fields}", errors=mapping)
    async with service.registry_lock:
        existed = name in service.registry.formats
        async with publishing(service, "format"):
            await service.registry_writer.put_format(mapping)
        await service.registry_changed.wait_for(
            lambda: service.registry.formats.get(name) == mapping,
            service.settings.write_visible_timeout_s,
        )
    await service.audit.record(
        principal, Action.FORMAT_PUT, f"format/{name}", detail={"body": mapping.body}
    )
    response.status_code = 200 if existed else 201
    return format_out(name, mapping)


@router.get("/v1/formats", response_model=FormatList, responses=error_responses(401, 403))
async def list_formats(principal: Admin, service: Service) -> FormatList:
    return FormatList(
        items=[format_out(n, m) for n, m in sorted(service.registry.formats.items())],
        builtin=sorted(BUILTIN_FORMATS),
    )


@router.get(
    "/v1/formats/{name}", response_model=FormatOut, responses=error_responses(401, 403, 404)
)
async def get_format(name: str, principal: Admin, service: Service) -> FormatOut:
    mapping = service.registry.formats.get(name)
    if mapping is None:
        raise not_found(f"mapping {name!r}")
    return format_out(name, mapping)


@router.delete(
    "/v1/formats/{name}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404, 503),
)
async def delete_format(name: str, principal: Admin, service: Service) -> Response:
    async with service.registry_lock:
        if name not in service.registry.formats:
            raise not_found(f"mapping {name!r}")
        async with publishing(service, "format"):
            await service.registry_writer.delete_format(name)
        await service.registry_changed.wait_for(
            lambda: name not in service.registry.formats, service.settings.write_visible_timeout_s
        )
    await service.audit.record(principal, Action.FORMAT_DELETE, f"format/{name}")
    return Response(status_code=204)
