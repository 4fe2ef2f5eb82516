"""When to try a failed delivery again, and whether to. Pure: the random source is passed in.

Capped exponential backoff with jitter: before attempt n+1 (after n failures) wait a random time
in [d/2, d] where d = min(cap, base * 2**(n-1)). The jitter spreads the retries of many hits that
failed together (a receiver that was down) so they do not come back as one burst. A receiver's
`Retry-After` (seconds) lengthens the wait, never beyond the cap. Retries stop once the next
attempt would start after the retry window, counted from the first attempt.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

# Status codes worth retrying: the receiver is overloaded, restarting or timed out. Other 4xx
# answers (a bad signature, an unknown path) will not change by themselves: the delivery fails
# at once. Redirects are not followed (the URL is what the admin approved) and fail too.
MAX_EXPONENT = 62
RETRIABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float
    cap_s: float
    window_s: float

    def delay(
        self, failures: int, rng: random.Random, *, retry_after_s: float | None = None
    ) -> float:
        """Seconds to wait after the `failures`-th failed attempt (1-based)."""
        exponent = min(max(failures - 1, 0), MAX_EXPONENT)  # 2**big overflows a float
        ceiling = min(self.cap_s, self.base_s * 2.0**exponent)
        wait = rng.uniform(ceiling / 2, ceiling)
        if retry_after_s is not None:
            wait = max(wait, min(retry_after_s, self.cap_s))
        return wait

    def gives_up(self, elapsed_s: float, next_delay_s: float) -> bool:
        """True when an attempt after `next_delay_s` more would start outside the window."""
        return elapsed_s + next_delay_s > self.window_s


def retriable_status(status: int) -> bool:
    return status in RETRIABLE_STATUS


def parse_retry_after(value: str | None, *, now_s: float) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds (ASCII digits) or an HTTP date; None
    when absent or unreadable. Never raises: the value is the receiver's."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²" is a digit to str.isdigit(), not to float()
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):  # a year too big for a C int
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now_s)
