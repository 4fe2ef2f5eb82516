"""Reading a captured HTTP request (tcpdump, a proxy's dump, `curl --trace`) back into its parts.

A capture is the request line, the headers, a blank line and the body, with CRLF or bare LF line
ends. A chunked body is de-chunked; a body longer than its Content-Length is cut only when what
follows is another HTTP message (the response, or the next request on the connection).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from anpr.errors import AnprError

MAX_HEAD_BYTES = 64 * 1024
_REQUEST_LINE = re.compile(rb"\s*([A-Z]{3,10}) (\S{1,8192}) HTTP/(\d(?:\.\d)?)\r?\n")
_NEXT_MESSAGE = re.compile(rb"\s*(?:HTTP/\d(?:\.\d)? \d{3}|[A-Z]{3,10} \S+ HTTP/\d)")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,8})[ \t]*(?:;[^\r\n]*)?\r?\n")


class CaptureError(AnprError):
    """A capture that starts like a request but whose head cannot be read."""


@dataclass(slots=True)
class CapturedRequest:
    method: str
    target: str
    headers: dict[str, str]  # names lower-cased; a repeated header keeps its last value
    body: bytes
    notes: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


def is_request(data: bytes) -> bool:
    """Whether `data` starts with an HTTP request line rather than a bare body."""
    return _REQUEST_LINE.match(data[:9000]) is not None


def parse_request(data: bytes) -> CapturedRequest:
    line = _REQUEST_LINE.match(data[:9000])
    if line is None:
        raise CaptureError("no HTTP request line (METHOD target HTTP/x.y)")
    rest = data[line.end() :]
    crlf, lf = rest.find(b"\r\n\r\n"), rest.find(b"\n\n")
    if rest.startswith((b"\r\n", b"\n")):  # no headers at all
        head, body = b"", rest[2:] if rest.startswith(b"\r\n") else rest[1:]
    elif crlf < 0 and lf < 0:
        raise CaptureError("the headers never end: no blank line before the body")
    elif crlf >= 0 and (lf < 0 or crlf < lf):
        head, body = rest[:crlf], rest[crlf + 4 :]
    else:
        head, body = rest[:lf], rest[lf + 2 :]
    if len(head) > MAX_HEAD_BYTES:
        raise CaptureError(f"headers over {MAX_HEAD_BYTES // 1024} KiB")
    request = CapturedRequest(
        method=line.group(1).decode("ascii"),
        target=line.group(2).decode("latin-1"),
        headers=_headers(head),
        body=body,
    )
    _frame_body(request)
    return request


def _headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    last: str | None = None
    for raw in head.decode("latin-1").splitlines():
        if raw[:1] in (" ", "\t") and last is not None:  # an obsolete folded line
            headers[last] += " " + raw.strip()
            continue
        name, sep, value = raw.partition(":")
        if sep and name.strip():
            last = name.strip().lower()
            headers[last] = value.strip()
    return headers


def _frame_body(request: CapturedRequest) -> None:
    if "chunked" in request.headers.get("transfer-encoding", "").lower():
        request.body = _dechunk(request.body, request.notes)
        return
    declared = request.headers.get("content-length", "").strip()
    if not declared.isdigit():
        return
    length = int(declared)
    if len(request.body) < length:
        request.notes.append(
            f"the body has {len(request.body)} bytes, Content-Length says {length}: "
            "the capture may be cut short"
        )
    elif len(request.body) > length:
        trailing = request.body[length:]
        if not trailing.strip() or _NEXT_MESSAGE.match(trailing[:200]):
            request.body = request.body[:length]
        else:
            request.notes.append(
                f"the body has {len(request.body)} bytes, Content-Length says {length}; "
                "the whole captured body is used"
            )
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        request.notes.append(f"Content-Encoding {encoding} is not decoded")


def _dechunk(body: bytes, notes: list[str]) -> bytes:
    out = bytearray()
    pos = 0
    while True:
        size_line = _CHUNK_SIZE.match(body, pos)
        if size_line is None:
            notes.append("the chunked body ends without its last (zero-size) chunk")
            return bytes(out)
        size = int(size_line.group(1), 16)
        pos = size_line.end()
        if size == 0:
            return bytes(out)  # trailers, if any, are not needed
        chunk = body[pos : pos + size]
        out += chunk
        if len(chunk) < size:
            notes.append("the chunked body is cut inside a chunk")
            return bytes(out)
        pos += size
        if body.startswith(b"\r\n", pos):
            pos += 2
        elif body.startswith(b"\n", pos):
            pos += 1
