"""The canonical read: its wire form on `anpr.reads.v1`, its validation and its derived id.

Validation runs for every read on the gateway's hot path and each error must name the field the
camera got wrong. A read in the expected shape is checked by msgspec (`anpr.readshape`) and
then only for what a type cannot say; any other read goes through the hand-written validator
over the dicts orjson gives, which names every wrong field.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from anpr.clock import RANGE_MESSAGE, in_range, ms_to_rfc3339, rfc3339_to_ms, utc_canonical
from anpr.countries import normalize_country
from anpr.errors import AnprError
from anpr.ids import ID_PATTERN, CameraId, IntegratorId, ReadId
from anpr.normalize import normalize_plate
from anpr.readshape import (
    DIRECTIONS,
    IMAGE_KEYS,
    MAX_CANDIDATES,
    MAX_LANE,
    VEHICLE_KEYS,
    ImagesShape,
    ReadShape,
    VehicleShape,
    as_sent,
    submitted_read,
)
from anpr.shown import MAX_VEHICLE_TEXT, image_problem, shown_text_ok

MAX_PLATE_LEN = 16
# A plate as sent, separators and spaces included: bounded so that a read cannot grow past what
# the broker takes (a 2 MB plate of dashes normalizes to a short one).
MAX_SENT_PLATE_LEN = 64
MAX_READ_WITH_IMAGES_BYTES = 512 * 1024
FUTURE_TOLERANCE_MS = 24 * 3600 * 1000
# The typed path's shapes and the hand-written validator read the same vocabularies.
VEHICLE_FIELDS = tuple(wire for wire, _ in VEHICLE_KEYS)
IMAGE_FIELDS = tuple(wire for wire, _ in IMAGE_KEYS)


class Candidate(TypedDict):
    plate: str
    plate_norm: str
    confidence: NotRequired[float]


class Location(TypedDict):
    lat: float
    lon: float


class ReadRecord(TypedDict):
    """A read as it travels on `anpr.reads.v1` (and inside every hit)."""

    v: int
    read_id: ReadId
    camera_id: CameraId
    integrator_id: IntegratorId
    captured_at: str
    captured_at_ms: int
    received_at: int
    plate: str
    plate_norm: str
    country: NotRequired[str]
    confidence: NotRequired[float]
    candidates: NotRequired[list[Candidate]]
    direction: NotRequired[str]
    lane: NotRequired[int]
    vehicle: NotRequired[dict[str, str]]
    images: NotRequired[dict[str, str]]
    location: NotRequired[Location]


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """The time window a read's `captured_at` must fall in, fixed per request."""

    now_ms: int
    retention_ms: int

    @property
    def oldest_ms(self) -> int:
        return self.now_ms - self.retention_ms

    @property
    def newest_ms(self) -> int:
        return self.now_ms + FUTURE_TOLERANCE_MS


MAX_EXACT_INT = 2**53


def derive_read_id(camera_id: str, captured_at_ms: int, plate_norm: str) -> ReadId:
    """A stable id for a read sent without one, so a resend maps to the same id."""
    digest = hashlib.sha256(f"{camera_id}\x1f{captured_at_ms}\x1f{plate_norm}".encode()).hexdigest()
    return ReadId("d-" + digest[:32])


def _is_number(value: object) -> bool:
    """A finite int or float. An int past 2**53 is none of the numbers a read holds, and one of
    400 digits (the stdlib parser of large bodies keeps it) would overflow `math.isfinite`."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -MAX_EXACT_INT <= value <= MAX_EXACT_INT
    return isinstance(value, float) and math.isfinite(value)


class BadTime(AnprError):
    """A time a client sent that is not one; `message` says why (without the field's name, which
    the caller knows)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_captured_at(value: object) -> int:
    """Epoch milliseconds from RFC 3339 or integer epoch ms, within [MIN_MS, MAX_MS]; `BadTime`
    otherwise. Every time field a client sends goes through here."""
    parsed: int | None = None
    if isinstance(value, str):
        parsed = rfc3339_to_ms(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        parsed = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        parsed = int(value)
    if parsed is None:
        raise BadTime(
            "must be RFC 3339 with an offset (Z or ±hh:mm), or integer epoch milliseconds"
        )
    if not in_range(parsed):
        raise BadTime(RANGE_MESSAGE)
    return parsed


def parse_time_or_none(value: object) -> int | None:
    """`parse_captured_at`, with None for a value that is not a usable time."""
    try:
        return parse_captured_at(value)
    except BadTime:
        return None


def _confidence(value: object, field: str, errors: list[FieldError]) -> float | None:
    if not _is_number(value) or not 0.0 <= float(value) <= 1.0:  # type: ignore[arg-type]
        errors.append(FieldError(field, "must be a number from 0 to 1"))
        return None
    return float(value)  # type: ignore[arg-type]


def _plate(value: object, field: str, errors: list[FieldError]) -> str | None:
    if not isinstance(value, str):
        errors.append(FieldError(field, "required string"))
        return None
    if len(value) > MAX_SENT_PLATE_LEN:
        errors.append(FieldError(field, f"must be at most {MAX_SENT_PLATE_LEN} characters"))
        return None
    norm = normalize_plate(value)
    if not 1 <= len(norm) <= MAX_PLATE_LEN:
        errors.append(
            FieldError(field, f"must have 1 to {MAX_PLATE_LEN} letters or digits once normalized")
        )
        return None
    return norm


def _string_object(
    value: object, field: str, keys: tuple[str, ...], errors: list[FieldError]
) -> dict[str, str] | None:
    if not isinstance(value, dict):
        errors.append(FieldError(field, "must be an object"))
        return None
    out: dict[str, str] = {}
    for key in keys:
        item = value.get(key)
        if item is None:
            continue
        if not isinstance(item, str):
            errors.append(FieldError(f"{field}.{key}", "must be a string"))
            continue
        out[key] = item
    return out


def _location(value: object, field: str, errors: list[FieldError]) -> Location | None:
    if not isinstance(value, dict):
        errors.append(FieldError(field, "must be an object with lat and lon"))
        return None
    lat, lon = value.get("lat"), value.get("lon")
    ok = True
    if not _is_number(lat) or not -90 <= lat <= 90:  # type: ignore[operator]
        errors.append(FieldError(f"{field}.lat", "must be a number from -90 to 90"))
        ok = False
    if not _is_number(lon) or not -180 <= lon <= 180:  # type: ignore[operator]
        errors.append(FieldError(f"{field}.lon", "must be a number from -180 to 180"))
        ok = False
    if not ok:
        return None
    return Location(lat=float(lat), lon=float(lon))  # type: ignore[arg-type]


def _candidates(value: object, errors: list[FieldError]) -> list[Candidate] | None:
    if not isinstance(value, list):
        errors.append(FieldError("candidates", "must be an array"))
        return None
    if len(value) > MAX_CANDIDATES:
        errors.append(FieldError("candidates", f"at most {MAX_CANDIDATES} candidates"))
        return None
    out: list[Candidate] = []
    for i, item in enumerate(value):
        field = f"candidates[{i}]"
        if not isinstance(item, dict):
            errors.append(FieldError(field, "must be an object with plate and confidence"))
            continue
        norm = _plate(item.get("plate"), f"{field}.plate", errors)
        cand: Candidate | None = (
            {"plate": item["plate"], "plate_norm": norm} if norm is not None else None
        )
        if item.get("confidence") is not None:
            conf = _confidence(item["confidence"], f"{field}.confidence", errors)
            if cand is not None and conf is not None:
                cand["confidence"] = conf
        if cand is not None:
            out.append(cand)
    return out


def _opt_country(value: object, out: dict[str, Any], errors: list[FieldError]) -> None:
    country = normalize_country(value)
    if country is None:
        errors.append(FieldError("country", "must be an ISO 3166-1 alpha-2 code"))
    else:
        out["country"] = country


def _opt_confidence(value: object, out: dict[str, Any], errors: list[FieldError]) -> None:
    conf = _confidence(value, "confidence", errors)
    if conf is not None:
        out["confidence"] = conf


def _opt_candidates(value: object, out: dict[str, Any], errors: list[FieldError]) -> None:
    cands = _candidates(value, errors)
    if cands:
        out["candidates"] = cands


def _opt_direction(value: object, out: dict[str, Any], errors: list[FieldError]) -> None:
    if isinstance(value, str) and value in DIRECTIONS:
        out["direction"] = value
    else:
        errors.append(FieldError("direction", "must be approaching, receding or unknown"))


def _opt_lane(value: object, out: dict[str, Any], errors: list[FieldError]) -> None:
    if type(value) is int and 0 <= value <= MAX_LANE:
        out["lane"] = value
    else:
        errors.append(FieldError("lane", f"must be an integer from 0 to {MAX_LANE}"))


def _opt_vehicle(value: object, out: dict[str, Any], errors: list[FieldError]) -> None:
    vehicle = _string_object(value, "vehicle", VEHICLE_FIELDS, errors)
    if vehicle:
        bad = [k for k, v in vehicle.items() if not shown_text_ok(v, MAX_VEHICLE_TEXT)]
        for key in bad:
            errors.append(
                FieldError(
                    f"vehicle.{key}",
                    f"at most {MAX_VEHICLE_TEXT} characters, no control characters",
                )
            )
        if not bad:
            out["vehicle"] = vehicle


def _opt_images(value: object, out: dict[str, Any], errors: list[FieldError]) -> None:
    images = _string_object(value, "images", IMAGE_FIELDS, errors)
    if images:
        if sum(len(v) for v in images.values()) > MAX_READ_WITH_IMAGES_BYTES:
            errors.append(FieldError("images", "a read with images is at most 512 KiB"))
            return
        problems = [
            FieldError(f"images.{key}", message)
            for key, text in images.items()
            if (message := image_problem(key, text)) is not None
        ]
        if problems:
            errors.extend(problems)
        else:
            out["images"] = images


def _opt_location(value: object, out: dict[str, Any], errors: list[FieldError]) -> None:
    location = _location(value, "location", errors)
    if location is not None:
        out["location"] = location


_OptionalCheck = Callable[[object, dict[str, Any], list[FieldError]], None]
_OPTIONAL_FIELDS: dict[str, _OptionalCheck] = {
    "country": _opt_country,
    "confidence": _opt_confidence,
    "candidates": _opt_candidates,
    "direction": _opt_direction,
    "lane": _opt_lane,
    "vehicle": _opt_vehicle,
    "images": _opt_images,
    "location": _opt_location,
}
_OPTIONAL_CHECKS = tuple(_OPTIONAL_FIELDS.items())


def validate_read(
    raw: object, *, integrator_id: str, received_at_ms: int, limits: ReadLimits
) -> ReadRecord | list[FieldError]:
    """Turn one submitted read into its canonical wire form, or name every field that is wrong."""
    shaped = submitted_read(raw)
    if shaped is not None:
        record = _accept_shaped(shaped, integrator_id, received_at_ms, limits)
        if record is not None:
            return record
        if raw is shaped:
            raw = as_sent(shaped)
    return _validate_by_hand(
        raw, integrator_id=integrator_id, received_at_ms=received_at_ms, limits=limits
    )


def _given_texts(
    shaped: VehicleShape | ImagesShape, keys: tuple[tuple[str, str], ...], *, shown: bool
) -> dict[str, str] | None:
    """The texts sent, by their wire names; None when `shown` and one cannot be shown."""
    texts: dict[str, str] = {}
    for wire, attribute in keys:
        text = getattr(shaped, attribute)
        if text is not None:
            if shown and not shown_text_ok(text, MAX_VEHICLE_TEXT):
                return None
            texts[wire] = text
    return texts


# `fullmatch`, not `match` with `$`, which would let one trailing newline through.
_ID_MATCH = ID_PATTERN.fullmatch


def _norm_or_none(plate: str) -> str | None:
    if len(plate) > MAX_SENT_PLATE_LEN:
        return None
    norm = normalize_plate(plate)
    return norm if 1 <= len(norm) <= MAX_PLATE_LEN else None


def _accept_shaped(
    read: ReadShape, integrator_id: str, received_at_ms: int, limits: ReadLimits
) -> ReadRecord | None:
    """The record `_validate_by_hand` would give for this well-typed read, or None when a check
    beyond its types fails (the hand-written validator then names the field)."""
    if _ID_MATCH(read.camera_id) is None or (
        read.read_id is not None and _ID_MATCH(read.read_id) is None
    ):
        return None
    captured = read.captured_at
    captured_text: str | None = None
    if type(captured) is str:
        canonical = utc_canonical(captured)
        if canonical is None:
            captured_ms = rfc3339_to_ms(captured)
        else:
            captured_ms, captured_text = canonical
    elif type(captured) is float:
        captured_ms = int(captured) if captured.is_integer() else None
    else:
        captured_ms = int(captured)
    if (
        captured_ms is None
        or not in_range(captured_ms)
        or not limits.oldest_ms <= captured_ms <= limits.newest_ms
    ):
        return None
    plate_norm = _norm_or_none(read.plate)
    if plate_norm is None:
        return None
    record: ReadRecord = {
        "v": 1,
        "read_id": ReadId(read.read_id)
        if read.read_id is not None
        else derive_read_id(read.camera_id, captured_ms, plate_norm),
        "camera_id": CameraId(read.camera_id),
        "integrator_id": IntegratorId(integrator_id),
        "captured_at": captured_text or ms_to_rfc3339(captured_ms),
        "captured_at_ms": captured_ms,
        "received_at": received_at_ms,
        "plate": read.plate,
        "plate_norm": plate_norm,
    }
    if read.country is not None:
        country = normalize_country(read.country)
        if country is None:
            return None
        record["country"] = country
    if read.confidence is not None:
        record["confidence"] = read.confidence
    if read.candidates:
        candidates: list[Candidate] = []
        for shaped in read.candidates:
            norm = _norm_or_none(shaped.plate)
            if norm is None:
                return None
            candidate: Candidate = {"plate": shaped.plate, "plate_norm": norm}
            if shaped.confidence is not None:
                candidate["confidence"] = shaped.confidence
            candidates.append(candidate)
        record["candidates"] = candidates
    if read.direction is not None:
        record["direction"] = read.direction
    if read.lane is not None:
        record["lane"] = read.lane
    if read.vehicle is not None:
        vehicle = _given_texts(read.vehicle, VEHICLE_KEYS, shown=True)
        if vehicle is None:
            return None
        if vehicle:
            record["vehicle"] = vehicle
    if read.images is not None:
        images = _given_texts(read.images, IMAGE_KEYS, shown=False)
        if images is None:
            return None
        if images:
            if sum(len(text) for text in images.values()) > MAX_READ_WITH_IMAGES_BYTES:
                return None
            if any(image_problem(key, text) is not None for key, text in images.items()):
                return None
            record["images"] = images
    if read.location is not None:
        record["location"] = Location(lat=read.location.lat, lon=read.location.lon)
    return record


def _validate_by_hand(
    raw: object, *, integrator_id: str, received_at_ms: int, limits: ReadLimits
) -> ReadRecord | list[FieldError]:
    """The validator for reads outside the expected shape: names every field that is wrong."""
    if not isinstance(raw, dict):
        return [FieldError("read", "must be a JSON object")]
    errors: list[FieldError] = []

    camera_id = raw.get("camera_id")
    if not isinstance(camera_id, str) or ID_PATTERN.fullmatch(camera_id) is None:
        errors.append(FieldError("camera_id", "required string of 1-128 of [A-Za-z0-9._:-]"))
    read_id = raw.get("read_id")
    if read_id is not None and (
        not isinstance(read_id, str) or ID_PATTERN.fullmatch(read_id) is None
    ):
        errors.append(FieldError("read_id", "must be 1-128 of [A-Za-z0-9._:-]"))

    captured_ms: int | None = None
    if "captured_at" not in raw or raw["captured_at"] is None:
        errors.append(FieldError("captured_at", "required"))
    else:
        try:
            parsed = parse_captured_at(raw["captured_at"])
        except BadTime as exc:
            errors.append(FieldError("captured_at", exc.message))
        else:
            if parsed > limits.newest_ms:
                errors.append(FieldError("captured_at", "more than 24 h in the future"))
            elif parsed < limits.oldest_ms:
                errors.append(FieldError("captured_at", "older than the read retention"))
            else:
                captured_ms = parsed

    plate = raw.get("plate")
    plate_norm = _plate(plate, "plate", errors)

    optional: dict[str, Any] = {}
    get = raw.get
    for key, check in _OPTIONAL_CHECKS:
        value = get(key)
        if value is not None:
            check(value, optional, errors)

    if errors:
        return errors
    assert isinstance(camera_id, str) and isinstance(plate, str)  # noqa: S101 - narrowed above
    assert plate_norm is not None and captured_ms is not None  # noqa: S101
    record: ReadRecord = {
        "v": 1,
        "read_id": ReadId(read_id)
        if isinstance(read_id, str)
        else derive_read_id(camera_id, captured_ms, plate_norm),
        "camera_id": CameraId(camera_id),
        "integrator_id": IntegratorId(integrator_id),
        "captured_at": ms_to_rfc3339(captured_ms),
        "captured_at_ms": captured_ms,
        "received_at": received_at_ms,
        "plate": plate,
        "plate_norm": plate_norm,
    }
    record.update(optional)  # type: ignore[typeddict-item]
    return record
