"""The archive consumer: every read of the reads topic, written to the read store.

Group `<prefix>archive`: its own, so the archive neither takes reads from nor gives reads to any
other consumer; several archivers share the work by partition. A batch is written, then its
offsets committed (`ConsumerLoop`), at most every `BUSY_COMMIT_INTERVAL_S` (0.5 s) under load
and at once when the reads stop: a commit is a broker write the loop waits for (6.5-7 ms here,
`benchmarks.commit_cost`), which once per batch of 2,000 at 24,000 reads/s would be 8 % of the
writer's time (computed, not measured through Kafka). A crash re-delivers what was not
committed, and the insert is idempotent on (read_id, camera_id, captured_at), so every read is
archived exactly once. A read already older than the retention when it arrives is not written
(it would be dropped at once). Retention runs every `ANPR_ARCHIVE_RETENTION_INTERVAL_S`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry

from anpr.bus.base import Bus, Record
from anpr.clock import now_ms
from anpr.consume import BUSY_COMMIT_INTERVAL_S, ConsumerLoop
from anpr.deadletter import Poison
from anpr.runtime import Runtime
from anpr.topics import Topics
from api.archive.base import ReadStore
from api.archive.factory import make_read_store
from api.archive.metrics import ArchiveMetrics
from api.archive.pastmatch import PastMatchConfig, PastMatcher
from api.archive.records import ArchivedRead, BadRead, decode_read
from api.store.config import DatabaseSettings

log = logging.getLogger(__name__)


def archive_group_id(topic_prefix: str) -> str:
    return f"{topic_prefix}archive"


class ArchiveService:
    def __init__(
        self,
        settings: DatabaseSettings,
        bus: Bus,
        *,
        reads: ReadStore | None = None,
        poll_ms: int = 1000,
        retention_interval_s: float = 300.0,
        clock: Callable[[], int] = now_ms,
        past_match: PastMatchConfig | None = None,
    ) -> None:
        self.settings = settings
        self.reads = reads or make_read_store(settings)
        self.metrics = ArchiveMetrics(CollectorRegistry())
        self.runtime = Runtime.for_process("archive", settings, bus, self.metrics.registry)
        self.clock = clock
        self._retention_interval_s = retention_interval_s
        self.loop = ConsumerLoop(
            self.runtime,
            [Topics.from_prefix(settings.topic_prefix).reads],
            self.handle_batch,
            name="archive",
            group_id=archive_group_id(settings.topic_prefix),
            from_beginning=True,
            poll_ms=poll_ms,
            commit_interval_s=BUSY_COMMIT_INTERVAL_S,
        )
        # Past-read matching of new hotlist entries (None: off).
        self.past_match = (
            None
            if past_match is None
            else PastMatcher(
                self.runtime,
                self.reads,
                Topics.from_prefix(settings.topic_prefix),
                past_match,
                archive=self.loop,
                clock=clock,
            )
        )

    @property
    def ready(self) -> bool:
        return self.loop.caught_up.is_set() and self.runtime.loops_ready

    async def handle_batch(self, records: Sequence[Record]) -> list[Poison]:
        oldest = self.clock() - self.settings.read_retention_ms
        keep: list[ArchivedRead] = []
        poison: list[Poison] = []
        for record in records:
            try:
                read = decode_read(record.value)
            except BadRead as exc:
                poison.append(Poison(record, str(exc)))
                self.metrics.reads.labels("invalid").inc()
                continue
            if read.captured_at < oldest:
                self.metrics.reads.labels("expired").inc()
                continue
            keep.append(read)
        if not keep:
            return poison
        started = time.perf_counter()
        stored = await self.reads.add_reads(keep)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self.metrics.reads.labels("stored").inc(stored)
        self.metrics.reads.labels("duplicate").inc(len(keep) - stored)
        return poison

    async def apply_retention(self) -> int:
        removed = await self.reads.purge_reads(
            before=self.clock() - self.settings.read_retention_ms
        )
        self.metrics.retention_removed.inc(removed)
        return removed

    async def _retain(self) -> None:
        removed = await self.apply_retention()
        if removed:
            log.info("archive retention removed %d partitions/rows", removed)

    async def start(self) -> None:
        if self.settings.kafka_mode and not self.settings.postgres:
            log.warning(
                "archive: no ANPR_DATABASE_URL: reads go to the SQLite file %s, searchable only "
                "by an API on this host with the same ANPR_DATA_DIR",
                self.settings.db_path,
            )
        self.runtime.watch_event_loop()
        self.metrics.ready.set_function(lambda: 1 if self.ready else 0)
        await self.reads.open()
        self.loop.start()
        if self.past_match is not None:
            self.past_match.start()
        # Retention: a database that is away (StoreUnavailable, retriable) is retried with a
        # backoff by the supervisor.
        self.runtime.supervisor.spawn_periodic(
            "archive-retention", self._retention_interval_s, self._retain
        )

    async def stop(self) -> None:
        await self.runtime.stop()
        await self.reads.close()
