"""The dedup keys of reads Kafka has stored, published for every gateway's duplicate memory.

A publish of reads waits for the reads only. Once Kafka has them, their `(camera_id, read_id)`
keys join this outbox, and one supervised task publishes every key waiting as one record on the
dedup-keys topic, then, `PUBLISH_PAUSE_S` later, the next record with the keys that came
meanwhile: a record carries the keys of 25 ms of requests, not one record a request nor one a
produce round trip. Each record is a publish here and a fetch at every other gateway
(`ingest.peers` pauses as long between its polls): keys shared once per round trip cost a
gateway about a tenth of its CPU under load (`docs/performance.md`). The other gateways learn a key
within about 50 ms of its read being stored.

Keys follow the reads, never go with them, so a key is published only for a read Kafka stored.
Sent with the reads (as before), a keys record could be stored while the reads were not (their
partition's leader away past the producer's delivery timeout): the request was answered 503,
the camera's resend was taken for a duplicate, and the read was lost. A publish that failed
but whose reads Kafka stored after all (the producer retries a batch after the request gave
up) has its keys added when that is known (`Bus.publish(landed_late=...)`), to this gateway's
memory and to the outbox, so the camera's resend is a duplicate, as it should be.

Each record's Kafka key is this gateway's instance id (new at each start): its own peer loop
skips its records unread (`ingest.peers`; its memory holds those keys already), the other
gateways learn them. While Kafka is away the keys wait, the task retrying under the
supervisor's backoff; keys older than the duplicate window are dropped unsent, as no gateway
would use them any more, and so are the oldest beyond as many keys as the duplicate memory
holds (the keys topic away while the reads topic is not).

What this leaves open: a gateway that stops between the reads' acknowledgement and its keys
record (a crash; a clean stop publishes what waits), and a resend that reaches another gateway
within those few milliseconds, are published twice. Downstream, hit_ids are deterministic, so
no hit is shown twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence

from anpr.bus.base import Bus, Message
from anpr.codecs import DEDUP_KEYS
from ingest.dedup import DedupKey

# Keys per record: ~40 bytes each, so a record stays far under Kafka's 1 MB message limit.
MAX_KEYS_PER_RECORD = 5_000
# From one record to the next: the keys that come meanwhile go together.
PUBLISH_PAUSE_S = 0.025


class KeysOutbox:
    def __init__(
        self,
        bus: Bus,
        topic: str,
        instance: bytes,
        *,
        window_s: float,
        max_keys: int,
        timeout_s: float,
        on_expired: Callable[[int], None] = lambda _count: None,
        clock: Callable[[], float] = time.monotonic,
        pause_s: float = PUBLISH_PAUSE_S,
    ) -> None:
        self._bus = bus
        self._pause_s = pause_s
        self._topic = topic
        self.instance = instance
        self._window_s = window_s
        self._max_keys = max_keys
        self._timeout_s = timeout_s
        self._clock = clock
        self._on_expired = on_expired
        # (when added, keys), oldest first.
        self._pending: deque[tuple[float, Sequence[DedupKey]]] = deque()
        self._count = 0
        self._wake = asyncio.Event()
        self.published = 0  # keys
        self.records = 0
        self.expired = 0  # keys dropped unsent after the window

    def __len__(self) -> int:
        """Keys waiting to be published."""
        return self._count

    def add(self, keys: Sequence[DedupKey]) -> None:
        """Keys of reads Kafka stored; published by `run` as soon as it can."""
        if keys:
            self._pending.append((self._clock(), keys))
            self._count += len(keys)
            self._wake.set()
            if self._count > self._max_keys:
                self._expire()

    async def run(self) -> None:
        """The supervised task: publish what waits, forever. A publish that fails raises (the
        supervisor retries after its backoff) with the keys put back."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self.publish_some(self._timeout_s)
                await asyncio.sleep(self._pause_s)

    async def publish_some(self, timeout_s: float) -> None:
        """One record with the oldest keys waiting (up to `MAX_KEYS_PER_RECORD`)."""
        self._expire()
        taken: list[tuple[float, Sequence[DedupKey]]] = []
        keys: list[DedupKey] = []
        while self._pending and len(keys) < MAX_KEYS_PER_RECORD:
            added, batch = self._pending.popleft()
            taken.append((added, batch))
            keys.extend(batch)
        if not keys:
            return
        self._count -= len(keys)
        value = DEDUP_KEYS.encode({"v": 1, "keys": keys})
        try:
            await self._bus.publish(
                [Message(self._topic, self.instance, value)], timeout_s=timeout_s
            )
        except BaseException:
            self._pending.extendleft(reversed(taken))
            self._count += len(keys)
            raise
        self.published += len(keys)
        self.records += 1

    async def flush_on_stop(self, timeout_s: float) -> None:
        """At a clean stop: publish what waits, within `timeout_s` (best effort)."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(timeout_s):
                while self._pending:
                    await self.publish_some(timeout_s)

    def _expire(self) -> None:
        """Drop the keys older than the window, and the oldest beyond `max_keys` (the keys topic
        away while reads are still stored: memory stays bounded, as the duplicate memory's)."""
        now = self._clock()
        dropped = 0
        while self._pending and (
            now - self._pending[0][0] > self._window_s or self._count - dropped > self._max_keys
        ):
            _, batch = self._pending.popleft()
            dropped += len(batch)
        if dropped:
            self._count -= dropped
            self.expired += dropped
            self._on_expired(dropped)
