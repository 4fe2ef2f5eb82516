"""A tolerant, bounded reader of multipart bodies (form-data and mixed) as cameras send them.

Cameras get multipart subtly wrong: LF instead of CRLF, a boundary that is not declared in the
Content-Type, a closing delimiter that never comes because the capture was cut. This reader takes
the parts it can delimit, says what it dropped, and never raises anything but `MultipartError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from anpr.errors import AnprError

MAX_PARTS = 32
MAX_HEADER_BYTES = 8 * 1024
_BOUNDARY = re.compile(rb"[ -~]{1,200}")


class MultipartError(AnprError):
    """The body has no part that can be delimited; the message says why."""


@dataclass(frozen=True, slots=True)
class Part:
    headers: dict[str, str]  # names lower-cased
    name: str | None
    filename: str | None
    content_type: str | None  # media type only, lower-cased
    data: bytes


@dataclass(slots=True)
class Multipart:
    parts: list[Part] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was dropped, and why


def header_params(value: str) -> tuple[str, dict[str, str]]:
    """Split `type/sub; a=1; b="x;y"` into the lower-cased first token and its parameters."""
    items = _split_params(value)
    head = items[0].strip().lower() if items else ""
    params: dict[str, str] = {}
    for item in items[1:]:
        key, sep, raw = item.partition("=")
        if not sep:
            continue
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1].replace('\\"', '"')
        params[key.strip().lower()] = raw
    return head, params


def sniff_boundary(body: bytes) -> str | None:
    """The boundary of a body that starts with its first delimiter line (`--xyz`)."""
    start = body.lstrip(b"\r\n")
    if not start.startswith(b"--"):
        return None
    line = start[2:].split(b"\n", 1)[0].rstrip(b"\r").rstrip()
    if _BOUNDARY.fullmatch(line) is None:
        return None
    return line.decode("ascii")


def parse_multipart(body: bytes, boundary: str) -> Multipart:
    out = Multipart()
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    if body.startswith(delimiter):
        pos = 0
    else:
        found = body.find(b"\n" + delimiter)
        if found < 0:
            raise MultipartError(f"the boundary {boundary!r} does not occur in the body")
        pos = found + 1
    while True:
        after = pos + len(delimiter)
        if body[after : after + 2] == b"--":
            return out  # the closing delimiter
        line_end = body.find(b"\n", after)
        if line_end < 0:
            out.notes.append("the body ends right after a boundary line")
            return _finish(out)
        start = line_end + 1
        following = body.find(b"\n" + delimiter, start)
        if following < 0:
            out.notes.append(
                "the body ends before its closing boundary (truncated?); its last part was dropped"
            )
            return _finish(out)
        end = (
            following - 1
            if following > 0 and body[following - 1 : following] == b"\r"
            else following
        )
        if len(out.parts) == MAX_PARTS:
            out.notes.append(f"more than {MAX_PARTS} parts; the rest were dropped")
            return out
        part = _part(body[start:end], out.notes, len(out.parts))
        if part is not None:
            out.parts.append(part)
        pos = following + 1


def _finish(out: Multipart) -> Multipart:
    if not out.parts:
        raise MultipartError("; ".join(out.notes) or "no complete part")
    return out


def _part(raw: bytes, notes: list[str], position: int) -> Part | None:
    if raw.startswith(b"\r\n") or raw.startswith(b"\n"):
        head, data = b"", raw[2:] if raw.startswith(b"\r\n") else raw[1:]
    else:
        crlf, lf = raw.find(b"\r\n\r\n"), raw.find(b"\n\n")
        if crlf < 0 and lf < 0:
            notes.append(f"part {position} has no blank line after its headers; dropped")
            return None
        if crlf >= 0 and (lf < 0 or crlf < lf):
            head, data = raw[:crlf], raw[crlf + 4 :]
        else:
            head, data = raw[:lf], raw[lf + 2 :]
    if len(head) > MAX_HEADER_BYTES:
        notes.append(f"part {position} has over {MAX_HEADER_BYTES} bytes of headers; dropped")
        return None
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            headers[key.strip().lower()] = value.strip()
    _, disposition = header_params(headers.get("content-disposition", ""))
    media, _ = header_params(headers["content-type"]) if "content-type" in headers else ("", {})
    return Part(
        headers=headers,
        name=disposition.get("name") or None,
        filename=disposition.get("filename") or None,
        content_type=media or None,
        data=data,
    )


def _split_params(value: str) -> list[str]:
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    return items
