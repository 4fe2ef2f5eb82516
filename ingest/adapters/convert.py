"""The pure core of `anpr convert FORMAT FILE`: a captured vendor push to canonical reads.

`convert` takes a bare body or a whole captured HTTP request, runs the format's adapter on it
exactly as `POST /v1/ingest/{format}` would, and returns the reads (ready to be sent to
`POST /v1/reads` as NDJSON once they carry a `camera_id`) with every problem and notice explained.
A `camera_id` in the captured request's query string is put on the reads, as the gateway does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from ingest.adapters import ADAPTERS
from ingest.adapters.capture import CaptureError, is_request, parse_request
from ingest.adapters.errors import AdapterError
from ingest.adapters.result import Adapter, AdapterResult, Problem


@dataclass(slots=True)
class ConvertResult:
    format: str
    content_type: str | None = None
    camera_id: str | None = None  # from `?camera_id=` of a captured request
    result: AdapterResult = field(default_factory=AdapterResult)
    problems: list[Problem] = field(default_factory=list)  # capture, payload and read problems
    notices: list[Problem] = field(default_factory=list)

    @property
    def reads(self) -> list[dict[str, Any]]:
        """Each canonical read, with `camera_id` when known and its camera's `vendor_ids`."""
        out: list[dict[str, Any]] = []
        for read, vendor_ids in self.result.pairs():
            line: dict[str, Any] = dict(read)
            if self.camera_id and "camera_id" not in line:
                line = {"camera_id": self.camera_id, **line}
            line["vendor_ids"] = vendor_ids
            out.append(line)
        return out

    def ndjson(self) -> bytes:
        return b"".join(orjson.dumps(read) + b"\n" for read in self.reads)

    def explanations(self) -> list[str]:
        """One line per problem, then per notice, for a person reading the CLI's output."""
        return [explain("problem", p) for p in self.problems] + [
            explain("notice", n) for n in self.notices
        ]


def explain(kind: str, entry: Problem) -> str:
    where = f"read {entry['index']}, " if "index" in entry else ""
    return f"{kind}: {where}{entry['field']}: {entry['message']}"


def convert(
    format: str,
    data: bytes,
    *,
    camera_tz: str | None = None,
    content_type: str | None = None,
    adapter: Adapter | None = None,
) -> ConvertResult:
    """Translate a captured payload; an unknown `format` is the only error raised. `adapter`
    (a mapping's, from `anpr convert --mapping`) is used instead of the built-in `format`."""
    adapter = adapter or ADAPTERS.get(format)
    if adapter is None:
        known = ", ".join(sorted(ADAPTERS))
        raise AdapterError("format", f"unknown format {format!r}; one of {known}")
    out = ConvertResult(format=format, content_type=content_type)
    body = data
    headers: dict[str, str] = {}
    if is_request(data):
        try:
            request = parse_request(data)
        except CaptureError as exc:
            out.problems.append({"field": "capture", "message": str(exc)})
            return out
        body, headers = request.body, request.headers
        out.content_type = content_type or request.content_type
        out.notices.extend({"field": "capture", "message": note} for note in request.notes)
        camera_ids = parse_qs(urlsplit(request.target).query).get("camera_id")
        out.camera_id = camera_ids[0] if camera_ids else None
    try:
        out.result = adapter.parse(body, out.content_type, camera_tz=camera_tz, headers=headers)
    except AdapterError as exc:
        out.problems.append({"field": exc.field, "message": exc.message})
        return out
    out.problems.extend(out.result.problems)
    out.notices.extend(out.result.notices)
    return out
