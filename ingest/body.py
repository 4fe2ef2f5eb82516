"""Splitting a `POST /v1/reads` body into read objects: one object, a JSON array, or NDJSON."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson


class BodyError(Exception):
    """The body as a whole cannot be read; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class SplitBody:
    items: list[object] = field(default_factory=list)
    # Lines of an NDJSON body that were not JSON: index -> message.
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
    if not _is_ndjson(content_type):
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
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
    for line in body.splitlines():
        if not line.strip():
            continue
        if len(out.items) >= max_items:
            raise BodyError(413, f"more than {max_items} reads in one request")
        try:
            out.items.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            out.broken[len(out.items)] = f"line {len(out.items) + 1} is not valid JSON: {exc}"
            out.items.append(None)
    if not out.items:
        raise BodyError(400, "the body holds no reads")
    return out
