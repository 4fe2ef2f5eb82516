"""Follow a compacted topic: replay it from the start, say when caught up, then keep following.

Every process rebuilds its view of the registry and the hotlists this way (contract section 5).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence

from anpr.bus.base import Bus, Consumer, Record
from anpr.errors import AnprError, InvalidRecord

log = logging.getLogger(__name__)

# An apply may be async: a matcher builds a replaced 10M-entry list in chunks, yielding to the
# loop so matching goes on meanwhile, while later records of the topic wait their turn.
ApplyOne = Callable[[Record], Awaitable[None] | None]
RETRY_DELAY_S = 1.0


class TopicFollower:
    """Feeds every record of `topics`, oldest first, to `apply`; `caught_up` is set once the
    records that existed at start have all been applied. A record `apply` finds malformed
    (`InvalidRecord`) goes to `on_invalid` and is skipped: one bad record must not stop a
    process from learning the rest."""

    def __init__(
        self,
        bus: Bus,
        topics: Sequence[str],
        apply: ApplyOne,
        *,
        name: str,
        on_invalid: Callable[[InvalidRecord], None],
        poll_ms: int = 200,
    ) -> None:
        self._bus = bus
        self._topics = list(topics)
        self._apply = apply
        self._name = name
        self._poll_ms = poll_ms
        self._on_invalid = on_invalid
        self.caught_up = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.records_applied = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"follow-{self._name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            consumer = self._bus.consumer(self._topics, group_id=None, from_beginning=True)
            try:
                await consumer.start()
                try:
                    await self._follow(consumer)
                finally:
                    await consumer.stop()
            except AnprError as exc:
                if not exc.retriable:
                    raise
                log.warning("%s: %s; retrying", self._name, exc)
                await asyncio.sleep(RETRY_DELAY_S)

    async def _follow(self, consumer: Consumer) -> None:
        targets = await consumer.end_offsets()
        while True:
            if not self.caught_up.is_set():
                positions = await consumer.positions()
                if all(positions.get(tp, 0) >= end for tp, end in targets.items()):
                    log.info("%s caught up after %d records", self._name, self.records_applied)
                    self.caught_up.set()
            records = await consumer.getmany(timeout_ms=self._poll_ms, max_records=5000)
            if records:
                await self._apply_all(records)

    async def _apply_all(self, records: Sequence[Record]) -> None:
        for record in records:
            try:
                result = self._apply(record)
                if inspect.isawaitable(result):
                    await result
            except InvalidRecord as exc:
                log.error(
                    "%s: skipping invalid record at offset %d: %s", self._name, record.offset, exc
                )
                self._on_invalid(exc)
        self.records_applied += len(records)
