"""Opening a pushed body: the metadata document (JSON or XML) and the pictures sent with it.

A vendor pushes either the bare document (`application/json`, `text/xml`), a form with the
document in a field (`json=...`), or a multipart body with the document in one part and JPEG
pictures in others. Which one is told by the Content-Type when there is one, else by the body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import parse_qs

import orjson

from ingest.adapters.errors import PayloadTooLarge
from ingest.adapters.multipart import MultipartError, Part, header_params, parse_multipart
from ingest.adapters.multipart import sniff_boundary as multipart_boundary
from ingest.adapters.result import Collector
from ingest.adapters.xml import XmlError, XmlValue, parse_xml

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_RECORDS = 1000  # events in one JSON array, as POST /v1/reads takes at most 1,000 reads
_BOM = b"\xef\xbb\xbf"
Kind = Literal["json", "xml"]
_JSON_FIELDS = ("json", "data", "event", "payload", "metadata")


@dataclass(slots=True)
class Envelope:
    kind: Kind
    document: bytes
    pictures: list[Part] = field(default_factory=list)  # every other multipart part


def open_envelope(body: bytes, content_type: str | None, out: Collector) -> Envelope | None:
    """Find the metadata document; None (with a payload problem recorded) when there is none."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge("body", f"body over {MAX_BODY_BYTES // (1024 * 1024)} MiB")
    media, params = header_params(content_type) if content_type else ("", {})
    body = body.removeprefix(_BOM)
    stripped = body.lstrip()
    if not stripped:
        out.problem("body", "the body is empty")
        return None
    # What the body starts with wins over a wrong label: devices built on libcurl send JSON as
    # `application/x-www-form-urlencoded`, the curl default, unless told otherwise.
    document = stripped[:1] in (b"{", b"[", b"<")
    boundary = params.get("boundary") or multipart_boundary(body)
    if media.startswith("multipart/") and (boundary or not document):
        return _from_multipart(body, boundary, out)
    if not document and boundary and media in ("", "application/octet-stream", "text/plain"):
        return _from_multipart(body, boundary, out)
    if not document and (
        media == "application/x-www-form-urlencoded" or stripped[:5] in (b"json=", b"data=")
    ):
        return _from_form(body, out)
    kind = _kind(media, stripped[:1])
    if kind is None:
        out.problem("body", f"expected a JSON or XML document, got {media or 'unrecognised bytes'}")
        return None
    return Envelope(kind, body)


INVALID: Final = object()  # what `load_json` gives for a document that is not JSON


def load_json(envelope: Envelope, out: Collector) -> Any:
    """The decoded JSON document, or `INVALID` with a payload problem."""
    if envelope.kind != "json":
        out.problem("body", "expected a JSON document, got XML")
        return INVALID
    try:
        return orjson.loads(envelope.document.lstrip().removeprefix(_BOM))
    except orjson.JSONDecodeError as exc:
        out.problem("body", f"not valid JSON: {exc}")
        return INVALID


def records(document: Any, out: Collector) -> list[dict[str, Any]]:
    """The JSON objects of a document that is one object or an array of them."""
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list):
        if len(document) > MAX_RECORDS:
            # Refused whole: the first 1,000 taken and success answered lost the rest for good.
            raise PayloadTooLarge(
                "body", f"{len(document)} events in one array; at most {MAX_RECORDS}: split it"
            )
        found = [item for item in document if isinstance(item, dict)]
        if len(found) != len(document):
            out.problem("body", "an array of events must hold JSON objects only; others ignored")
        if not document:
            out.notice("body", "an empty array: nothing to take")
        return found
    out.problem("body", f"expected a JSON object, got {json_type(document)}")
    return []


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__


def load_xml(
    envelope: Envelope, out: Collector, *, attributes: bool = False
) -> tuple[str, XmlValue] | None:
    """(root local name, content) of the XML document, or None with a payload problem."""
    try:
        return parse_xml(envelope.document, attributes=attributes)
    except XmlError as exc:
        out.problem("body", str(exc))
        return None


def _kind(media: str, first: bytes) -> Kind | None:
    """The document's kind: its first byte decides when it can, else its media type."""
    if first in (b"{", b"["):
        return "json"
    if first == b"<":
        return "xml"
    if media.endswith("json"):
        return "json"
    if media.endswith("/xml") or media.endswith("+xml"):
        return "xml"
    return None


def split_multipart(body: bytes, boundary: str | None, out: Collector) -> list[Part] | None:
    """The parts of a multipart body, or None (with a payload problem) when there are none."""
    if not boundary:
        out.problem("body", "multipart body without a boundary in its Content-Type or first line")
        return None
    try:
        parsed = parse_multipart(body, boundary)
    except MultipartError as exc:
        out.problem("body", f"unreadable multipart body: {exc}")
        return None
    for note in parsed.notes:
        out.notice("body", note)
    return parsed.parts


def _from_multipart(body: bytes, boundary: str | None, out: Collector) -> Envelope | None:
    parts = split_multipart(body, boundary, out)
    if parts is None:
        return None
    for position, part in enumerate(parts):
        kind = _part_kind(part)
        if kind is not None:
            return Envelope(kind, part.data, parts[:position] + parts[position + 1 :])
    names = ", ".join(str(p.name or p.filename or p.content_type) for p in parts)
    out.problem("body", f"no JSON or XML part in the multipart body (parts: {names})")
    return None


def _part_kind(part: Part) -> Kind | None:
    media = part.content_type or ""
    if media.startswith("image/"):
        return None
    if (part.name or "").lower() in _JSON_FIELDS and part.data.lstrip()[:1] in (b"{", b"["):
        return "json"
    return _kind(media, part.data.lstrip().removeprefix(_BOM)[:1])


def _from_form(body: bytes, out: Collector) -> Envelope | None:
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=64)
    except (UnicodeDecodeError, ValueError) as exc:
        out.problem("body", f"unreadable form body: {exc}")
        return None
    for name in _JSON_FIELDS:
        if fields.get(name):
            return Envelope("json", fields[name][0].encode("utf-8"))
    out.problem("body", f"form body without a JSON field (one of {', '.join(_JSON_FIELDS)})")
    return None
