"""Learning the reads other gateways (and earlier publishes of this one) made durable.

Every publish of reads carries, in the same produce call, one small record on the dedup-keys
topic with the `(camera_id, read_id)` keys of its reads (`anpr.codecs.records.DedupKeysRecord`).
Every gateway follows that topic into its duplicate memory, so a camera's resend is recognised
even when it reaches another replica, or when an earlier attempt was answered 503 but its
records reached Kafka after all. On start it reads back the last `dedup_warm_s` seconds.

Following the reads topic itself (its `read_id` headers) cost every gateway the fetch and
unpacking of every read of every gateway: 22 % of a gateway's time under batched load in
py-spy (docs/performance.md). The keys topic carries one record per publish (per request of up
to a few hundred reads), a few dozen bytes a read.

The loop is the kernel's `ConsumerLoop` without a group, starting at `now - dedup_warm_s`: it is
supervised and replaced when it stalls, resuming where it was. A record that cannot be decoded
is set aside as poison.

What stays open is a resend that arrives at another replica within the few milliseconds before
that replica has seen the first copy, and reads whose keys record was not acknowledged (the
request was answered 503, the camera resends); downstream, hit_ids are deterministic, so even
then no hit is shown twice.

Also open, the other way round: the keys record and the reads are on different partitions,
acknowledged separately. If the keys record lands and the reads never do (their partition's
leader away longer than aiokafka keeps a batch), the request is answered 503, the resend is
taken for a duplicate, and that read is lost. It needs a partial broker failure of some tens of
seconds; Kafka transactions would make the pair atomic. Not seen in the fault tests (one broker).
"""

from __future__ import annotations

from collections.abc import Sequence

from anpr.bus.base import COLD_FETCH_WAIT_MS, Record
from anpr.bus.batch import values_of
from anpr.clock import now_ms
from anpr.codecs import DEDUP_KEYS
from anpr.consume import ConsumerLoop
from anpr.deadletter import Poison
from anpr.errors import InvalidRecord
from anpr.runtime import Runtime
from ingest.dedup import RecentReads

MAX_BATCH = 2_000


class PeerReads:
    def __init__(self, runtime: Runtime, topic: str, recent: RecentReads, *, warm_s: float) -> None:
        self._recent = recent
        self._warm_ms = int(warm_s * 1000)
        self.learned = 0  # keys
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
            fetch_wait_ms=COLD_FETCH_WAIT_MS,
        )

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    async def _learn(self, records: Sequence[Record]) -> list[Poison]:
        poison: list[Poison] = []
        for i, value in enumerate(values_of(records)):
            try:
                keys = DEDUP_KEYS.decode(value)["keys"]
            except InvalidRecord as exc:
                poison.append(Poison(records[i], str(exc)))
                continue
            self._recent.add((camera_id, read_id) for camera_id, read_id in keys)
            self.learned += len(keys)
        return poison
