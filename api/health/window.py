"""Per-camera counters in one-minute buckets over the last hour, in one flat array. Pure.

Each camera costs a fixed ~3 KB whatever its read rate; adding a read is O(1) and a window sum
touches at most 60 buckets. Counts are at minute resolution: "the last 5 minutes" is the current
minute and the 4 before it.
"""

from __future__ import annotations

from array import array
from enum import IntEnum
from itertools import compress

MINUTE_MS = 60_000
SLOTS = 60


class Counter(IntEnum):
    READS = 1
    WITH_CONFIDENCE = 2
    LOW_CONFIDENCE = 3
    REJECTED = 4
    DUPLICATES = 5


_WIDTH = len(Counter) + 1  # slot layout: [minute, READS, WITH_CONFIDENCE, ...]


class MinuteBuckets:
    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data = array("q", [-1, 0, 0, 0, 0, 0] * SLOTS)

    def _slot(self, minute: int) -> int:
        base = (minute % SLOTS) * _WIDTH
        data = self._data
        if data[base] != minute:
            data[base] = minute
            for i in range(1, _WIDTH):
                data[base + i] = 0
        return base

    def add(self, at_ms: int, counter: Counter, now_ms: int, n: int = 1) -> None:
        """Count `n` at `at_ms`; events older than an hour or after `now_ms` are ignored (so a
        late event can never recycle the bucket of a newer minute)."""
        minute = at_ms // MINUTE_MS
        current = now_ms // MINUTE_MS
        if current - SLOTS < minute <= current:
            self._data[self._slot(minute) + counter] += n

    def totals(self, now_ms: int, minutes: int) -> list[int]:
        """Every counter summed over the current minute and the `minutes - 1` before it,
        indexed by `Counter` (index 0 unused).

        One pass for all counters, in C: the health sweep evaluates every camera, 10,000 of
        them in a national network, on the API's event loop."""
        current = now_ms // MINUTE_MS
        first = current - min(minutes, SLOTS) + 1
        data = self._data
        inside = [first <= minute <= current for minute in data[0::_WIDTH]]
        return [0, *(sum(compress(data[c::_WIDTH], inside)) for c in range(1, _WIDTH))]

    def total(self, now_ms: int, minutes: int, counter: Counter) -> int:
        """Sum over the current minute and the `minutes - 1` before it."""
        current = now_ms // MINUTE_MS
        data = self._data
        total = 0
        for minute in range(current - min(minutes, SLOTS) + 1, current + 1):
            base = (minute % SLOTS) * _WIDTH
            if data[base] == minute:
                total += data[base + counter]
        return total
