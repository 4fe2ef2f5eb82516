"""Which reads were recently accepted, so a resend is counted as a duplicate, not republished.

A read being published right now by another request is "in flight": a second copy waits for the
first's outcome instead of racing it, so two concurrent resends never both reach Kafka.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

DedupKey = tuple[str, str]  # (camera_id, read_id)


class RecentReads:
    """A bounded, time-limited set of accepted (camera_id, read_id) pairs."""

    def __init__(
        self,
        *,
        window_s: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = window_s
        self._max = max_entries
        self._clock = clock
        self._seen: OrderedDict[DedupKey, float] = OrderedDict()
        self._in_flight: dict[DedupKey, asyncio.Future[bool]] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def seen(self, key: DedupKey) -> bool:
        added = self._seen.get(key)
        return added is not None and self._clock() - added < self._window

    def in_flight(self, key: DedupKey) -> asyncio.Future[bool] | None:
        return self._in_flight.get(key)

    def begin(self, keys: Iterable[DedupKey]) -> None:
        """`keys` are being published now, by one publish: they share one outcome (a future)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        in_flight = self._in_flight
        for key in keys:
            in_flight[key] = future

    def finish(self, keys: Iterable[DedupKey], *, published: bool) -> None:
        """The publish of `keys` ended; those waiting on them learn whether it stored them."""
        in_flight = self._in_flight
        futures = {id(f): f for f in (in_flight.pop(key, None) for key in keys) if f is not None}
        if published:
            self.add(keys)
        for future in futures.values():
            if not future.done():
                future.set_result(published)

    def add(self, keys: Iterable[DedupKey]) -> None:
        now = self._clock()
        seen = self._seen
        for key in keys:
            seen[key] = now
            seen.move_to_end(key)
        self._expire(now)

    def _expire(self, now: float) -> None:
        seen = self._seen
        while seen:
            oldest_key, added = next(iter(seen.items()))
            if len(seen) <= self._max and now - added < self._window:
                break
            del seen[oldest_key]
