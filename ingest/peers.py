"""Learning the reads other gateways (and earlier publishes of this one) made durable.

Every gateway follows the `read_id` headers of the reads topic into its duplicate memory, so a
camera's resend is recognised even when it reaches another replica, or when an earlier attempt
was answered 503 but its records reached Kafka after all. On start it reads back the last
`dedup_warm_s` seconds. The header is read, never the value: this costs little per read.

What stays open is a resend that arrives at another replica within the few milliseconds before
that replica has seen the first copy; downstream, hit_ids are deterministic, so even then no
hit is shown twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from anpr.bus.base import Bus
from anpr.clock import now_ms
from anpr.errors import AnprError
from ingest.dedup import RecentReads

log = logging.getLogger(__name__)
RETRY_DELAY_S = 1.0


class PeerReads:
    def __init__(self, bus: Bus, topic: str, recent: RecentReads, *, warm_s: float) -> None:
        self._bus = bus
        self._topic = topic
        self._recent = recent
        self._warm_ms = int(warm_s * 1000)
        self._task: asyncio.Task[None] | None = None
        self.learned = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gateway-peer-reads")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        start_at = now_ms() - self._warm_ms
        while True:
            consumer = self._bus.consumer(
                [self._topic], group_id=None, from_beginning=False, start_at_ms=start_at
            )
            try:
                try:
                    await consumer.start()
                    while True:
                        records = await consumer.getmany(timeout_ms=200, max_records=10_000)
                        add = self._recent.add
                        for record in records:
                            read_id = dict(record.headers).get("read_id")
                            if read_id is not None and record.key is not None:
                                add((record.key.decode(), read_id.decode()))
                        self.learned += len(records)
                finally:
                    await consumer.stop()
            except AnprError as exc:
                log.warning("following the reads topic for duplicates failed: %s", exc)
                start_at = now_ms() - self._warm_ms
                await asyncio.sleep(RETRY_DELAY_S)
