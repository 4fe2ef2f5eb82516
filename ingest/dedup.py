"""Which reads were recently accepted, so a resend is counted as a duplicate, not republished.

A read being published right now by another request is "in flight": a second copy waits for the
first's outcome instead of racing it, so two concurrent resends never both reach Kafka. When the
first copy's publish fails, the copies that waited for it fail the same way (503) instead of
publishing it themselves: a publish that timed out may still reach Kafka, and the keys record
it carries then tells every gateway (`ingest.peers`), so the camera's resend is counted as a
duplicate; a resend of a read that never landed is published.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from anpr.errors import BusUnavailable

DedupKey = tuple[str, str]  # (camera_id, read_id)


class CopyNotPublished(BusUnavailable):
    """Another request was publishing a copy of this read, and its publish failed."""


_NOT_STORED = "a copy of a read in it, sent by another request, was not stored"


def _retrieve(future: asyncio.Future[bool]) -> None:
    # A copy that gave up waiting (its own timeout) no longer awaits the outcome: its error is
    # known, not lost.
    if not future.cancelled():
        future.exception()


class Publishing:
    """The keys of one publish while it is in flight: what a second copy of one of them waits
    on. The future it waits on is made only when a copy waits, which is rare: a future made per
    request, and its callback run on the loop, were a tenth of a single-read request's pipeline
    (cProfile, `python -m benchmarks.read_costs --batch 1`)."""

    __slots__ = ("_future", "_stored")

    def __init__(self) -> None:
        self._future: asyncio.Future[bool] | None = None
        self._stored: bool | None = None  # None while the publish runs

    def outcome(self) -> asyncio.Future[bool]:
        """True once published; `CopyNotPublished` when the publish failed."""
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
            self._future.add_done_callback(_retrieve)
            if self._stored is not None:
                self._settle(self._future, self._stored)
        return self._future

    def settle(self, stored: bool) -> None:
        self._stored = stored
        if self._future is not None and not self._future.done():
            self._settle(self._future, stored)

    @staticmethod
    def _settle(future: asyncio.Future[bool], stored: bool) -> None:
        if stored:
            future.set_result(True)
        else:
            future.set_exception(CopyNotPublished(_NOT_STORED))


class RecentReads:
    """A bounded, time-limited set of accepted (camera_id, read_id) pairs, oldest first.

    An `OrderedDict` of key -> time added: no object per add that the garbage collector would
    walk. (A plain dict with a deque of the adds saved 0.2 µs per read in batches of 100, but
    held two tracked objects per single-read request for the whole window: millions for the
    collector's full passes to walk.)"""

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
        self._in_flight: dict[DedupKey, Publishing] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def seen(self, key: DedupKey) -> bool:
        added = self._seen.get(key)
        return added is not None and self._clock() - added < self._window

    def in_flight(self, key: DedupKey) -> Publishing | None:
        return self._in_flight.get(key)

    def begin(self, keys: Iterable[DedupKey]) -> Publishing:
        """`keys` are being published now, by one publish: they share one outcome."""
        publishing = Publishing()
        self._in_flight.update(dict.fromkeys(keys, publishing))
        return publishing

    def finish(self, publishing: Publishing, keys: Iterable[DedupKey], *, published: bool) -> None:
        """The publish `begin` gave `publishing` for ended; the copies waiting on its keys learn
        whether it stored them."""
        in_flight = self._in_flight
        for key in keys:
            if in_flight.get(key) is publishing:
                del in_flight[key]
        if published:
            self.add(keys)
        publishing.settle(published)

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
