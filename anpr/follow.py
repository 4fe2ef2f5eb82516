"""Follow a compacted topic: replay it from the start, say when caught up, then keep following.

Every process rebuilds its view of the registry and the hotlists this way (contract section 5).
The loop itself is `anpr.consume.ConsumerLoop` without a group (supervised, replaced when it
stalls, resuming where it was); this adds record-by-record application. A record that `apply`
finds malformed (`InvalidRecord`), or whose application raises, is set aside as poison
(`anpr.deadletter`) and skipped: one bad record must not stop a process from learning the rest.

Records are applied in time slices (`anpr.timeslice`), the loop run in between: the embedded
bus hands over a batch without awaiting anything, so a replay of a 1M-entry hotlist held the
API's loop for 17 s in one stretch. A reader that goes over the followed state across awaits
(copying a large set in slices) holds the follower meanwhile (`holding`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from prometheus_client import CollectorRegistry

from anpr.bus.base import COLD_FETCH_WAIT_MS, Bus, Record
from anpr.consume import ConsumerLoop
from anpr.deadletter import Poison
from anpr.errors import InvalidRecord
from anpr.gcpolicy import freeze_arrivals
from anpr.runtime import Runtime
from anpr.timeslice import sliced

# An apply may be async: a matcher builds a replaced 10M-entry list in chunks, yielding to the
# loop so matching goes on meanwhile, while later records of the topic wait their turn.
ApplyOne = Callable[[Record], Awaitable[None] | None]


class TopicFollower:
    """Feeds every record of `topics`, oldest first, to `apply`; `caught_up` is set once the
    records that existed at start have all been applied."""

    def __init__(
        self,
        runtime: Runtime,
        topics: Sequence[str],
        apply: ApplyOne,
        *,
        name: str,
        poll_ms: int = 1000,
        stall_s: float | None = None,
        busy_s: float | None = None,
        freeze_every: int = 0,
        after_batch: Callable[[], None] | None = None,
        discreet: bool = False,
    ) -> None:
        """`discreet`: its lag and last-progress time are not shown on `/metrics` or
        `/readyz`, for topics whose writes must not be counted there (the hotlists: covert
        lists' writes). `freeze_every`: freeze what is alive after that many records
        (`freeze_arrivals`), for topics whose records build large state in bulk (the
        hotlists); 0: never.
        `after_batch`: called once each batch is applied, for what sums up the whole state
        (metrics): once per batch, not once per record."""
        self._apply = apply
        self._after_batch = after_batch
        self.records_applied = 0
        self._freeze_every = freeze_every
        self._since_freeze = 0
        self.loop = ConsumerLoop(
            runtime,
            topics,
            self._apply_all,
            name=name,
            group_id=None,
            from_beginning=True,
            poll_ms=poll_ms,
            fetch_wait_ms=COLD_FETCH_WAIT_MS,
            stall_s=stall_s,
            busy_s=busy_s,
            discreet=discreet,
        )
        self.caught_up = self.loop.caught_up
        self._hold = asyncio.Lock()
        self._between_records = asyncio.Event()  # clear while an async apply is under way
        self._between_records.set()

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    @contextlib.asynccontextmanager
    async def holding(self) -> AsyncIterator[None]:
        """No record is applied inside (one being applied is finished first)."""
        async with self._hold:
            await self._between_records.wait()
            yield

    async def _apply_all(self, records: Sequence[Record]) -> list[Poison]:
        poisons: list[Poison] = []
        async for record in sliced(records):
            if self._hold.locked():  # a reader goes over the state: wait until it is done
                async with self._hold:
                    pass
            try:
                result = self._apply(record)
                if inspect.isawaitable(result):
                    self._between_records.clear()
                    try:
                        await result
                    finally:
                        self._between_records.set()
            except InvalidRecord as exc:
                poisons.append(Poison(record, str(exc)))
        if self._after_batch is not None:
            self._after_batch()
        self.records_applied += len(records)
        self._since_freeze += len(records)
        if self._freeze_every and self._since_freeze >= self._freeze_every:
            freeze_arrivals()
            self._since_freeze = 0
        return poisons


async def replay(
    bus: Bus, topic: str, apply: ApplyOne, *, name: str, deadletter_topic: str, timeout_s: float
) -> None:
    """Apply every record of `topic` up to its current end, then stop: how a command-line tool
    reads the registry or the hotlists once. `TimeoutError` if not done in `timeout_s`."""
    runtime = Runtime(
        process="cli", bus=bus, registry=CollectorRegistry(), deadletter_topic=deadletter_topic
    )
    follower = TopicFollower(runtime, [topic], apply, name=name)
    follower.start()
    try:
        async with asyncio.timeout(timeout_s):
            await follower.caught_up.wait()
    finally:
        await runtime.stop()
