"""Time helpers: epoch milliseconds and RFC 3339 formatting, always UTC-aware."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Every time a client sends is within [MIN_MS, MAX_MS]: 1970-01-01 to 9999-12-31T23:59:59.999Z.
# Outside it, formatting (datetime) and storage (64-bit integers) fail: the value is refused
# with its field named instead (issue 11, item 4).
MIN_MS = 0
MAX_MS = 253_402_300_799_999
RANGE_MESSAGE = "out of range (1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z)"
_ONE_MS = timedelta(milliseconds=1)
_ONE_S = timedelta(seconds=1)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@lru_cache(maxsize=4096)
def _second_prefix(seconds: int) -> str:
    # Reads arrive in time order, so consecutive ones share the second: format it once.
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


def ms_to_rfc3339(ms: int) -> str:
    """Format epoch milliseconds as RFC 3339 UTC, with milliseconds only when not zero."""
    seconds, millis = divmod(ms, 1000)
    prefix = _second_prefix(seconds)
    return f"{prefix}.{millis:03d}Z" if millis else f"{prefix}Z"


def utc_canonical(text: str) -> tuple[int, str] | None:
    """Epoch milliseconds and `ms_to_rfc3339`'s text for a time sent in the form it writes
    (`YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.mmmZ`); None for any other form, which
    `rfc3339_to_ms` then parses. Most cameras send this form: it is parsed by a cached second
    and kept as sent instead of being formatted again."""
    size = len(text)
    if size == 24:
        digits = text[20:23]
        if text[19] != "." or text[23] != "Z" or not (digits.isascii() and digits.isdigit()):
            return None
        millis = int(digits)
    elif size == 20 and text[19] == "Z":
        millis = 0
    else:
        return None
    seconds = _second_of_prefix(text[:19])
    if seconds is None:
        return None
    if millis:
        return seconds * 1000 + millis, text
    return seconds * 1000, text if size == 20 else text[:19] + "Z"


@lru_cache(maxsize=4096)
def _second_of_prefix(prefix: str) -> int | None:
    """The epoch second `_second_prefix` writes as `prefix`, or None."""
    try:
        moment = datetime.fromisoformat(prefix + "+00:00")
    except ValueError:
        return None
    seconds = (moment - _EPOCH) // _ONE_S
    if not MIN_MS <= seconds * 1000 <= MAX_MS:
        return None
    return seconds if _second_prefix(seconds) == prefix else None


def rfc3339_to_ms(text: str) -> int | None:
    """Parse RFC 3339 with an offset (`Z` or `±hh:mm`); None when malformed or offset-less."""
    if len(text) < 20 or text[10] not in "Tt ":
        return None
    candidate = text[:-1] + "+00:00" if text[-1] in "Zz" else text
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return (moment - _EPOCH) // _ONE_MS


def in_range(ms: int) -> bool:
    return MIN_MS <= ms <= MAX_MS
