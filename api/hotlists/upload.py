"""Reading and parsing a hotlist upload: CSV, NDJSON or a JSON array, bounded in size.

The parse runs on a worker thread, but whatever holds the GIL there holds the event loop too: the
lines are split a piece at a time (`split_lines`), and what the parse made is frozen as it goes
(`anpr.gcpolicy.freezing`): the full collections during the parse of a 1M-entry upload (16 of
them) held the loop up to 430 ms each.
"""

from __future__ import annotations

import orjson
from fastapi import Request

from anpr.gcpolicy import freezing
from anpr.hotlists import (
    EntrySpec,
    LineError,
    collect,
    iter_entries_csv,
    iter_entries_ndjson,
    iter_entry_list,
    split_lines,
)
from anpr.hotlists.parse import UTF8_BOM, loads_json
from anpr.http import read_bounded_body
from api.errors import ApiError, invalid

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        },
    }
}
_NDJSON = {"application/x-ndjson", "application/ndjson", "application/jsonl", "text/plain"}


async def read_upload(request: Request, limit: int) -> bytes:
    body = await read_bounded_body(request, limit)
    if body is None:
        raise ApiError(413, f"the upload is over the limit of {limit} bytes")
    return body


def parse_upload(content_type: str, raw: bytes) -> tuple[list[EntrySpec], list[LineError]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise invalid("body", f"not UTF-8 (line {line}, byte {exc.start})") from exc
    if content_type == "text/csv":
        return collect(freezing(iter_entries_csv(split_lines(text, keepends=True))))
    if content_type in _NDJSON:
        return collect(freezing(iter_entries_ndjson(split_lines(text))))
    if content_type == "application/json":
        try:
            items = loads_json(raw.removeprefix(UTF8_BOM))
        except orjson.JSONDecodeError as exc:
            raise invalid("body", f"not valid JSON: {exc}") from exc
        if not isinstance(items, list):
            raise invalid("body", "must be a JSON array of entries")
        return collect(freezing(iter_entry_list(items)))
    raise ApiError(
        415,
        "send text/csv or application/x-ndjson (or a JSON array as application/json)",
        errors=[{"field": "content-type", "message": f"unsupported: {content_type or 'none'}"}],
    )
