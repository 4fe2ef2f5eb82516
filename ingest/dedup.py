"""Which reads were recently accepted, so a resend is counted as a duplicate, not republished.

A read being published right now by another request is "in flight": a second copy waits for the
first's outcome instead of racing it, so two concurrent resends never both reach Kafka.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable

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

    def begin(self, key: DedupKey) -> None:
        self._in_flight[key] = asyncio.get_running_loop().create_future()

    def finish(self, key: DedupKey, *, published: bool) -> None:
        future = self._in_flight.pop(key, None)
        if published:
            self.add(key)
        if future is not None and not future.done():
            future.set_result(published)

    def add(self, key: DedupKey) -> None:
        now = self._clock()
        self._seen[key] = now
        self._seen.move_to_end(key)
        self._expire(now)

    def _expire(self, now: float) -> None:
        seen = self._seen
        while seen:
            oldest_key, added = next(iter(seen.items()))
            if len(seen) <= self._max and now - added < self._window:
                break
            del seen[oldest_key]
