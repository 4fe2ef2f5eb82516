"""A consumer loop around a batch handler: one step at a time, the client passed in.

Every long-lived consumer of every process runs on it: the followers of the compacted topics
(`anpr.follow.TopicFollower`, no group) and the API's consumers of hits and camera activity.

`ConsumerLoop` polls the bus, hands each batch to `handle` and commits (with a group) after the
batch is handled, so a crash re-delivers rather than loses records; handlers are idempotent.
`caught_up` is set once the records that existed when the loop started have been handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from anpr.bus.base import Bus, Consumer, Record
from anpr.errors import AnprError

log = logging.getLogger(__name__)

BatchHandler = Callable[[Sequence[Record]], Awaitable[None]]
RETRY_DELAY_S = 1.0
MAX_BATCH = 2000
# With a group and no partition assigned yet, how long to wait before calling an empty
# assignment caught up (the topic may really have no partitions with records for us).
ASSIGNMENT_WAIT_S = 3.0


class ConsumerLoop:
    def __init__(
        self,
        bus: Bus,
        topics: Sequence[str],
        handle: BatchHandler,
        *,
        name: str,
        group_id: str | None,
        from_beginning: bool,
        poll_ms: int,
    ) -> None:
        self._bus = bus
        self._topics = list(topics)
        self._handle = handle
        self._name = name
        self._group_id = group_id
        self._from_beginning = from_beginning
        self._poll_ms = poll_ms
        self.caught_up = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"consume-{self._name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            consumer = self._bus.consumer(
                self._topics, group_id=self._group_id, from_beginning=self._from_beginning
            )
            try:
                await consumer.start()
                try:
                    await self._follow(consumer)
                finally:
                    await consumer.stop()
            except AnprError as exc:
                if not exc.retriable:
                    log.error("%s: consumer stopped: %s", self._name, exc)
                    raise
                log.warning("%s: %s; retrying", self._name, exc)
                await asyncio.sleep(RETRY_DELAY_S)

    async def _follow(self, consumer: Consumer) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        targets = await consumer.end_offsets()
        while True:
            if not self.caught_up.is_set():
                if not targets and self._group_id is not None:
                    # A group consumer learns its partitions only after joining (first polls).
                    targets = await consumer.end_offsets()
                positions = await consumer.positions()
                settled = bool(targets) or loop.time() - started > ASSIGNMENT_WAIT_S
                if settled and all(positions.get(tp, 0) >= end for tp, end in targets.items()):
                    log.info("%s caught up", self._name)
                    self.caught_up.set()
            records = await consumer.getmany(timeout_ms=self._poll_ms, max_records=MAX_BATCH)
            if records:
                await self._handle(records)
                await consumer.commit()
