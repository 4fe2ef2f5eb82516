"""Reading and parsing a hotlist upload: CSV, NDJSON or a JSON array, bounded in size.

The parse runs on a worker thread, but whatever holds the GIL there holds the event loop too: the
lines are split a piece at a time (`split_lines`), and what the parse made is frozen as it goes
(`anpr.gcpolicy.freezing`): the full collections during the parse of a 1M-entry upload (16 of
them) held the loop up to 430 ms each. A JSON array (a `PUT` as application/json, every
`POST`) is parsed by `loads_entry_array`, which hands the GIL over at each object, and freed
a piece at a time.
"""

from __future__ import annotations

import json

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
from anpr.hotlists.parse import loads_entry_array
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
FREE_PIECE = 1000
_NDJSON = {"application/x-ndjson", "application/ndjson", "application/jsonl", "text/plain"}


async def read_upload(request: Request, limit: int) -> bytes:
    body = await read_bounded_body(request, limit)
    if body is None:
        raise ApiError(413, f"the upload is over the limit of {limit} bytes")
    return body


def _free(items: list[object]) -> None:
    """Empties `items` a piece at a time, the worker handing the GIL over between two: freed at
    once as the parse returned, 100,000 entries' objects held the event loop 50-100 ms."""
    while items:
        del items[-FREE_PIECE:]


def is_json(content_type: str | None) -> bool:
    """Whether a `POST` body is to be read as JSON: as FastAPI read a body parameter, without a
    content type, or `application/json` or `application/*+json`."""
    if not content_type:
        return True
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def parse_upload(
    content_type: str, raw: bytes, *, max_items: int | None = None
) -> tuple[list[EntrySpec], list[LineError]]:
    """The entries of an upload and the lines (items) rejected; `max_items` bounds a JSON
    array (`POST`). On a worker thread (`anpr.threadwork.on_worker`)."""
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
            items = loads_entry_array(text.removeprefix("\ufeff"))
        except json.JSONDecodeError as exc:
            raise invalid("body", f"not valid JSON: {exc}") from exc
        except RecursionError as exc:
            raise invalid("body", "not valid JSON: nested too deeply") from exc
        if not isinstance(items, list):
            raise invalid("body", "must be a JSON array of entries")
        if max_items is not None and len(items) > max_items:
            raise invalid("body", f"at most {max_items} entries in one request, not {len(items)}")
        try:
            return collect(freezing(iter_entry_list(items)))
        finally:
            _free(items)
    raise ApiError(
        415,
        "send text/csv or application/x-ndjson (or a JSON array as application/json)",
        errors=[{"field": "content-type", "message": f"unsupported: {content_type or 'none'}"}],
    )
