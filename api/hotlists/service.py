"""Hotlists on the API: the book folded from `anpr.hotlists.v1`, matcher status, and the writes.

Every write is planned by `anpr.hotlists` (entries at the new version first, the list
configuration last as the commit) and published in that order; writes to one list are
serialised here, as the planner requires. Before planning, the write waits (bounded) until this
replica's book has read every hotlist record on the topic at that moment, and plans from the
list as it is then: a plan from a book that lagged (another replica's write, or this one's own
that was slow to come back) committed a whole configuration that undid the change before it,
and a version from a lagging book could be lower than the list's, a change never applied. After
publishing, the write waits (bounded) until the book has committed it, so a GET right after
sees it. Both waits are bounded by the book's progress, not by a fixed time: they give up once
it has folded nothing for `write_visible_timeout_s`, as a 1M-entry write takes it seconds. Writes
of one list on two replicas take turns too, on the store (`Store.hotlist_writer`: PostgreSQL's
advisory lock; one replica per SQLite file): a write that read the list before another
replica's change and committed after it, at a later version, put that change back.

Nothing here holds the event loop for long, whatever the size of a list (the loop streams hits
and answers the health probes): the book folds a large commit in steps, a write copies a list's
live entry ids in slices and plans on a worker thread, and publishes chunk by chunk, handing the
loop back in between. A 1M-entry upload held it for 29 s in one go on the embedded bus.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

from anpr.bus.base import Message
from anpr.bus.base import Record as BusRecord
from anpr.errors import AnprError, BusUnavailable
from anpr.follow import TopicFollower
from anpr.gcpolicy import BULK_FREEZE_RECORDS, freezing
from anpr.hotlists import (
    EntrySpec,
    HotlistBook,
    ListConfig,
    MatchMode,
    Plan,
    Retain,
    plan_delete_entry,
    plan_delete_list,
    plan_put_config,
    plan_upsert_entries,
    stream_replace_entries,
)
from anpr.runtime import Runtime
from anpr.threadwork import on_worker
from anpr.timeslice import release, sliced
from anpr.topics import Topics
from api.changes import ChangeSignal
from api.errors import not_found
from api.hotlists.pastmatch import PastMatchBook
from api.hotlists.status import MatcherStatusBook
from api.metrics import ApiMetrics
from api.settings import ApiSettings

log = logging.getLogger(__name__)

# Records published at a time, with no pause in between: 5,000 took 60 ms on the embedded bus,
# and everything that fell due meanwhile waited two chunks.
PUBLISH_CHUNK = 1000
_DONE = object()


class WriteInterrupted(AnprError):
    """Publishing a write failed after some of its records went out: it has effects (a
    deletion emptied the list or removed it, entries staged go live with the list's next
    change)."""

    retriable = True


class HotlistService:
    def __init__(
        self,
        settings: ApiSettings,
        runtime: Runtime,
        topics: Topics,
        metrics: ApiMetrics,
        *,
        clock: Callable[[], int],
        cross_replica: Callable[[str], AbstractAsyncContextManager[None]] = lambda _: nullcontext(),
    ) -> None:
        """`cross_replica(list_id)` is held around each write of the list after this replica's
        own lock (`Store.hotlist_writer`)."""
        self._settings = settings
        self._cross_replica = cross_replica
        self._bus = runtime.bus
        self._topic = topics.hotlists
        self._metrics = metrics
        self._clock = clock
        self.book = HotlistBook(retain=Retain.IDS)
        self._staged_shown: set[str] = set()
        self.matchers = MatcherStatusBook()
        self.changed = ChangeSignal()
        self._progress = 0  # records and steps folded into the book
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._follower = TopicFollower(
            runtime,
            [topics.hotlists],
            self._apply,
            name="api-hotlists",
            freeze_every=BULK_FREEZE_RECORDS,  # a bulk upload: no growing full collections
            discreet=True,
        )
        self._status_follower = TopicFollower(
            runtime, [settings.matcher_status_topic], self._apply_status, name="api-matcher-status"
        )
        self.past_match = PastMatchBook()
        self._past_match_follower = TopicFollower(
            runtime,
            [topics.past_match],
            lambda r: self.past_match.apply(r.key, r.value),
            name="api-past-match",
        )

    def _apply(self, record: BusRecord) -> Awaitable[None] | None:
        """Folds the record now, or, for a list record that moves many entries, its first step
        now and the others in the awaitable returned, which runs the loop between them."""
        steps = self.book.apply_in_steps(record.key, record.value)
        self._progress += 1
        done = True
        try:
            done = next(steps, _DONE) is _DONE
        finally:
            if done:
                self.changed.notify()
        return None if done else self._apply_rest(steps)

    async def _apply_rest(self, steps: Iterator[None]) -> None:
        try:
            await asyncio.sleep(0)
            for _ in steps:
                self._progress += 1
                await asyncio.sleep(0)
        finally:
            self.changed.notify()

    def _apply_status(self, record: BusRecord) -> None:
        self.matchers.apply(record.key, record.value)

    @property
    def loaded(self) -> bool:
        return self._follower.caught_up.is_set()

    @property
    def caught_up(self) -> asyncio.Event:
        """Set once the book has read the hotlists topic up to its end (alerts wait for it)."""
        return self._follower.caught_up

    def start(self) -> None:
        self._follower.start()
        self._status_follower.start()
        self._past_match_follower.start()

    async def stop(self) -> None:
        await self._past_match_follower.stop()
        await self._status_follower.stop()
        await self._follower.stop()

    def refresh_metrics(self) -> None:
        """Before a scrape: each overt list's staged entries (a covert list has no series)."""
        shown: set[str] = set()
        for list_id, config in self.book.configs.items():
            if not config.covert:
                self._metrics.hotlist_staged.labels(list_id).set(len(self.book.staged(list_id)))
                shown.add(list_id)
        for gone in self._staged_shown - shown:
            self._metrics.hotlist_staged.remove(gone)
        self._staged_shown = shown

    @asynccontextmanager
    async def lock(self, list_id: str) -> AsyncIterator[None]:
        """Held around each write to the list: this replica's writes of it take turns, then
        every replica's (`cross_replica`)."""
        async with self._locks[list_id], self._cross_replica(list_id):
            yield

    async def _publish(self, plan: Plan) -> None:
        """Publishes the plan's records in order, then empties its list of them (in slices).

        `WriteInterrupted` when a chunk fails after others went out."""
        records = plan.records
        for start in range(0, len(records), PUBLISH_CHUNK):
            chunk = records[start : start + PUBLISH_CHUNK]
            try:
                await self._bus.publish(
                    [Message(self._topic, key.encode(), value) for key, value in chunk],
                    timeout_s=self._settings.publish_timeout_s,
                )
            except AnprError as exc:
                if start:
                    raise WriteInterrupted(f"{start} of {len(records)} records out: {exc}") from exc
                raise
            await asyncio.sleep(0)  # the embedded bus writes a chunk without awaiting anything
        await release(records)

    async def _visible(self, predicate: Callable[[], bool]) -> None:
        while True:
            progress = self._progress
            if await self.changed.wait_for(predicate, self._settings.write_visible_timeout_s):
                return
            if self._progress == progress:
                log.warning("hotlist write published but not yet visible on this replica")
                return

    async def _read_to_end(self) -> None:
        """The book holds every hotlist record on the topic now; `BusUnavailable` (503) when it
        cannot, having folded nothing for the write timeout."""
        loop = asyncio.get_running_loop()
        timeout = self._settings.write_visible_timeout_s
        deadline, progress = loop.time() + timeout, self._progress
        while not await self._follower.loop.handled_to_end():
            if self._progress != progress:
                deadline, progress = loop.time() + timeout, self._progress
            elif loop.time() >= deadline:
                raise BusUnavailable("this replica has not read the hotlists topic to its end")
            await asyncio.sleep(0.01)

    async def _now(self, config: ListConfig) -> ListConfig:
        """`config`'s list as the topic has it now (read to its end first)."""
        await self._read_to_end()
        now = self.book.config(config.list_id)
        if now is None:
            raise not_found(f"hotlist {config.list_id!r}")
        return now

    async def _live_ids(self, list_id: str) -> list[str]:
        """The list's live entry ids, copied in slices (a 1M-entry list: 35-300 ms in one go),
        the book held meanwhile so that none changes under the copy; then the ids only staged
        (an interrupted write's) and those of records an interrupted replacement left without
        their tombstones (superseded): their records hold plates too, which the deletion or the
        replacement of the list must tombstone, else compaction keeps them for ever."""
        async with self._follower.holding():
            live = self.book.entry_ids(list_id)
            ids = [entry_id async for entry_id in sliced(live)]
            ids.extend(entry_id for entry_id in self.book.staged(list_id) if entry_id not in live)
            ids.extend([entry_id async for entry_id in sliced(self.book.superseded_ids(list_id))])
            return ids

    async def _commit(self, plan: Plan) -> ListConfig:
        await self._publish(plan)
        config = plan.config
        assert config is not None  # noqa: S101 - every plan but a list deletion has one
        await self._visible(lambda: self.book.committed_version(config.list_id) >= config.version)
        return config

    # The callers hold `lock(list_id)` around each of these.

    async def put_config(
        self,
        list_id: str,
        *,
        name: str,
        category: str,
        priority: int,
        match: MatchMode,
        covert: bool,
        group_window_s: int | None = None,
        past_match_hours: int | None = None,
    ) -> ListConfig:
        await self._read_to_end()
        plan = plan_put_config(
            self.book.config(list_id),
            list_id=list_id,
            name=name,
            category=category,
            priority=priority,
            match=match,
            covert=covert,
            now_ms=self._clock(),
            group_window_s=group_window_s,
            past_match_hours=past_match_hours,
        )
        return await self._commit(plan)

    # Plans of many entries are made on a worker thread (pure: they read only their arguments,
    # the live entry ids copied on the loop first): 1.7 s for a 1M-entry replacement, which the
    # loop that streams hits must not wait out.

    async def replace(self, current: ListConfig, entries: Sequence[EntrySpec]) -> ListConfig:
        current = await self._now(current)
        plan = await on_worker(
            _plan_replacement,
            current,
            entries,
            live_entry_ids=await self._live_ids(current.list_id),
            now_ms=self._clock(),
        )
        return await self._commit(plan)

    async def _superseded_ids(self, list_id: str) -> list[str]:
        """The ids of records an interrupted replacement left without their tombstones
        (`_live_ids`), copied in slices: an upsert or a single deletion tombstones them too."""
        async with self._follower.holding():
            return [entry_id async for entry_id in sliced(self.book.superseded_ids(list_id))]

    async def upsert(self, current: ListConfig, entries: Sequence[EntrySpec]) -> ListConfig:
        current = await self._now(current)
        plan = await on_worker(
            plan_upsert_entries,
            current,
            entries,
            now_ms=self._clock(),
            superseded=await self._superseded_ids(current.list_id),
        )
        return await self._commit(plan)

    async def delete_entry(self, current: ListConfig, entry_id: str) -> ListConfig:
        current = await self._now(current)
        superseded = await self._superseded_ids(current.list_id)
        plan = plan_delete_entry(current, entry_id, now_ms=self._clock(), superseded=superseded)
        return await self._commit(plan)

    async def delete_list(self, current: ListConfig) -> None:
        current = await self._now(current)
        plan = await on_worker(
            plan_delete_list,
            current,
            live_entry_ids=await self._live_ids(current.list_id),
            now_ms=self._clock(),
        )
        await self._publish(plan)
        await self._visible(lambda: self.book.config(current.list_id) is None)


def _plan_replacement(
    current: ListConfig, entries: Sequence[EntrySpec], *, live_entry_ids: list[str], now_ms: int
) -> Plan:
    """`plan_replace_entries`, what it makes frozen as it goes (`anpr.gcpolicy.freezing`): the
    full collections during a 1M-entry plan held the loop 50-190 ms each."""
    config, records = stream_replace_entries(
        current, entries, live_entry_ids=live_entry_ids, now_ms=now_ms
    )
    return Plan(config, list(freezing(records)), len(entries))
