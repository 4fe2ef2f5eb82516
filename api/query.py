"""Query parameters of hit and audit listings: opaque keyset cursors and time bounds. Pure."""

from __future__ import annotations

import base64
import binascii

import orjson

from anpr.clock import MAX_MS, RANGE_MESSAGE
from anpr.reads import parse_captured_at
from api.errors import invalid
from api.store.base import PageKey

_HIT_CURSOR = "h1"
_AUDIT_CURSOR = "a1"


def _encode(payload: list[object]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def _decode(cursor: str) -> list[object] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = orjson.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return payload if isinstance(payload, list) else None


def encode_hit_cursor(key: PageKey) -> str:
    return _encode([_HIT_CURSOR, key.matched_at, key.hit_id])


def decode_hit_cursor(cursor: str | None) -> PageKey | None:
    """The position after which to continue; `ApiError` 422 on `cursor` when it is not ours."""
    if cursor is None:
        return None
    payload = _decode(cursor)
    if (
        payload is None
        or len(payload) != 3
        or payload[0] != _HIT_CURSOR
        or not isinstance(payload[1], int)
        or isinstance(payload[1], bool)
        or not -MAX_MS <= payload[1] <= MAX_MS
        or not isinstance(payload[2], str)
    ):
        raise invalid("cursor", "not a cursor this API returned")
    return PageKey(payload[1], payload[2])


def encode_audit_cursor(seq: int) -> str:
    return _encode([_AUDIT_CURSOR, seq])


def decode_audit_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    payload = _decode(cursor)
    if payload is None or len(payload) != 2 or payload[0] != _AUDIT_CURSOR:
        raise invalid("cursor", "not a cursor this API returned")
    seq = payload[1]
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= 2**62:
        raise invalid("cursor", "not a cursor this API returned")
    return seq


def parse_time(field: str, value: str | None) -> int | None:
    """RFC 3339 with an offset, or integer epoch milliseconds, as epoch milliseconds."""
    if value is None:
        return None
    if value.isascii() and value.isdigit() and len(value) <= 16:
        millis = int(value)
        if millis > MAX_MS:
            raise invalid(field, RANGE_MESSAGE)
        return millis
    parsed = parse_captured_at(value)
    if isinstance(parsed, str):
        raise invalid(field, parsed)
    return parsed


def check_range(since: int | None, until: int | None) -> None:
    if since is not None and until is not None and until <= since:
        raise invalid("until", "must be after since")
