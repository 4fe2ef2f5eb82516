"""The matcher's I/O shell: follow hotlists and registry, consume reads, publish hits, commit.

At-least-once: a batch's offsets are committed only after its hits are acknowledged, so a crash
or rebalance makes another member redo the batch; its hits carry the same hit_ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time

import orjson

from anpr.bus.base import Bus, Consumer, Message, Record
from anpr.clock import now_ms
from anpr.errors import AnprError
from anpr.follow import TopicFollower
from anpr.gcpolicy import freeze_long_lived
from anpr.hotlists import ListConfigChanged, ListReplaced
from anpr.topics import Topics
from matcher.batch import handle_batch
from matcher.metrics import MatcherMetrics
from matcher.settings import MatcherSettings
from matcher.state import MatcherState

log = logging.getLogger(__name__)

RETRY_DELAY_S = 0.5
LAG_INTERVAL_S = 1.0
PURGE_BUDGET = 20_000
COMMIT_INTERVAL_S = 0.5


def current_rss_bytes() -> int:
    """Resident memory now (not the peak), from /proc; 0 where /proc is absent."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class MatcherService:
    def __init__(self, settings: MatcherSettings, bus: Bus, metrics: MatcherMetrics) -> None:
        self.settings = settings
        self.bus = bus
        self.metrics = metrics
        self.topics = Topics.from_prefix(settings.topic_prefix)
        self.state = MatcherState()
        self.hotlists = TopicFollower(
            bus,
            [self.topics.hotlists],
            self._apply_hotlist,
            name="matcher-hotlists",
            on_invalid=lambda exc: self.metrics.invalid_records.labels("hotlists").inc(),
        )
        self.registry = TopicFollower(
            bus,
            [self.topics.registry],
            self._apply_registry,
            name="matcher-registry",
            on_invalid=lambda exc: self.metrics.invalid_records.labels("registry").inc(),
        )
        self.consuming = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def ready(self) -> bool:
        return self.consuming.is_set()

    # --- compacted topics ----------------------------------------------------------------------

    def _apply_registry(self, record: Record) -> None:
        self.state.registry.apply(record.key, record.value)

    async def _apply_hotlist(self, record: Record) -> None:
        for change in self.state.hotlist_changes(record.key, record.value):
            if isinstance(change, ListReplaced) and len(change.entries) > 50_000:
                log.info("building list %s: %d entries", change.config.list_id, len(change.entries))
                for _ in self.state.build_replacement(change):
                    await asyncio.sleep(0)  # let reads be matched between chunks
                if self.hotlists.caught_up.is_set():
                    freeze_long_lived(f"replacing list {change.config.list_id}")
            else:
                self.state.apply_change(change)
            self._list_metrics(
                change.config.list_id
                if isinstance(change, ListReplaced | ListConfigChanged)
                else change.list_id
            )

    def _list_metrics(self, list_id: str) -> None:
        # Every list at once: covert lists are summed under one label (matcher/metrics.py).
        self.metrics.update_lists(self.state.index)

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.registry.start()
        self.hotlists.start()
        self._tasks = [
            asyncio.create_task(self._consume(), name="matcher-consume"),
            asyncio.create_task(self._report_status(), name="matcher-status"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._retire_status()
        await self.hotlists.stop()
        await self.registry.stop()

    # --- the read loop -------------------------------------------------------------------------

    async def _consume(self) -> None:
        # No read is matched against a half-loaded hotlist or an unknown camera's zones.
        await self.registry.caught_up.wait()
        await self.hotlists.caught_up.wait()
        log.info(
            "hotlists loaded: %d entries in %d lists",
            len(self.state.index),
            len(self.state.index.configs),
        )
        freeze_long_lived("loading the hotlists")
        while True:
            consumer = self.bus.consumer(
                [self.topics.reads], group_id=self.settings.matcher_group, from_beginning=True
            )
            try:
                await consumer.start()
                self.consuming.set()
                self.metrics.ready.set(1)
                await self._loop(consumer)
            except AnprError as exc:
                if not exc.retriable:
                    raise
                log.warning("read consumer failed: %s; restarting", exc)
                await asyncio.sleep(RETRY_DELAY_S)
            finally:
                await consumer.stop()

    async def _loop(self, consumer: Consumer) -> None:
        # No commit on the way out: a stop may interrupt a batch whose hits are not yet
        # acknowledged, and committing would skip it. The next owner redoes at most
        # COMMIT_INTERVAL_S of reads, with the same hit_ids.
        settings = self.settings
        next_lag = 0.0
        next_commit = 0.0
        while True:
            records = await consumer.getmany(
                timeout_ms=settings.matcher_poll_ms, max_records=settings.matcher_batch_max
            )
            if records:
                await self._process(records)
                # Offsets are committed at most every COMMIT_INTERVAL_S, always after the hits
                # of every batch before them were acknowledged: a crash redoes at most that
                # much, and a redone read gives the same hit_ids.
                if time.monotonic() >= next_commit:
                    await consumer.commit()
                    next_commit = time.monotonic() + COMMIT_INTERVAL_S
            else:
                self.metrics.oldest_unmatched_age.set(0)
            if self.state.index.purge_pending:
                # Free a replaced list's old entries a slice at a time, between batches.
                self.state.index.purge(PURGE_BUDGET)
            if time.monotonic() >= next_lag:
                next_lag = time.monotonic() + LAG_INTERVAL_S
                await self._measure_lag(consumer)

    async def _process(self, records: list[Record]) -> None:
        started = time.perf_counter()
        now = now_ms()
        oldest = min(r.timestamp_ms for r in records)
        self.metrics.oldest_unmatched_age.set(max(0, now - oldest) / 1000)
        result = handle_batch(
            records, self.state, now_ms=now, budget_ms=self.settings.match_budget_ms
        )
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        if result.hits:
            await self._publish_hits(
                [
                    Message(self.topics.hits, hit["hit_id"].encode(), orjson.dumps(hit))
                    for hit in result.hits
                ]
            )
            for hit in result.hits:
                self.metrics.count_hit(hit)
        self.metrics.reads_matched.inc(result.matched)
        self.metrics.budget_overruns.inc(result.overruns)
        if result.invalid:
            self.metrics.invalid_records.labels("reads").inc(result.invalid)
        for latency in result.ingest_to_match_ms:
            self.metrics.ingest_to_match_seconds.observe(latency / 1000)

    async def _publish_hits(self, messages: list[Message]) -> None:
        """Publish until acknowledged: a batch's hits are never dropped, and its offsets wait."""
        while True:
            try:
                await self.bus.publish(messages, timeout_s=self.settings.hit_publish_timeout_s)
                return
            except AnprError as exc:
                self.metrics.publish_retries.inc()
                log.warning("publishing %d hits failed: %s; retrying", len(messages), exc)
                await asyncio.sleep(RETRY_DELAY_S)

    async def _measure_lag(self, consumer: Consumer) -> None:
        try:
            ends = await consumer.end_offsets()
            positions = await consumer.positions()
        except AnprError:
            return
        self.metrics.lag.set(sum(max(0, end - positions.get(tp, end)) for tp, end in ends.items()))

    async def _retire_status(self) -> None:
        """A tombstone for this matcher's status, so the API stops listing a stopped matcher."""
        try:
            await self.bus.publish(
                [Message(self.topics.matcher_status, self.settings.matcher_id.encode(), None)],
                timeout_s=2.0,
            )
        except AnprError as exc:
            log.warning("matcher status not retired: %s", exc)

    # --- status for the API --------------------------------------------------------------------

    async def _report_status(self) -> None:
        while True:
            if self.hotlists.caught_up.is_set():
                self.metrics.index_entries.set(len(self.state.index))
                self.metrics.memory_rss.set(current_rss_bytes())
                status = {
                    "v": 1,
                    "kind": "matcher_status",
                    "matcher_id": self.settings.matcher_id,
                    "applied": self.state.index.versions(),
                    "ready": self.ready,
                    "at": now_ms(),
                }
                try:
                    await self.bus.publish(
                        [
                            Message(
                                self.topics.matcher_status,
                                self.settings.matcher_id.encode(),
                                orjson.dumps(status),
                            )
                        ],
                        timeout_s=5.0,
                    )
                except AnprError as exc:
                    log.warning("matcher status not published: %s", exc)
            await asyncio.sleep(self.settings.matcher_status_interval_s)
