"""The opaque keyset cursor of read searches: (captured_at, read_id, camera_id) of the last
sighting; one without the camera (given out before 2026-12-02) still reads. Its ids are held to
the id pattern (`anpr.ids`), as every read's are. Pure."""

from __future__ import annotations

import base64
import binascii

import orjson

from anpr.clock import MAX_MS
from anpr.ids import is_valid_id
from api.archive.base import ReadKey
from api.errors import invalid

_READ_CURSOR = "r1"


def encode_read_cursor(key: ReadKey) -> str:
    raw = orjson.dumps([_READ_CURSOR, key.captured_at, key.read_id, key.camera_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_read_cursor(cursor: str | None) -> ReadKey | None:
    """The position after which to continue; `ApiError` 422 on `cursor` when it is not ours."""
    if cursor is None:
        return None
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        payload = None
    if (
        not isinstance(payload, list)
        or len(payload) not in (3, 4)
        or payload[0] != _READ_CURSOR
        or not isinstance(payload[1], int)
        or isinstance(payload[1], bool)
        or not -MAX_MS <= payload[1] <= MAX_MS
        or not all(is_valid_id(part) for part in payload[2:])
    ):
        raise invalid("cursor", "not a cursor this API returned")
    return ReadKey(payload[1], payload[2], payload[3] if len(payload) == 4 else "")
