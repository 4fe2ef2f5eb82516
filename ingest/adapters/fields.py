"""Coercing vendor field values into canonical ones: numbers, times, confidences, countries, images.

Every function takes whatever JSON or XML gave (`object`) and returns the canonical value or None
when the value is absent or unusable; none of them raises. Numbers sent as strings are numbers.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from anpr.ids import ID_PATTERN
from anpr.normalize import normalize_plate
from anpr.readshape import MAX_CANDIDATES
from anpr.shown import MAX_VEHICLE_TEXT, shown_text_ok
from ingest.adapters.country_codes import region_to_alpha2
from ingest.adapters.errors import AdapterError
from ingest.adapters.result import CandidateIn, LocationIn

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Epoch values: below 1e11 are seconds (up to year 5138), then ms, µs and ns.
_EPOCH_UNITS = ((1e11, 1.0), (1e14, 1e3), (1e17, 1e6), (1e20, 1e9))
# Seconds may be left out, as ISO 8601 allows (`2009-11-14T15:27Z`, the example dateTime of
# Hikvision's ISAPI guide); a fraction then stays unread: it would be of a minute.
_ISO = re.compile(
    r"(\d{4})-?(\d{2})-?(\d{2})[Tt ]+(\d{2}):?(\d{2})(?::?(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
)
# `20240507174803847` (Hikvision absTime), `20210611 130538252` (Axis datetime), and
# `202611301015` (seconds left out).
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})\s?(\d{2})(\d{2})(?:(\d{2})(\d{0,6}))?")
# The lengths of a compact time in digits only: YYYYMMDDHHMM, YYYYMMDDHHMMSS, YYYYMMDDHHMMSSfff.
# No epoch number of these lengths is a time a camera reads today (12 digits: ms before 2001;
# 14: µs before 2001 or ms after 2286; 17: ns before 2001 or µs after 2286), so such a value,
# a string or a JSON number, is a compact time or no time at all, never an epoch.
_COMPACT_LENGTHS = frozenset({12, 14, 17})
_DIGITS = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_B64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_MAC = re.compile(r"[0-9A-Fa-f]{2}(?:[:.-]?[0-9A-Fa-f]{2}){5}")
_PLACEHOLDERS = frozenset({"", "-", "--", "n/a", "na", "none", "null", "unknown", "undefined"})


def obj(value: object) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def objs(value: object) -> list[dict[str, Any]]:
    """The JSON objects of `value` when it is an array (or one object), else none."""
    if isinstance(value, dict):
        return [value]
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def number(value: object) -> float | None:
    """A finite number from a JSON number or a numeric string (`"0.72"`, `" 98 "`, `"0,72"`)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value) if abs(value) < 2**63 else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= 64:
        text = value.strip()
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        if _NUMBER.fullmatch(text):
            parsed = float(text)
            return parsed if math.isfinite(parsed) else None
    return None


def integer(value: object) -> int | None:
    """An integer from a JSON number or a numeric string, when it has no fractional part."""
    parsed = number(value)
    if parsed is None or not parsed.is_integer():
        return None
    return int(parsed)


def text(value: object, *, max_len: int = 256) -> str | None:
    """A non-empty string with outer blanks removed; an integer becomes its digits."""
    if isinstance(value, str):
        stripped = value.strip()
        return stripped if 0 < len(stripped) <= max_len else None
    if isinstance(value, int) and not isinstance(value, bool):
        digits = str(value)
        return digits if len(digits) <= max_len else None
    return None


def label(value: object) -> str | None:
    """Like `text`, but vendor placeholders (`-`, `unknown`, `N/A`) mean no value, and a label
    the gateway would refuse (too long, control characters) is left out, not sent on
    to fail the whole read: a vehicle's colour is never worth losing its plate."""
    found = text(value, max_len=MAX_VEHICLE_TEXT)
    if (
        found is None
        or found.lower() in _PLACEHOLDERS
        or not shown_text_ok(found, MAX_VEHICLE_TEXT)
    ):
        return None
    return found


def confidence(value: object, *, scale: Literal["unit", "percent"]) -> float | None:
    """A confidence from 0 to 1, from the vendor's documented scale.

    A `unit` field holding a value above 1 (up to 100) was sent as a percentage and is divided;
    a `percent` field is always divided by 100. Negative values (Genetec's -1, "not computed")
    and values above 100 mean no confidence.
    """
    parsed = number(value)
    if parsed is None or parsed < 0 or parsed > 100:
        return None
    if scale == "percent" or parsed > 1:
        parsed /= 100
    return round(parsed, 4)


def country(value: object) -> str | None:
    """ISO 3166-1 alpha-2 from alpha-2, alpha-3, a region code (`us-ca`) or a plate sign (`D`)."""
    code = text(value, max_len=16)
    return region_to_alpha2(code) if code is not None else None


@lru_cache(maxsize=256)
def zone(camera_tz: str | None) -> tzinfo:
    """The camera's time zone (IANA name); UTC when not set. Unknown names are refused."""
    if camera_tz is None or camera_tz in ("UTC", "Etc/UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(camera_tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise AdapterError("camera_tz", f"{camera_tz!r} is not a known IANA time zone") from exc


def epoch(value: float) -> datetime | None:
    """A moment from epoch seconds, milliseconds, microseconds or nanoseconds, told by size."""
    if value <= 0:
        return None
    for bound, per_second in _EPOCH_UNITS:
        if value < bound:
            return _from_ms(round(value * 1000 / per_second))
    return None


def moment(value: object, tz: tzinfo) -> datetime | None:
    """An aware moment from epoch numbers, ISO 8601/RFC 3339 or compact vendor timestamps.

    A time without an offset is a wall-clock time in `tz` (the camera's zone). 12, 14 or 17
    digits (a string or an integer) are a compact wall-clock time (`20240507174803847`), never an
    epoch number: None when they are no calendar time.
    """
    digits = _digits(value)
    if digits is not None and len(digits) in _COMPACT_LENGTHS:
        compact = _COMPACT.fullmatch(digits)
        return _from_parts(compact.groups(), None, tz) if compact else None
    parsed = number(value)
    if parsed is not None:
        return epoch(parsed)
    if not isinstance(value, str) or len(value) > 64:
        return None
    raw = value.strip()
    match = _ISO.fullmatch(raw)
    if match is not None:
        return _from_parts(match.groups()[:7], match.group(8), tz)
    match = _COMPACT.fullmatch(raw)
    if match is not None:
        return _from_parts(match.groups(), None, tz)
    return None


def _digits(value: object) -> str | None:
    """The decimal digits of a positive integer or of a string of ASCII digits, else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if value > 0 else None
    if isinstance(value, str) and len(value) <= 64:
        stripped = value.strip()
        return stripped if _DIGITS.fullmatch(stripped) else None
    return None


def rfc3339(when: datetime) -> str:
    """RFC 3339 with milliseconds, keeping the offset the time was given in (`Z` for UTC)."""
    out = when.isoformat(timespec="milliseconds")
    return out[:-6] + "Z" if out.endswith("+00:00") else out


def captured_at(value: object, tz: tzinfo) -> str | None:
    found = moment(value, tz)
    return rfc3339(found) if found is not None else None


def time_field(record: dict[str, Any], keys: Sequence[str], prefix: str = "") -> str:
    """The payload field to name when none of `keys` held a usable time: the first one the
    payload has (its value could not be read), else the first (missing)."""
    return prefix + next((key for key in keys if record.get(key) is not None), keys[0])


def first_time(record: dict[str, Any], keys: Sequence[str], tz: tzinfo) -> str | None:
    """`captured_at` of the first of `keys` that holds a usable time."""
    for key in keys:
        found = captured_at(record.get(key), tz)
        if found is not None:
            return found
    return None


def jpeg_b64(data: bytes) -> str | None:
    """Base64 of a JPEG picture (checked by its SOI marker), or None for anything else."""
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    return base64.b64encode(data).decode("ascii")


def inline_jpeg_b64(value: object) -> str | None:
    """A vendor's inline base64 JPEG: line breaks and a `data:` prefix removed, JPEG checked."""
    if not isinstance(value, str) or not value:
        return None
    found = value.strip()
    if found.startswith("data:"):
        found = found.partition(",")[2]
    if any(ch.isspace() for ch in found[:200]) or "\n" in found:
        found = "".join(found.split())
    if not found.startswith("/9j/") or _B64.fullmatch(found) is None:
        return None
    return found


def location(lat: object, lon: object) -> LocationIn | None:
    """`{lat, lon}` when both are in range; 0,0 (what units without a GPS fix send) is no fix."""
    la, lo = number(lat), number(lon)
    if la is None or lo is None or not (-90 <= la <= 90 and -180 <= lo <= 180):
        return None
    if la == 0 and lo == 0:
        return None
    return {"lat": la, "lon": lo}


def vehicle(*, make: object = None, model: object = None, color: object = None,
            kind: object = None) -> dict[str, str] | None:  # fmt: skip
    found = {
        "make": label(make),
        "model": label(model),
        "color": label(color),
        "class": label(kind),
    }
    out = {key: value for key, value in found.items() if value is not None}
    return out or None


def candidates(plate: str, options: Sequence[tuple[object, float | None]]) -> list[CandidateIn]:
    """Alternative readings: the read's own plate and repeats left out, at most 10.

    `options` holds (plate, confidence 0-1 or None) pairs in the vendor's order.
    """
    seen = {normalize_plate(plate)}
    out: list[CandidateIn] = []
    for raw_plate, conf in options:
        alt = text(raw_plate, max_len=64)
        if alt is None:
            continue
        norm = normalize_plate(alt)
        if not norm or norm in seen:
            continue
        seen.add(norm)
        cand: CandidateIn = {"plate": alt}
        if conf is not None:
            cand["confidence"] = conf
        out.append(cand)
        if len(out) == MAX_CANDIDATES:
            break
    return out


def read_id(*parts: object) -> str | None:
    """A read id from vendor parts joined by `:`, when it fits the contract's id alphabet."""
    texts = [text(part, max_len=128) for part in parts]
    if any(part is None for part in texts):
        return None
    joined = ":".join(part for part in texts if part is not None)
    return joined if ID_PATTERN.fullmatch(joined) else None


def mac12(value: object) -> str | None:
    """A MAC address as 12 upper-case hex digits (`44:a6:42:f3:2a:d7` -> `44A642F32AD7`)."""
    found = text(value, max_len=32)
    if found is None or _MAC.fullmatch(found) is None:
        return None
    digits = re.sub(r"[:.-]", "", found).upper()
    return None if digits in ("000000000000", "FFFFFFFFFFFF") else digits


def _from_ms(ms: int) -> datetime | None:
    try:
        return _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        return None


def _from_parts(parts: tuple[str | None, ...], offset: str | None, tz: tzinfo) -> datetime | None:
    year, month, day, hour, minute, second = (int(p or 0) for p in parts[:6])
    fraction = (parts[6] or "")[:6].ljust(6, "0")
    try:
        naive = datetime(year, month, day, hour, minute, min(second, 59), int(fraction))  # noqa: DTZ001
    except ValueError:
        return None
    if offset is None:
        return naive.replace(tzinfo=tz)
    found = _offset(offset)
    if found is None:
        return None
    return naive.replace(tzinfo=found)


def _offset(raw: str) -> tzinfo | None:
    if raw.upper() in ("Z", "UTC", "GMT"):
        return UTC
    digits = raw[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    if not delta:
        return UTC
    return timezone(-delta if raw[0] == "-" else delta)


def lane(value: object) -> int | None:
    """A lane number the contract takes (0-32), from a number or a numeric string."""
    found = integer(value)
    return found if found is not None and 0 <= found <= 32 else None


def http_url(value: object) -> str | None:
    """An `http(s)://` URL, or None (a file name or a camera-local path is no URL to fetch)."""
    found = text(value, max_len=2048)
    return found if found and found.startswith(("http://", "https://")) else None


def pictures(**found: str | None) -> dict[str, str] | None:
    """A read's `images` from the pictures a payload had (`plate_jpeg_b64=...`), or None."""
    return {key: value for key, value in found.items() if value} or None


_APPROACHING = frozenset(
    {"in", "approach", "approaching", "arriving", "coming", "comein", "forward", "obverse",
     "toward", "towards", "front", "entry", "enter"}
)  # fmt: skip
_RECEDING = frozenset(
    {"out", "away", "goaway", "goingaway", "leave", "leaving", "receding", "departing", "reverse",
     "going", "goout", "rear", "back", "exit"}
)  # fmt: skip


def direction(value: object) -> str | None:
    """`approaching`/`receding`/`unknown` from a vendor's word (`GOAWAY`, `Leave`, `Obverse`)."""
    found = text(value, max_len=64)
    if found is None:
        return None
    word = re.sub(r"[\s_-]", "", found.lower())
    if word in _APPROACHING:
        return "approaching"
    if word in _RECEDING:
        return "receding"
    return "unknown" if word in ("unknown", "undefined", "none", "0") else None


_DATE = re.compile(r"(\d{4})\D?(\d{2})\D?(\d{2})|(\d{2})\D(\d{2})\D(\d{4})")


def wall_clock(date: object, time: object, tz: tzinfo) -> str | None:
    """`captured_at` of a camera's separate date and time fields, read in the camera's zone.

    The date is `YYYY-MM-DD` (or `YYYYMMDD`) or `DD/MM/YYYY`; the time `HH:MM:SS[.fff]` or
    Tattile's `HH-MM-SS-mmm`.
    """
    day, clock = text(date, max_len=32), text(time, max_len=32)
    if day is None or clock is None:
        return None
    found = _DATE.fullmatch(day)
    parts = re.findall(r"\d+", clock)
    if found is None or not 3 <= len(parts) <= 4:
        return None
    year, month, mday = found.group(1, 2, 3) if found.group(1) else found.group(6, 5, 4)
    fraction = f".{parts[3]}" if len(parts) == 4 else ""
    return captured_at(f"{year}-{month}-{mday}T{parts[0]}:{parts[1]}:{parts[2]}{fraction}", tz)
