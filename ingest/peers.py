"""Learning the reads other gateways (and earlier runs of this one) made durable.

Once Kafka has stored a publish's reads, their `(camera_id, read_id)` keys go out on the
dedup-keys topic (`ingest.keys_outbox`, one record for the keys of the publishes stored
meanwhile, keyed by the sending gateway's instance id). Every gateway follows that topic into
its duplicate memory, so a camera's resend is recognised even when it reaches another replica;
its own records it skips unread (its memory has their keys: added as each publish was stored,
or when a publish answered 503 was stored after all). On start it reads back the last
`dedup_warm_s` seconds, the previous run's records included (another instance id).

Following the reads topic itself (its `read_id` headers) cost every gateway the fetch and
unpacking of every read of every gateway: 22 % of a gateway's time under batched load in
py-spy (docs/performance.md). The keys topic carries a few dozen bytes a read.

The loop is the kernel's `ConsumerLoop` without a group, starting at `now - dedup_warm_s`: it is
supervised and replaced when it stalls, resuming where it was. A record that cannot be decoded
is set aside as poison.

Once caught up it polls at most every `POLL_PAUSE_S` (25 ms): under load the keys of that time
come in one fetch, as the outbox sends them in one record; a poll per produce round trip of
every gateway cost each gateway about a tenth of its CPU (docs/performance.md). What stays open
is a resend that arrives at another replica within the 50 ms or so before that replica has seen
the first copy's keys (and one after a gateway crashed between its reads' acknowledgement and
their keys record); downstream, hit_ids are deterministic, so even then no hit is shown twice.
A keys record is never published for reads Kafka did not store: sent with the reads, as before,
it could land while they did not, and the camera's resend was then taken for a duplicate and
the read lost.
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
# Once caught up, the least time between a batch of keys and the next poll: under load the keys
# of 25 ms come in one fetch, not in one fetch per produce round trip of every gateway.
POLL_PAUSE_S = 0.025


class PeerReads:
    def __init__(
        self,
        runtime: Runtime,
        topic: str,
        recent: RecentReads,
        *,
        warm_s: float,
        own: bytes | None = None,
    ) -> None:
        self._recent = recent
        self._own = own  # this gateway's records (`KeysOutbox.instance`): skipped unread
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
            poll_pause_s=POLL_PAUSE_S,
        )

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    async def _learn(self, records: Sequence[Record]) -> list[Poison]:
        poison: list[Poison] = []
        own = self._own
        for i, value in enumerate(values_of(records)):
            if own is not None and records[i].key == own:
                continue
            try:
                keys = DEDUP_KEYS.decode(value)["keys"]
            except InvalidRecord as exc:
                poison.append(Poison(records[i], str(exc)))
                continue
            self._recent.add((camera_id, read_id) for camera_id, read_id in keys)
            self.learned += len(keys)
        return poison
