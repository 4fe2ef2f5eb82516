"""The matcher's I/O shell: follow hotlists and registry, consume reads, publish hits, commit.

At-least-once: a batch's offsets are committed only after its hits are acknowledged, so a crash
or rebalance makes another member redo the batch; its hits carry the same hit_ids. Every loop
runs on the kernel (`anpr.consume.ConsumerLoop` under the process's supervisor): a read loop
whose consumer stalls or loses its group is replaced, and a poison read is set aside on the
dead-letter topic without holding up the hits of the others.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence

from anpr.bus.base import Message, Record
from anpr.bus.batch import oldest_timestamp_ms
from anpr.clock import now_ms
from anpr.codecs import HITS, MATCHER_STATUS
from anpr.codecs.records import MatcherStatusRecord
from anpr.consume import BUSY_COMMIT_INTERVAL_S, ConsumerLoop
from anpr.deadletter import Poison
from anpr.errors import AnprError
from anpr.follow import TopicFollower
from anpr.gcpolicy import BULK_FREEZE_RECORDS, freeze_long_lived
from anpr.hotlists import ListReplaced
from anpr.runtime import Runtime
from anpr.timeslice import finish
from anpr.topics import Topics
from matcher.batch import handle_batch
from matcher.metrics import MatcherMetrics
from matcher.replay import ReplayLoop
from matcher.settings import MatcherSettings
from matcher.state import MatcherState

log = logging.getLogger(__name__)

PURGE_BUDGET = 20_000
# A replacement this large is logged, and what it built is frozen out of the collector's scans.
LARGE_LIST = 50_000
# A 10M-entry list replacement is applied by the hotlists follower for minutes while matching
# goes on: that follower is stalled only when it is busy with one batch for far longer (a
# consumer of it that stops fetching is stalled after ANPR_STALL_S, as any other).
HOTLIST_BUSY_S = 900.0


def current_rss_bytes() -> int:
    """Resident memory now (not the peak), from /proc; 0 where /proc is absent."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class MatcherService:
    def __init__(
        self, settings: MatcherSettings, runtime: Runtime, metrics: MatcherMetrics
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.bus = runtime.bus
        self.metrics = metrics
        self.topics = Topics.from_prefix(settings.topic_prefix)
        self.state = MatcherState()
        self.hotlists = TopicFollower(
            runtime,
            [self.topics.hotlists],
            self._apply_hotlist,
            name="matcher-hotlists",
            busy_s=max(HOTLIST_BUSY_S, runtime.stall_s),
            freeze_every=BULK_FREEZE_RECORDS,
            after_batch=self._list_metrics,
            discreet=True,
        )
        self._lists_changed = False
        self.registry = TopicFollower(
            runtime, [self.topics.registry], self._apply_registry, name="matcher-registry"
        )
        self.reads = ConsumerLoop(
            runtime,
            [self.topics.reads],
            self._process,
            name="matcher-reads",
            group_id=settings.matcher_group,
            from_beginning=True,
            poll_ms=settings.matcher_poll_ms,
            max_batch=settings.matcher_batch_max,
            commit_interval_s=BUSY_COMMIT_INTERVAL_S,
            wait_for=self._loaded,
        )
        # Past-read matching: archived reads replayed for new entries (matcher/replay.py).
        self.replay = ReplayLoop(
            settings,
            runtime,
            self.state,
            hotlists_caught_up=self.hotlists.caught_up,
            wait_for=self._loaded,
        )
        self._frozen = False
        self.metrics.lag.set_function(lambda: self.reads.lag)
        self.metrics.ready.set_function(lambda: 1 if self.ready else 0)

    @property
    def ready(self) -> bool:
        """Live matching works: the registry and hotlists loaded, the reads, registry and
        hotlists loops ready. Not the past-read replay loop: a matcher catching up a large
        replay backlog after a restart matches live reads all the while, and was reported not
        ready (`AnprNoMatcherReady`: "reads are not matched", a rollout held up); a stalled
        replay loop shows in `/readyz` and `AnprConsumerStalled`."""
        replay = self.replay.loop
        return (
            self.registry.caught_up.is_set()
            and self.hotlists.caught_up.is_set()
            and all(loop.ready for loop in self.runtime.loops if loop is not replay)
        )

    # --- compacted topics ----------------------------------------------------------------------

    def _apply_registry(self, record: Record) -> None:
        self.state.registry.apply(record.key, record.value)

    async def _apply_hotlist(self, record: Record) -> None:
        """Fold one hotlist record into the index. A list record can move millions of entries
        (the commit of a replacement): it is folded and applied in steps of a few ms, and reads
        are matched in between."""
        key = record.key
        if key is not None and b"/" in key:  # an entry's record: staged or applied at once
            changes = self.state.hotlist_changes(key, record.value)
        else:
            changes = await finish(self.state.hotlist_changes_in_steps(key, record.value))
        for change in changes:
            large = isinstance(change, ListReplaced) and len(change.entries) > LARGE_LIST
            if isinstance(change, ListReplaced) and large and not change.config.covert:
                # Covert lists are never named nor sized in the logs ops read.
                log.info("building list %s: %d entries", change.config.list_id, len(change.entries))
            for _ in self.state.apply_in_steps(change):
                await asyncio.sleep(0)  # let reads be matched between chunks
            if large and self.hotlists.caught_up.is_set():
                freeze_long_lived("replacing a large list")
            self._lists_changed = True

    def _list_metrics(self) -> None:
        """After a batch of hotlist records: every list's gauges at once (covert lists are left
        out, matcher/metrics.py). Once per batch: per record, a replay of a
        million entry tombstones over 100 lists took about 10 minutes (600 µs a record).

        Also a slice of the entries of replaced lists is freed, as after each batch of reads:
        with no reads flowing (at start, before reads are matched; a quiet night of repeated
        replacements) every old version of a large list would otherwise stay in memory."""
        if self._lists_changed:
            self._lists_changed = False
            self.metrics.update_lists(self.state.index)
        self._free_replaced()

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.runtime.watch_event_loop()
        self.registry.start()
        self.hotlists.start()
        self.reads.start()
        self.replay.start()
        self.runtime.supervisor.spawn_periodic(
            "matcher-status", self.settings.matcher_status_interval_s, self._report_status
        )

    async def stop(self) -> None:
        await self.runtime.stop()
        await self._retire_status()

    # --- the read loop -------------------------------------------------------------------------

    async def _loaded(self) -> None:
        """No read is matched against a half-loaded hotlist or an unknown camera's zones."""
        await self.registry.caught_up.wait()
        await self.hotlists.caught_up.wait()
        if not self._frozen:
            overt = [c for c in self.state.index.configs.values() if not c.covert]
            log.info(
                "hotlists loaded: %d entries in %d lists (covert lists not counted)",
                sum(self.state.index.entry_count(c.list_id) for c in overt),
                len(overt),
            )
            freeze_long_lived("loading the hotlists")
            self._frozen = True

    async def _process(self, records: Sequence[Record]) -> list[Poison]:
        started = time.perf_counter()
        now = now_ms()
        oldest = oldest_timestamp_ms(records)
        self.metrics.oldest_unmatched_age.set(max(0, now - oldest) / 1000)
        result = handle_batch(
            records, self.state, now_ms=now, budget_ms=self.settings.match_budget_ms
        )
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        if result.hits:
            # Bounded: when Kafka does not take the hits in time this raises, the batch is not
            # committed, and the replaced consumer redoes it (same hit_ids).
            messages = [
                Message(self.topics.hits, hit["hit_id"].encode(), HITS.encode(hit))
                for hit in result.hits
            ]
            try:
                await self.bus.publish(messages, timeout_s=self.settings.hit_publish_timeout_s)
            except AnprError:
                self.metrics.publish_retries.inc()
                raise
            for hit in result.hits:
                self.metrics.count_hit(hit)
        self.metrics.reads_matched.inc(result.matched)
        self.metrics.budget_overruns.inc(result.overruns)
        self.metrics.ingest_to_match_seconds.observe_many(result.ingest_to_match_ms)
        self._free_replaced()
        return result.poison

    def _free_replaced(self) -> None:
        """Free a slice of replaced lists' old entries, between batches of either topic."""
        if self.state.index.purge_pending:
            self.state.index.purge(PURGE_BUDGET)

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
        if not self.hotlists.caught_up.is_set():
            return
        self.metrics.memory_rss.set(current_rss_bytes())
        if self.reads.caught_up.is_set() and self.reads.lag == 0 and self.reads.ready:
            # Idle: nothing waits. The gauge is set per batch only, and a last value left
            # standing would say a read is waiting that long (docs: 0 when idle).
            self.metrics.oldest_unmatched_age.set(0)
        status: MatcherStatusRecord = {
            "v": 1,
            "kind": "matcher_status",
            "matcher_id": self.settings.matcher_id,
            "applied": self.state.index.versions(),
            "ready": self.ready,
            "at": now_ms(),
        }
        await self.bus.publish(
            [
                Message(
                    self.topics.matcher_status,
                    self.settings.matcher_id.encode(),
                    MATCHER_STATUS.encode(status),
                )
            ],
            timeout_s=5.0,
        )
