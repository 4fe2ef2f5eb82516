"""Reads as the archive keeps them: decoded from `anpr.reads.v1`, plus their OCR skeleton. Pure.

A record is checked for the fields the archive indexes; the rest of the read (candidates,
vehicle, images, location, ...) is kept as it came, as the read's body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from anpr.errors import InvalidRecord
from anpr.normalize import skeleton

DAY_MS = 24 * 3600 * 1000


class BadRead(InvalidRecord):
    """A record on the reads topic the archive cannot keep; says which field."""


@dataclass(frozen=True, slots=True)
class ArchivedRead:
    read_id: str
    camera_id: str
    captured_at: int
    received_at: int
    plate: str
    plate_norm: str
    plate_skeleton: str
    country: str | None
    confidence: float | None
    body: dict[str, Any]
    raw: bytes  # the record's value as it was on the topic (what the archive keeps)

    @property
    def day(self) -> int:
        """The UTC day (epoch ms at 00:00) of `captured_at`: the archive's partition."""
        return self.captured_at - self.captured_at % DAY_MS


def _str(value: dict[str, Any], key: str) -> str:
    got = value.get(key)
    if not isinstance(got, str) or not got:
        raise BadRead(f"{key}: a non-empty string is required")
    return got


def _int(value: dict[str, Any], key: str) -> int:
    got = value.get(key)
    if not isinstance(got, int) or isinstance(got, bool):
        raise BadRead(f"{key}: an integer (epoch ms) is required")
    return got


def decode_read(raw: bytes | None) -> ArchivedRead:
    if raw is None:
        raise BadRead("value: a tombstone on the reads topic")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRead(f"value: not JSON ({exc.msg})") from exc
    if not isinstance(value, dict):
        raise BadRead("value: a JSON object is required")
    plate_norm = _str(value, "plate_norm")
    confidence = value.get("confidence")
    country = value.get("country")
    return ArchivedRead(
        read_id=_str(value, "read_id"),
        camera_id=_str(value, "camera_id"),
        captured_at=_int(value, "captured_at_ms"),
        received_at=_int(value, "received_at"),
        plate=_str(value, "plate"),
        plate_norm=plate_norm,
        plate_skeleton=skeleton(plate_norm),
        country=country if isinstance(country, str) else None,
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        body=value,
        raw=raw,
    )


def positions_differ(a: str, b: str) -> int:
    """How many positions two plates differ in (the length difference counts too)."""
    return sum(1 for x, y in zip(a, b, strict=False) if x != y) + abs(len(a) - len(b))
