"""The shape of a submitted read, as msgspec `Struct`s: every field's type and range checked by
one C call, for the gateway's fast path.

A JSON body whose reads all fit is decoded straight into these (`decode_reads`); a read that
came as a dict (a body that did not fit, NDJSON, a vendor adapter's output) is converted
(`submitted_read`). `anpr.reads.validate_read` then checks in Python only what a type cannot
say, or says slowly: the ids' alphabet, the plate once normalized, the country code, the time
window, the vehicle text and the images. A read that does not fit, or fails one of those
checks, goes through the hand-written validator, which names every wrong field. Unknown fields
are refused by the shape, so a read carrying any goes that way too (the validator ignores them,
as before).

So the shape only decides how fast a good read is accepted, never what is accepted or what an
error says: the differential tests (`tests/unit/test_read_shape.py`) hold the two paths to the
same answers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

import msgspec

MAX_CANDIDATES = 10
MAX_LANE = 32

_Confidence = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Direction = Literal["approaching", "receding", "unknown"]
DIRECTIONS = frozenset(get_args(Direction))


class CandidateShape(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    plate: str
    confidence: _Confidence | None = None


class LocationShape(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    lat: Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
    lon: Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]


class VehicleShape(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    make: str | None = None
    model: str | None = None
    color: str | None = None
    class_: str | None = msgspec.field(default=None, name="class")


# (wire name, attribute), in the order the record holds them.
VEHICLE_KEYS = (("make", "make"), ("model", "model"), ("color", "color"), ("class", "class_"))


class ImagesShape(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    plate_jpeg_b64: str | None = None
    overview_jpeg_b64: str | None = None
    plate_url: str | None = None
    overview_url: str | None = None


IMAGE_KEYS = tuple((name, name) for name in ImagesShape.__struct_fields__)


class ReadShape(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    # The ids' alphabet is checked by `anpr.reads` (`ID_PATTERN.fullmatch`), not by a pattern
    # here: msgspec's pattern check cost 0.55 µs of the 0.78 µs per read that decoding a batch
    # took, the direct match 0.25 µs (the shape with and without it, on the body of
    # `benchmarks.http_stack`; `python -m benchmarks.read_costs` times the decoding now).
    camera_id: str
    captured_at: str | int | float
    plate: str
    read_id: str | None = None
    country: str | None = None
    confidence: _Confidence | None = None
    candidates: Annotated[list[CandidateShape], msgspec.Meta(max_length=MAX_CANDIDATES)] | None = (
        None
    )
    direction: Direction | None = None
    lane: Annotated[int, msgspec.Meta(ge=0, le=MAX_LANE)] | None = None
    vehicle: VehicleShape | None = None
    images: ImagesShape | None = None
    location: LocationShape | None = None


# msgspec converts a tuple to a list and an int subclass to an int; the hand-written validator
# refuses both, so a read holding one goes its way.
_EXACT_TYPES = (("candidates", list), ("lane", int))


_BODY = msgspec.json.Decoder(list[ReadShape] | ReadShape)


def decode_reads(body: bytes) -> list[ReadShape] | None:
    """The reads of a JSON body (one object or an array) when every one fits the shape, straight
    from the bytes; None otherwise, and the body is parsed into dicts as any other.

    msgspec checks the UTF-8 and the numbers of every value it keeps, and with unknown fields
    refused it keeps every value: so it accepts no body that orjson refuses."""
    try:
        decoded = _BODY.decode(body)
    except msgspec.DecodeError:
        return None
    return decoded if isinstance(decoded, list) else [decoded]


def as_sent(read: ReadShape) -> dict[str, Any]:
    """The read as the dict orjson would have given (absent fields as null), for the
    hand-written validator to name what is wrong."""
    fields: dict[str, Any] = msgspec.to_builtins(read)
    return fields


def submitted_read(raw: object) -> ReadShape | None:
    """`raw` in the read's shape, or None when it does not fit (the validator then says why)."""
    if type(raw) is ReadShape:
        return raw
    if type(raw) is not dict:
        return None
    try:
        read = msgspec.convert(raw, ReadShape)
    except msgspec.ValidationError:
        return None
    for key, exact in _EXACT_TYPES:
        value = raw.get(key)
        if value is not None and type(value) is not exact:
            return None
    return read
