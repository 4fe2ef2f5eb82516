"""Query parameters of the listings: id filters, page sizes, time bounds and opaque keyset
cursors. Pure.

A cursor is `[kind, position...]` as JSON in unpadded URL-safe base64; each listing has its kind
(`h1` hits, `a1` audit entries and deliveries, `al1` alerts), so one listing's cursor is refused
by another. A cursor that is not one this API returned is 422 on `cursor`. (The read archive's
cursor is `api.archive.cursor`.) An id a query names, in a filter or a cursor, is held to the
id pattern (`anpr.ids`) here: one no record can have (a NUL, which PostgreSQL refuses as text)
never reaches the store.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, TypeGuard

import orjson
from fastapi import Query

from anpr.clock import MAX_MS, RANGE_MESSAGE
from anpr.ids import ID_PATTERN, is_valid_id
from anpr.reads import BadTime, parse_captured_at
from api.errors import ApiError, invalid
from api.settings import ApiSettings
from api.store.alerts import AlertPageKey
from api.store.base import PageKey

_HIT_CURSOR = "h1"
_AUDIT_CURSOR = "a1"
_ALERT_CURSOR = "al1"
_MAX_SEQ = 2**62
# The digits after a time's milliseconds (`.1234567`: `4567`).
_FINER_THAN_MS = re.compile(r"[.,]\d{3}(\d+)")

# An optional id filter of a listing (`camera_id`, `list_id`, `target_id`, `hit_id`).
IdParam = Annotated[
    str | None, Query(min_length=1, max_length=128, pattern=f"^{ID_PATTERN.pattern}$")
]


def page_size(limit: int | None, settings: ApiSettings) -> int:
    """The page size asked for (`limit`), or the default; over the maximum: 422 on `limit`."""
    size = settings.page_limit_default if limit is None else limit
    if size > settings.page_limit_max:
        raise invalid("limit", f"must be at most {settings.page_limit_max}")
    return size


def parse_time(field: str, value: str | None) -> int | None:
    """RFC 3339 with an offset, or integer epoch milliseconds, as epoch milliseconds."""
    if value is None:
        return None
    if value.isascii() and value.isdigit() and len(value) <= 16:
        millis = int(value)
        if millis > MAX_MS:
            raise invalid(field, RANGE_MESSAGE)
        return millis
    try:
        millis = parse_captured_at(value)
    except BadTime as exc:
        raise invalid(field, exc.message) from exc
    # Rows hold whole milliseconds, and parsing drops what is finer: a bound between two
    # milliseconds is the next one up, so `since` (inclusive) and `until` (exclusive) keep
    # exactly the rows on their side of it.
    finer = _FINER_THAN_MS.search(value)
    return millis + 1 if finer and finer.group(1).strip("0") else millis


def check_range(since: int | None, until: int | None) -> None:
    if since is not None and until is not None and until <= since:
        raise invalid("until", "must be after since")


def time_range(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """`since` (inclusive) and `until` (exclusive) as epoch ms; `until` must be after `since`."""
    start, end = parse_time("since", since), parse_time("until", until)
    check_range(start, end)
    return start, end


def _encode(payload: list[object]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def _foreign() -> ApiError:
    return invalid("cursor", "not a cursor this API returned")


def _position(cursor: str, kind: str, size: int) -> list[object]:
    """The `size` position fields of a cursor of `kind`; a cursor of another shape: 422."""
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise _foreign() from None
    if not isinstance(payload, list) or len(payload) != size + 1 or payload[0] != kind:
        raise _foreign()
    return payload[1:]


def _millis(value: object) -> TypeGuard[int]:
    return type(value) is int and -MAX_MS <= value <= MAX_MS


def _id(value: object) -> TypeGuard[str]:
    return is_valid_id(value)


def encode_hit_cursor(key: PageKey) -> str:
    return _encode([_HIT_CURSOR, key.matched_at, key.hit_id])


def decode_hit_cursor(cursor: str | None) -> PageKey | None:
    """The position after which to continue; `ApiError` 422 on `cursor` when it is not ours."""
    if cursor is None:
        return None
    matched_at, hit_id = _position(cursor, _HIT_CURSOR, 2)
    if not _millis(matched_at) or not _id(hit_id):
        raise _foreign()
    return PageKey(matched_at, hit_id)


def encode_alert_cursor(key: AlertPageKey) -> str:
    return _encode([_ALERT_CURSOR, key.last_seen, key.alert_id])


def decode_alert_cursor(cursor: str | None) -> AlertPageKey | None:
    if cursor is None:
        return None
    last_seen, alert_id = _position(cursor, _ALERT_CURSOR, 2)
    if not _millis(last_seen) or not _id(alert_id):
        raise _foreign()
    return AlertPageKey(last_seen, alert_id)


def encode_audit_cursor(seq: int) -> str:
    return _encode([_AUDIT_CURSOR, seq])


def decode_audit_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    (seq,) = _position(cursor, _AUDIT_CURSOR, 1)
    if type(seq) is not int or not 0 <= seq <= _MAX_SEQ:
        raise _foreign()
    return seq
