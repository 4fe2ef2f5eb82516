"""The one consumer loop of the project: a batch handler on a supervised, self-healing consumer.

Every long-lived consumer of every process runs on it: the matchers' reads, the API's hits, the
followers of the compacted topics (`anpr.follow.TopicFollower`), the gateway's duplicate
memory. One step at a time, the client passed in:

1. poll the bus for a batch of up to `max_batch` records (a number, or a function asked before
   each poll); every call on the bus is bounded in time;
2. hand it to `handle`, which returns the records it could not decode or handle (poison);
   should `handle` itself raise for the whole batch, the batch is handled again record by
   record, so one bad record cannot stop the others;
3. set the poison records aside (`anpr.deadletter`), then commit (with a group) the offsets
   after the batch, so a crash re-delivers rather than loses records; handlers are idempotent.
   With `commit_interval_s` a loop under load commits at most that often, and at once when its
   records stop. A commit is a broker write and a round trip: it runs beside the loop (one at a
   time, the offsets taken when it starts), so the next batch does not wait for it; a commit
   that failed ends the consumer at the next step, as a failed poll does. A loop asked to stop
   commits the batches it has handled since (within `STOP_COMMIT_S`), unless a commit is still
   on its way: then both are abandoned and the next start redoes them.

Between batches it checks its consumer. A consumer that has lag and makes no progress for
`stall_s`, or a group member left without partitions while its group does not move either, is
declared stalled: it is closed and a new one made (`ConsumerStalled`, retriable), resuming
from the committed offsets (with a group) or from where the old one was (without). A handler
busy with one batch for longer than `busy_s` reads stalled too; a loop whose batches may take
minutes allows them more there, never a consumer that has stopped fetching. Every
failure of the bus ends the consumer the same way; the supervisor restarts the loop with a
backoff. This is what brings consumers back after a broker restart, a pause, a coordinator
move or a session expiry, whatever state aiokafka was left in.

States (the allowed moves): STARTING → REPLAYING → CONSUMING; any → UNASSIGNED (group member
without partitions) → SPARE (its group moves on: more members than partitions, ready) |
REPLAYING | CONSUMING; any → STALLED | RECONNECTING → STARTING.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum

from anpr.bus.base import (
    HOT_FETCH_WAIT_MS,
    MAX_POLL_INTERVAL_S,
    Bus,
    Consumer,
    Record,
    TopicPartition,
)
from anpr.bus.batch import next_offsets
from anpr.deadletter import Poison
from anpr.errors import AnprError, BusError, BusUnavailable, ConsumerStalled, RecordRefused
from anpr.runtime import Runtime

log = logging.getLogger(__name__)

BatchHandler = Callable[[Sequence[Record]], Awaitable[Sequence[Poison] | None]]
MAX_BATCH = 2000
CHECK_INTERVAL_S = 1.0
# While a consumer is idle (no lag, nothing handled since the last check) the check asks the
# broker for end offsets less often: an idle system should cost next to nothing. A stall still
# shows within a quarter of the stall threshold.
IDLE_CHECK_INTERVAL_S = 5.0
# A group member without partitions while its group moves on is a legitimate spare (more
# members than partitions); it still re-joins this often, in case it is a zombie.
SPARE_REJOIN_S = 300.0
# With a group and no partition assigned yet, how long to wait before calling an empty
# assignment caught up (the topic may really have no partitions with records for us).
ASSIGNMENT_WAIT_S = 3.0
# The commit interval of the busy group loops (the matcher's reads, the API's hits, the archive):
# a commit is a broker write and a round trip (6.5-7 ms here), and their handlers are
# idempotent, so a crash redoes at most this much.
BUSY_COMMIT_INTERVAL_S = 0.5
# Besides its handler, the longest one step of a group consumer may spend between two polls:
# anchoring a new assignment, setting poison aside and the between-batches check, four calls
# bounded at 10 s each. A handler that can run long sizes its batches so that this and its own
# worst case stay within the poll interval (`anpr.bus.base.MAX_POLL_INTERVAL_S`).
POLL_GAP_S = 40.0
# How long a loop asked to stop may take to commit the batches it handled since its last commit.
STOP_COMMIT_S = 5.0


class LoopState(StrEnum):
    STARTING = "starting"
    REPLAYING = "replaying"
    CONSUMING = "consuming"
    UNASSIGNED = "unassigned"
    SPARE = "spare"
    STALLED = "stalled"
    RECONNECTING = "reconnecting"


class ConsumerLoop:
    def __init__(
        self,
        host: Runtime,
        topics: Sequence[str],
        handle: BatchHandler,
        *,
        name: str,
        group_id: str | None,
        from_beginning: bool,
        poll_ms: int,
        fetch_wait_ms: int = HOT_FETCH_WAIT_MS,
        start_at_ms: int | None = None,
        stall_s: float | None = None,
        busy_s: float | None = None,
        commit_interval_s: float = 0.0,
        max_batch: int | Callable[[], int] = MAX_BATCH,
        wait_for: Callable[[], Awaitable[None]] | None = None,
        max_poll_interval_s: float = MAX_POLL_INTERVAL_S,
        discreet: bool = False,
        poll_pause_s: float = 0.0,
    ) -> None:
        """`poll_pause_s`: once caught up, the least time from a batch handled to the next poll,
        for a follower that need not see each record at once (`ingest.peers`): records keep
        coming in the meantime and are fetched together, one fetch instead of dozens."""
        self._host = host
        self._poll_pause_s = poll_pause_s
        # Its lag and last-progress time are not shown (`anpr.runtime.LoopMetrics`).
        self.discreet = discreet
        self._bus: Bus = host.bus
        self._topics = list(topics)
        self._handle = handle
        self.name = name
        self._group_id = group_id
        self._from_beginning = from_beginning
        self._poll_ms = poll_ms
        self._fetch_wait_ms = fetch_wait_ms
        self._max_poll_interval_s = max_poll_interval_s
        self._start_at_ms = start_at_ms
        self.stall_s = host.stall_s if stall_s is None else stall_s
        # How long the handler may be busy with one batch: a consumer that stops fetching is
        # stalled after `stall_s` all the same.
        self.busy_s = self.stall_s if busy_s is None else busy_s
        self._commit_interval_s = commit_interval_s
        self._max_batch = max_batch
        self._wait_for = wait_for
        self.caught_up = asyncio.Event()
        self.state = LoopState.STARTING
        self.lag = 0
        self.records_handled = 0
        self.consumers_made = 0
        self.last_progress = time.monotonic()
        # Without a group: where the current consumer is, so that a replacement resumes there.
        self._resume_at: dict[TopicPartition, int] = {}
        self._positioned = False  # a consumer has started (and, without a group, said where)
        self._consumer: Consumer | None = None  # the one following now
        self._busy_since: float | None = None
        self._committing: asyncio.Task[None] | None = None
        # With a group: the offsets after the batches handled and not yet committed.
        self._uncommitted: dict[TopicPartition, int] = {}

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self._host.add_loop(self)
        self._host.supervisor.spawn(self.name, self._run)

    async def stop(self) -> None:
        await self._host.supervisor.cancel(self.name)

    async def handled_to_end(self) -> bool:
        """Whether every record on its partitions now (fresh end offsets, not the last check's
        lag) has been handled, none in flight. Getting a batch and starting to handle it
        happen without a pause in between, so a position past a record means it is handled
        or being handled, and `_busy_since` tells which."""
        consumer = self._consumer
        if consumer is None or self._busy_since is not None or not self.caught_up.is_set():
            return False
        try:
            # Asked of the bus, not of the consumer: its requests queue behind its long-polled
            # fetch, up to the fetch wait (5 s for a cold follower: every hotlist write waited
            # that long).
            assigned = consumer.assignment()
            ends = {
                tp: end
                for tp, end in (await self._bus.end_offsets(self._topics)).items()
                if tp in assigned
            }
            positions = await consumer.positions()
        except BusUnavailable:
            return False  # being replaced: ask again
        if self._busy_since is not None or consumer is not self._consumer:
            return False
        return all(positions.get(tp, 0) >= end for tp, end in ends.items())

    @property
    def stalled(self) -> bool:
        """No progress for `stall_s` with records waiting, or a handler busy for `busy_s`."""
        now = time.monotonic()
        if self._busy_since is not None:
            # Records are being handled: progress shows once the batch is done.
            return now - self._busy_since > self.busy_s
        return self.state is LoopState.STALLED or (
            self.lag > 0 and now - self.last_progress > self.stall_s
        )

    @property
    def ready(self) -> bool:
        if self.stalled:
            return False
        # A spare member has no partition, hence nothing of its own to catch up on.
        return self.state is LoopState.SPARE or (
            self.caught_up.is_set() and self.state is LoopState.CONSUMING
        )

    # -- one consumer's life ----------------------------------------------------------------------

    async def _run(self) -> None:
        if self._wait_for is not None:
            await self._wait_for()
        consumer = self._bus.consumer(
            self._topics,
            group_id=self._group_id,
            from_beginning=self._from_beginning,
            # Until a consumer has started: one that failed to start was positioned nowhere.
            start_at_ms=None if self._positioned else self._start_at_ms,
            resume_at=dict(self._resume_at) or None,
            fetch_wait_ms=self._fetch_wait_ms,
            max_poll_interval_s=self._max_poll_interval_s,
        )
        self.consumers_made += 1
        self.state = LoopState.STARTING
        try:
            await consumer.start()
            if self._group_id is None:
                # Where this one starts is where a replacement resumes until a batch is done:
                # a first batch that failed is redone, not skipped for a later end (nor the
                # gateway's dedup warm-up for the end of the keys topic).
                for tp, position in (await consumer.positions()).items():
                    self._resume_at.setdefault(tp, position)
            self._positioned = True
            self._consumer = consumer
            try:
                await self._follow(consumer)
            except asyncio.CancelledError:
                await self._commit_on_stop(consumer)
                raise
        finally:
            self._consumer = None
            if self.state is not LoopState.STALLED:
                self.state = LoopState.RECONNECTING
            self._busy_since = None
            await self._drop_commit()
            await consumer.stop()

    async def _follow(self, consumer: Consumer) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.last_progress = time.monotonic()
        targets = await consumer.end_offsets()
        checker = _Checker(self, consumer)
        next_commit = 0.0
        self._uncommitted = handled = {}  # offsets after the batches not yet committed
        while True:
            if not self.caught_up.is_set():
                if set(targets) != consumer.assignment():
                    # A group consumer learns its partitions only after joining, and a rebalance
                    # may move them: catching up is judged on the partitions it has now.
                    targets = await consumer.end_offsets()
                positions = await consumer.positions()
                # A group consumer with no partitions is never caught up by waiting: it is a
                # spare (the checker says so) or has not joined yet.
                settled = bool(targets) or (
                    self._group_id is None and loop.time() - started > ASSIGNMENT_WAIT_S
                )
                if settled and all(positions.get(tp, 0) >= end for tp, end in targets.items()):
                    log.info("%s caught up", self.name)
                    self.caught_up.set()
                    if consumer.assignment():
                        self.state = LoopState.CONSUMING
            # Caught up, an empty poll can wait as long as the broker holds the fetch: records
            # end both waits at once, and a cold follower then wakes half as often when idle.
            wait_ms = self._poll_ms
            if self.caught_up.is_set():
                wait_ms = max(wait_ms, self._fetch_wait_ms)
            records = await consumer.getmany(timeout_ms=wait_ms, max_records=self._batch_size())
            if records:
                await self._handle_batch(records)
                if self._group_id is not None:
                    handled.update(next_offsets(records))
                self.last_progress = time.monotonic()
            committing = self._commit_running()
            # Under load at most every commit interval; once the records stop, at once, so the
            # group's offsets reach the end and its lag reads 0.
            if handled and not committing and (not records or time.monotonic() >= next_commit):
                self._committing = asyncio.create_task(
                    consumer.commit(handled), name=f"{self.name} commit"
                )
                self._uncommitted = handled = {}
                next_commit = time.monotonic() + self._commit_interval_s
            await checker.maybe_check()
            if records and self._poll_pause_s and self.caught_up.is_set():
                await asyncio.sleep(self._poll_pause_s)

    async def _commit_on_stop(self, consumer: Consumer) -> None:
        """Asked to stop: commit the batches handled since the last commit, so that a clean
        stop (SIGTERM) does not have the next start redo them (a busy matcher redid up to its
        commit interval: hits published again, webhooks sent again). Not while a commit is on
        its way: this one could land before it and be overwritten; both are abandoned."""
        handled, self._uncommitted = self._uncommitted, {}
        if not handled:
            return
        try:
            if self._commit_running():
                return
            async with asyncio.timeout(STOP_COMMIT_S):
                await consumer.commit(handled)
        except (AnprError, TimeoutError) as exc:
            log.info("%s: its last batches are redone at the next start: %s", self.name, exc)

    def _batch_size(self) -> int:
        size = self._max_batch
        return size if isinstance(size, int) else size()

    def _commit_running(self) -> bool:
        """Whether a commit is still on its way; raises what ended one that failed."""
        task = self._committing
        if task is None:
            return False
        if not task.done():
            return True
        self._committing = None
        task.result()
        return False

    async def _drop_commit(self) -> None:
        """The consumer is ending: a commit still on its way is abandoned (its batches are
        redone by the next consumer), one that ended is collected."""
        task, self._committing = self._committing, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait([task])
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.info("%s: a commit failed as its consumer ended: %s", self.name, exc)

    async def _handle_batch(self, records: Sequence[Record]) -> None:
        self._busy_since = time.monotonic()
        try:
            poisons = await self._handle_isolated(records)
            await self._host.dead_letters.set_aside(poisons)
        finally:
            self._busy_since = None
        self.records_handled += len(records)
        if self._group_id is None:
            self._resume_at.update(next_offsets(records))

    async def _handle_isolated(self, records: Sequence[Record]) -> list[Poison]:
        try:
            return list(await self._handle(records) or ())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if getattr(exc, "retriable", False):
                raise  # the bus is away: the batch is redone by the next consumer
            if isinstance(exc, BusError) and not isinstance(exc, RecordRefused):
                # The bus refuses every record alike (a topic not authorized, a producer
                # fenced): setting records aside would dead-letter, and commit, every read that
                # has hits. The batch is redone after a backoff, and the crashes count
                # against the process's health.
                raise
            if len(records) == 1:
                return [
                    Poison(records[0], f"handling failed: {type(exc).__name__}: {exc}", failed=True)
                ]
            log.warning(
                "%s: a batch of %d failed; handling it record by record",
                self.name,
                len(records),
                exc_info=exc,
            )
        poisons: list[Poison] = []
        for record in records:
            poisons.extend(await self._handle_isolated([record]))
        return poisons


class _Checker:
    """The between-batches check of one consumer: lag, progress, assignment."""

    def __init__(self, owner: ConsumerLoop, consumer: Consumer) -> None:
        self._owner = owner
        self._consumer = consumer
        self._next = 0.0
        self._handled = -1
        self._positions: dict[TopicPartition, int] = {}
        self._unassigned_since: float | None = None
        self._group_committed: int | None = None
        # When the group's committed offsets were last seen to move: that takes two looks, so a
        # consumer that has just joined has seen none, and is not taken for a spare member.
        self._group_moved: float | None = None

    async def maybe_check(self) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        owner = self._owner
        idle = owner.lag == 0 and owner.records_handled == self._handled
        self._handled = owner.records_handled
        self._next = now + (
            min(IDLE_CHECK_INTERVAL_S, owner.stall_s / 4) if idle else CHECK_INTERVAL_S
        )
        if not self._consumer.assignment():
            await self._check_unassigned(now)
            return
        self._unassigned_since = None
        ends = await self._consumer.end_offsets()
        positions = await self._consumer.positions()
        owner.lag = sum(max(0, end - positions.get(tp, end)) for tp, end in ends.items())
        if owner.lag == 0 or positions != self._positions:
            owner.last_progress = now
            self._positions = positions
        owner.state = LoopState.CONSUMING if owner.caught_up.is_set() else LoopState.REPLAYING
        if now - owner.last_progress > owner.stall_s:
            owner.state = LoopState.STALLED
            raise ConsumerStalled(
                f"{owner.name}: {owner.lag} records waiting and no progress for "
                f"{now - owner.last_progress:.0f} s; replacing the consumer"
            )

    async def _check_unassigned(self, now: float) -> None:
        owner = self._owner
        owner.lag = 0
        if self._unassigned_since is None:
            self._unassigned_since = now
            owner.state = LoopState.UNASSIGNED
        progress = await self._consumer.group_progress()
        if progress is not None:
            if progress.lag == 0 or self._group_committed not in (None, progress.committed):
                self._group_moved = now
            self._group_committed = progress.committed
        waited = now - self._unassigned_since
        # The group's offsets stand still while a member is busy with one batch, for as long
        # as this loop's own handler may be (`busy_s`).
        group_stuck = self._group_moved is None or now - self._group_moved > owner.busy_s
        # A spare member: another member has the partitions and the group moves on. The state
        # is set once the group's offsets are known, never flipped to and fro around the call.
        spare = progress is not None and not group_stuck
        owner.state = LoopState.SPARE if spare else LoopState.UNASSIGNED
        if spare and progress is not None and progress.lag == 0 and not owner.caught_up.is_set():
            # Nothing of the group's is waiting and none of it is ours: nothing to catch up on.
            log.info("%s caught up (a spare member of its group)", owner.name)
            owner.caught_up.set()
        if (waited > owner.busy_s and group_stuck) or waited > SPARE_REJOIN_S:
            owner.state = LoopState.STALLED
            raise ConsumerStalled(
                f"{owner.name}: no partitions for {waited:.0f} s"
                + (" while the group does not move" if group_stuck else "")
                + "; re-joining with a new consumer"
            )
