"""Time helpers: epoch milliseconds and RFC 3339 formatting, always UTC-aware."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


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
