"""Learning the reads other gateways (and earlier publishes of this one) made durable.

Every gateway follows the `read_id` headers of the reads topic into its duplicate memory, so a
camera's resend is recognised even when it reaches another replica, or when an earlier attempt
was answered 503 but its records reached Kafka after all. On start it reads back the last
`dedup_warm_s` seconds. The header is read, never the value: this costs little per read.

The loop is the kernel's `ConsumerLoop` without a group, starting at `now - dedup_warm_s`: it is
supervised and replaced when it stalls, resuming where it was.

What stays open is a resend that arrives at another replica within the few milliseconds before
that replica has seen the first copy; downstream, hit_ids are deterministic, so even then no
hit is shown twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from anpr.bus.base import Record
from anpr.clock import now_ms
from anpr.consume import ConsumerLoop
from anpr.runtime import Runtime
from ingest.dedup import RecentReads

MAX_BATCH = 10_000


class PeerReads:
    def __init__(self, runtime: Runtime, topic: str, recent: RecentReads, *, warm_s: float) -> None:
        self._recent = recent
        self._warm_ms = int(warm_s * 1000)
        self.learned = 0
        self.loop = ConsumerLoop(
            runtime,
            [topic],
            self._learn,
            name="gateway-peer-reads",
            group_id=None,
            from_beginning=False,
            poll_ms=1000,
            start_at_ms=now_ms() - self._warm_ms,
            max_batch=MAX_BATCH,
        )

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    async def _learn(self, records: Sequence[Record]) -> None:
        add = self._recent.add
        for record in records:
            read_id = dict(record.headers).get("read_id")
            if read_id is not None and record.key is not None:
                add((record.key.decode(), read_id.decode()))
        self.learned += len(records)
