"""Splitting a `POST /v1/reads` body into read objects: one object, a JSON array, or NDJSON.

A body whose reads all have the expected shape (`anpr.readshape`), nearly every body, is decoded
straight into typed reads by msgspec; any other is parsed into dicts by orjson, as below.

Nothing is parsed that could not be accepted: a 16 MB array of 550k tiny objects once took 1.9 s
of the event loop to parse only to be refused by count. A body up to `DIRECT_PARSE_BYTES` is
parsed in one go by orjson (at worst some 35k small values, milliseconds). A larger array is
decoded one top-level item at a time (stdlib `raw_decode`) and refused at the first item over
the limit; a larger body that is not an array can only be NDJSON (one read is at most 512 KiB),
which is split into lines, each bounded, before any is parsed.

The stdlib parser, unlike orjson and msgspec, takes a lone UTF-16 surrogate escape (`"\ud800"`)
for a character: a read holding one (it could not be encoded again) is rejected on its own,
naming the body, and its neighbours are kept. A small array orjson refuses goes the same way,
so that a read holding such an escape or a number out of float range (`1e309`, valid JSON) is
rejected alone whatever the size of the body. A single object, or an NDJSON line, that orjson
refuses is read by the stdlib the same way, so such a read names its field there too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import orjson

from anpr.errors import AnprError
from anpr.readshape import decode_reads

DIRECT_PARSE_BYTES = 1024 * 1024
# A read with images is at most 512 KiB; a line of NDJSON above this is refused unparsed.
MAX_LINE_BYTES = 512 * 1024 + 64 * 1024
_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"
_LINE = re.compile(rb"[^\r\n]*[^\s][^\r\n]*")
# An escape of a surrogate, paired or not: only a body holding one needs its reads checked.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class BodyError(AnprError):
    """The body as a whole cannot be read; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class SplitBody:
    items: list[object] = field(default_factory=list)
    # Lines of an NDJSON body that were not JSON, reads of a large array that are not text:
    # index -> message.
    broken: dict[int, str] = field(default_factory=dict)


def _is_ndjson(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media in {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/jsonlines",
        "application/json-seq",
    }


def split_body(body: bytes, content_type: str | None, *, max_items: int) -> SplitBody:
    if not body.strip():
        raise BodyError(400, "the body is empty; send a read object, an array or NDJSON")
    if len(body) > DIRECT_PARSE_BYTES and not _is_ndjson(content_type):
        if body.lstrip()[:1] == b"[":
            return _split_large_array(body, max_items)
        return _split_ndjson(body, max_items)
    if not _is_ndjson(content_type):
        shaped = decode_reads(body)
        if shaped is not None and len(shaped) <= max_items:
            return SplitBody(items=list(shaped))
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            if body.lstrip()[:1] == b"[":
                # Valid JSON orjson refuses (1e309, a lone surrogate escape) or a broken
                # array: item by item, so that one such read is rejected alone.
                return _split_large_array(body, max_items)
            lenient = _read_lenient(body, "read 0")
            if lenient is not None:
                # One read orjson refuses: rejected naming its field, as in an array.
                return lenient
            if content_type is not None and "json" in content_type.lower():
                raise BodyError(400, f"the body is not valid JSON: {exc}") from exc
            return _split_ndjson(body, max_items)
        if isinstance(parsed, list):
            if len(parsed) > max_items:
                raise BodyError(413, f"{len(parsed)} reads in one request; at most {max_items}")
            return SplitBody(items=parsed)
        return SplitBody(items=[parsed])
    return _split_ndjson(body, max_items)


def _split_ndjson(body: bytes, max_items: int) -> SplitBody:
    out = SplitBody()
    # Lines with something other than whitespace, found lazily: no list of every line is built.
    for match in _LINE.finditer(body):
        line = match.group()
        if len(out.items) >= max_items:
            raise BodyError(413, f"more than {max_items} reads in one request")
        if len(line) > MAX_LINE_BYTES:
            out.broken[len(out.items)] = f"line {len(out.items) + 1} is over {MAX_LINE_BYTES} bytes"
            out.items.append(None)
            continue
        try:
            out.items.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            lenient = _read_lenient(line, f"line {len(out.items) + 1}")
            if lenient is not None:
                out.broken |= {len(out.items) + i: why for i, why in lenient.broken.items()}
                out.items.extend(lenient.items)
                continue
            out.broken[len(out.items)] = f"line {len(out.items) + 1} is not valid JSON: {exc}"
            out.items.append(None)
    if not out.items:
        raise BodyError(400, "the body holds no reads")
    return out


def _split_large_array(body: bytes, max_items: int) -> SplitBody:
    """A JSON array decoded item by item, refused (413) at item `max_items + 1`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(400, f"the body is not UTF-8 (byte {exc.start})") from exc
    out = SplitBody()
    items = out.items
    surrogates = _SURROGATE_ESCAPE.search(text) is not None
    pos = _skip(text, _skip(text, 0) + 1)
    if text.startswith("]", pos):
        return out
    while True:
        if len(items) == max_items:
            raise BodyError(413, f"more than {max_items} reads in one request")
        try:
            item, pos = _DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError) as exc:  # also nesting too deep, a huge integer
            raise BodyError(400, f"the body is not valid JSON: {exc}") from exc
        if surrogates and not _encodable(item):
            out.broken[len(items)] = (
                f"read {len(items)} holds a lone UTF-16 surrogate escape, which is not text"
            )
            item = None
        items.append(item)
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif text.startswith("]", pos) and not text[pos + 1 :].strip(_WHITESPACE):
            return out
        else:
            raise BodyError(400, f"the body is not valid JSON: unexpected character at {pos}")


def _read_lenient(data: bytes, name: str) -> SplitBody | None:
    """One JSON object orjson refuses but the stdlib reads (a number out of float range, a lone
    surrogate escape), as one item: the object, or its `name` in `broken` when it holds text
    that is not text; None when it is no JSON object."""
    try:
        item = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(item, dict):
        return None
    if not _encodable(item):
        message = f"{name} holds a lone UTF-16 surrogate escape, which is not text"
        return SplitBody(items=[None], broken={0: message})
    return SplitBody(items=[item])


def _encodable(value: object) -> bool:
    """Whether every string in `value` is text (no lone surrogate), at any depth."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_encodable(k) and _encodable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_encodable(v) for v in value)
    return True


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos
