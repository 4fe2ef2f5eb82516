"""The kernel's consumer loop on the in-process bus: poison set aside on the dead-letter topic,
batches isolated record by record when a handler raises, stalled consumers replaced and
resumed where they were, bus failures retried under the supervisor."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from anpr.bus.base import GroupProgress, Message, Record, TopicPartition
from anpr.bus.local import LocalBus, LocalConsumer
from anpr.codecs import DEADLETTER
from anpr.consume import ConsumerLoop, LoopState
from anpr.deadletter import Poison
from anpr.errors import BusError, BusUnavailable, InvalidRecord, RecordRefused
from anpr.follow import TopicFollower
from anpr.runtime import Runtime
from anpr.settings import CommonSettings
from anpr.supervise import RestartPolicy
from anpr.topics import Topics
from tests.support.wait import until

TOPICS = Topics.from_prefix("t.")
FAST = RestartPolicy(backoff_initial_s=0.01, backoff_max_s=0.05)


@pytest.fixture
async def bus() -> AsyncIterator[LocalBus]:
    bus = LocalBus(None, Topics.from_prefix("t.").specs(CommonSettings()))
    await bus.start()
    yield bus
    await bus.stop()


def runtime_on(bus: Any, *, stall_s: float = 30.0) -> Runtime:
    return Runtime(
        process="test",
        bus=bus,
        registry=CollectorRegistry(),
        deadletter_topic=TOPICS.deadletter,
        stall_s=stall_s,
        policy=FAST,
    )


async def put(bus: LocalBus, topic: str, *values: bytes | None) -> None:
    start = bus.end_offset(topic)
    await bus.publish(
        [Message(topic, b"k%d" % (start + i), v) for i, v in enumerate(values)], timeout_s=1
    )


def dead_letters(bus: LocalBus) -> list[dict[str, Any]]:
    rows = bus.db.execute(
        "SELECT value FROM log WHERE topic=? ORDER BY off", (TOPICS.deadletter,)
    ).fetchall()
    return [dict(DEADLETTER.decode(row[0])) for row in rows]


def group_loop(
    bus: LocalBus, name: str, handle: Callable[[Sequence[Record]], Awaitable[Any]]
) -> tuple[Runtime, ConsumerLoop]:
    """A loop `name` of group `g` on that topic from its beginning, polling every 20 ms; not
    started."""
    runtime = runtime_on(bus)
    loop = ConsumerLoop(
        runtime, [getattr(TOPICS, name)], handle, name=name, group_id="g", from_beginning=True,
        poll_ms=20,
    )  # fmt: skip
    return runtime, loop


async def test_poison_is_set_aside_and_the_group_commits_past_it(bus: LocalBus) -> None:
    seen: list[bytes] = []

    async def handle(records: Sequence[Record]) -> list[Poison]:
        poison = []
        for record in records:
            if record.value == b"bad":
                poison.append(Poison(record, "read: not valid JSON"))
            else:
                assert record.value is not None
                seen.append(record.value)
        return poison

    runtime = runtime_on(bus)
    loop = ConsumerLoop(
        runtime, [TOPICS.reads], handle, name="reads", group_id="g", from_beginning=True,
        poll_ms=20,
    )  # fmt: skip
    loop.start()
    await put(bus, TOPICS.reads, b"a", b"bad", b"c")
    await until(lambda: seen == [b"a", b"c"])
    await until(lambda: len(dead_letters(bus)) == 1)
    (letter,) = dead_letters(bus)
    assert (letter["topic"], letter["offset"], letter["error"]) == (
        TOPICS.reads, 1, "read: not valid JSON",
    )  # fmt: skip
    assert base64.b64decode(letter["value_b64"]) == b"bad"
    assert letter["process"] == "test"
    await until(lambda: (bus.db.execute("SELECT off FROM group_offsets").fetchone() or [0])[0] == 3)
    invalid = runtime.registry.get_sample_value(
        "anpr_invalid_records_total", {"process": "test", "topic": TOPICS.reads}
    )
    assert invalid == 1
    failed = runtime.registry.get_sample_value(
        "anpr_records_handling_failed_total", {"process": "test", "topic": TOPICS.reads}
    )
    assert not failed  # an undecodable record is the record's fault: no page
    await runtime.stop()


async def test_a_loop_with_a_poll_pause_takes_what_came_meanwhile_in_one_batch(
    bus: LocalBus,
) -> None:
    """Once caught up, from one batch handled to the next poll at least the pause (the gateway's
    peer loop): the records published meanwhile come in the next batch together."""
    clock = asyncio.get_running_loop().time
    batches: list[tuple[float, int]] = []

    async def handle(records: Sequence[Record]) -> list[Poison]:
        batches.append((clock(), len(records)))
        return []

    runtime = runtime_on(bus)
    loop = ConsumerLoop(
        runtime, [TOPICS.reads], handle, name="reads", group_id=None, from_beginning=True,
        poll_ms=20, poll_pause_s=0.2,
    )  # fmt: skip
    loop.start()
    try:
        await until(lambda: loop.caught_up.is_set())
        await put(bus, TOPICS.reads, b"first")
        await until(lambda: len(batches) == 1)
        for n in range(5):  # one at a time, well within the pause
            await put(bus, TOPICS.reads, b"%d" % n)
        await until(lambda: sum(count for _, count in batches) == 6)
    finally:
        await runtime.stop()
    assert [count for _, count in batches] == [1, 5]
    assert batches[1][0] - batches[0][0] >= 0.199


async def test_a_handler_that_raises_is_retried_record_by_record(bus: LocalBus) -> None:
    handled: list[bytes] = []

    async def handle(records: Sequence[Record]) -> None:
        if any(r.value == b"boom" for r in records):
            raise TypeError("unexpected shape")
        handled.extend(r.value or b"" for r in records)

    runtime, loop = group_loop(bus, "hits", handle)
    loop.start()
    await put(bus, TOPICS.hits, b"1", b"boom", b"3")
    await until(lambda: sorted(handled) == [b"1", b"3"])
    await until(lambda: len(dead_letters(bus)) == 1)
    assert "TypeError: unexpected shape" in dead_letters(bus)[0]["error"]
    labels = {"process": "test", "topic": TOPICS.hits}
    assert runtime.registry.get_sample_value("anpr_records_handling_failed_total", labels) == 1
    assert runtime.registry.get_sample_value("anpr_invalid_records_total", labels) == 1
    await put(bus, TOPICS.hits, b"4")
    await until(lambda: b"4" in handled)
    assert runtime.supervisor.snapshot()["hits"]["restarts"] == 0
    await runtime.stop()


async def test_a_bus_that_refuses_every_record_dead_letters_nothing(bus: LocalBus) -> None:
    """A publish the bus refuses for every record (say the hits topic not authorized) is not a
    fault of the reads: none is set aside or committed; the batch is redone once it works, and
    the crashes count against the process's health meanwhile. A record refused for what it is
    (too large) is set aside alone."""
    refusing = [True]
    handled: list[bytes] = []

    async def handle(records: Sequence[Record]) -> None:
        if refusing[0]:
            raise BusError("publish to t.hits.v1: TopicAuthorizationFailedError")
        if any(r.value == b"huge" for r in records):
            raise RecordRefused("publish to t.hits.v1: MessageSizeTooLargeError")
        handled.extend(r.value or b"" for r in records)

    runtime, loop = group_loop(bus, "reads", handle)
    loop.start()
    await put(bus, TOPICS.reads, b"1", b"huge", b"3")
    labels = {"process": "test", "task": "reads", "reason": "error"}
    await until(
        lambda: (runtime.registry.get_sample_value("anpr_task_restarts_total", labels) or 0) >= 2
    )
    assert dead_letters(bus) == [] and handled == []
    refusing[0] = False
    await until(lambda: sorted(handled) == [b"1", b"3"])
    await until(lambda: len(dead_letters(bus)) == 1)
    assert "MessageSizeTooLargeError" in dead_letters(bus)[0]["error"]
    await runtime.stop()


async def test_a_follower_skips_invalid_records_and_learns_the_rest(bus: LocalBus) -> None:
    applied: list[bytes] = []

    def apply(record: Record) -> None:
        if record.value is None:
            raise InvalidRecord("registry record without a value")
        applied.append(record.value)

    runtime = runtime_on(bus)
    await put(bus, TOPICS.registry, b"x", None, b"y")
    follower = TopicFollower(runtime, [TOPICS.registry], apply, name="registry", poll_ms=20)
    follower.start()
    await asyncio.wait_for(follower.caught_up.wait(), 5)
    assert applied == [b"x", b"y"]
    await until(lambda: len(dead_letters(bus)) == 1)
    await until(lambda: follower.loop.ready)
    await runtime.stop()


async def test_a_held_follower_applies_nothing_until_released(bus: LocalBus) -> None:
    applied: list[bytes | None] = []
    runtime = runtime_on(bus)
    follower = TopicFollower(
        runtime, [TOPICS.registry], lambda r: applied.append(r.value), name="registry", poll_ms=20
    )
    follower.start()
    await asyncio.wait_for(follower.caught_up.wait(), 5)
    async with follower.holding():
        await put(bus, TOPICS.registry, b"x", b"y")
        for _ in range(200):  # turns of the loop, in which an unheld follower applies them
            await asyncio.sleep(0)
        assert applied == []
    await until(lambda: applied == [b"x", b"y"])
    await runtime.stop()


class StuckConsumer(LocalConsumer):
    """A consumer that stops fetching (as a zombie after a broker restart) after `works` polls."""

    def __init__(self, *args: Any, works: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._works = works

    async def getmany(self, *, timeout_ms: int, max_records: int) -> list[Record]:
        if self._works <= 0:
            await asyncio.sleep(timeout_ms / 1000)
            return []
        self._works -= 1
        return await super().getmany(timeout_ms=timeout_ms, max_records=1)


class FlakyBus:
    """The local bus, whose first consumer gets stuck or fails; later ones work."""

    def __init__(self, bus: LocalBus, first: str) -> None:
        self._bus = bus
        self._first = first
        self.made = 0
        self.resumed_at: list[Mapping[TopicPartition, int] | None] = []
        self.poll_intervals: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bus, name)

    def consumer(self, topics: Sequence[str], **kwargs: Any) -> LocalConsumer:
        self.made += 1
        kwargs.pop("fetch_wait_ms", None)
        self.poll_intervals.append(kwargs.pop("max_poll_interval_s"))
        self.resumed_at.append(kwargs.get("resume_at"))
        if self.made == 1 and self._first == "stuck":
            return StuckConsumer(self._bus, topics, works=2, **kwargs)
        consumer = LocalConsumer(self._bus, topics, **kwargs)
        if self.made == 1 and self._first == "fails":

            async def broken(**_: Any) -> list[Record]:
                raise BusUnavailable("consumer fetch failed: KafkaConnectionError")

            consumer.getmany = broken  # type: ignore[method-assign]
        return consumer


async def test_a_stalled_consumer_is_replaced_and_resumes_where_it_was(bus: LocalBus) -> None:
    flaky = FlakyBus(bus, "stuck")
    seen: list[bytes] = []

    async def handle(records: Sequence[Record]) -> None:
        seen.extend(r.value or b"" for r in records)

    runtime = runtime_on(flaky, stall_s=0.3)
    await put(bus, TOPICS.registry, *[b"%d" % i for i in range(6)])
    loop = ConsumerLoop(
        runtime, [TOPICS.registry], handle, name="f", group_id=None, from_beginning=True,
        poll_ms=20,
    )  # fmt: skip
    loop.start()
    await until(lambda: loop.stalled)
    assert not loop.ready
    await until(lambda: seen == [b"%d" % i for i in range(6)])
    assert flaky.made == 2
    assert flaky.resumed_at[1] == {(TOPICS.registry, 0): 2}  # no record read twice
    retriable = runtime.registry.get_sample_value(
        "anpr_task_restarts_total", {"process": "test", "task": "f", "reason": "retriable"}
    )
    assert retriable == 1
    await until(lambda: loop.ready)
    assert loop.state is LoopState.CONSUMING
    await runtime.stop()


async def test_a_long_allowance_for_a_busy_handler_is_none_for_a_consumer_that_stops_fetching(
    bus: LocalBus,
) -> None:
    """The matcher's hotlists follower and notify's hits loop allow a batch minutes of work;
    that allowance is not a longer wait for a consumer that fetches nothing while records
    wait: it is stalled and replaced after `stall_s` as any other."""
    flaky = FlakyBus(bus, "stuck")
    seen: list[bytes] = []
    busy: list[bool] = []
    runtime = runtime_on(flaky, stall_s=0.3)

    async def handle(records: Sequence[Record]) -> None:
        seen.extend(r.value or b"" for r in records)
        if records[-1].value == b"5":  # a long batch: longer than stall_s, within busy_s
            await asyncio.sleep(0.6)
            busy.append(loop.stalled)

    await put(bus, TOPICS.registry, *[b"%d" % i for i in range(6)])
    loop = ConsumerLoop(
        runtime, [TOPICS.registry], handle, name="f", group_id=None, from_beginning=True,
        poll_ms=20, busy_s=60.0,
    )  # fmt: skip
    loop.start()
    await until(lambda: loop.stalled)
    assert not loop.ready
    await until(lambda: seen == [b"%d" % i for i in range(6)] and busy == [False])
    assert flaky.made == 2
    await until(lambda: loop.ready)
    await runtime.stop()


async def test_a_failing_group_consumer_is_replaced_and_resumes_from_the_commit(
    bus: LocalBus,
) -> None:
    flaky = FlakyBus(bus, "fails")
    seen: list[bytes] = []

    async def handle(records: Sequence[Record]) -> None:
        seen.extend(r.value or b"" for r in records)

    runtime = runtime_on(flaky)
    await put(bus, TOPICS.reads, b"a", b"b")
    loop = ConsumerLoop(
        runtime, [TOPICS.reads], handle, name="reads", group_id="g", from_beginning=True,
        poll_ms=20, max_poll_interval_s=900.0,
    )  # fmt: skip
    loop.start()
    await until(lambda: seen == [b"a", b"b"])
    assert flaky.made == 2
    assert flaky.poll_intervals == [900.0, 900.0]  # asked of every consumer it makes
    assert runtime.supervisor.healthy
    await runtime.stop()


async def test_a_follower_redoes_a_first_batch_that_failed_instead_of_skipping_to_the_end(
    bus: LocalBus,
) -> None:
    """A follower that starts at the end and fails its first batch (the store briefly busy):
    the replacement resumes where the first one started, not at the end it finds."""
    seen: list[bytes] = []
    busy = [BusUnavailable("the bus is briefly away")]

    async def handle(records: Sequence[Record]) -> None:
        if busy:
            raise busy.pop()
        seen.extend(r.value or b"" for r in records)

    runtime = runtime_on(bus)
    await put(bus, TOPICS.heartbeats, b"old")
    loop = ConsumerLoop(
        runtime, [TOPICS.heartbeats], handle, name="h", group_id=None, from_beginning=False,
        poll_ms=20,
    )  # fmt: skip
    loop.start()
    await until(lambda: loop.consumers_made == 1 and loop.state is not LoopState.STARTING)
    await put(bus, TOPICS.heartbeats, b"first")
    await until(lambda: not busy)
    await put(bus, TOPICS.heartbeats, b"second")
    await until(lambda: seen == [b"first", b"second"])
    assert loop.consumers_made == 2
    await runtime.stop()


async def test_a_follower_whose_first_consumer_cannot_start_still_starts_at_its_time(
    bus: LocalBus,
) -> None:
    """The gateway's dedup warm-up (`start_at_ms`) is not lost when Kafka is away at start."""

    class NoStartBus(FlakyBus):
        def consumer(self, topics: Sequence[str], **kwargs: Any) -> LocalConsumer:
            consumer = super().consumer(topics, **kwargs)
            if self.made == 1:

                async def refused() -> None:
                    raise BusUnavailable("cannot start the consumer: KafkaConnectionError")

                consumer.start = refused  # type: ignore[method-assign]
            return consumer

    await put(bus, TOPICS.dedup_keys, b"warm")
    flaky = NoStartBus(bus, "works")
    seen: list[bytes] = []

    async def handle(records: Sequence[Record]) -> None:
        seen.extend(r.value or b"" for r in records)

    runtime = runtime_on(flaky)
    loop = ConsumerLoop(
        runtime, [TOPICS.dedup_keys], handle, name="keys", group_id=None, from_beginning=False,
        poll_ms=20, start_at_ms=0,
    )  # fmt: skip
    loop.start()
    await until(lambda: seen == [b"warm"])
    assert flaky.made == 2
    await runtime.stop()


async def test_a_commit_interval_defers_commits_under_load_and_commits_when_records_stop(
    bus: LocalBus,
) -> None:
    seen: list[bytes] = []
    commits: list[int] = []
    original = LocalConsumer.commit

    async def counted(
        self: LocalConsumer, offsets: Mapping[TopicPartition, int] | None = None
    ) -> None:
        commits.append(1)
        await original(self, offsets)

    async def handle(records: Sequence[Record]) -> None:
        seen.extend(r.value for r in records if r.value is not None)
        # Each burst arrives while the one before is handled: under load, within the interval.
        if len(seen) == 2:
            await put(bus, TOPICS.reads, b"c", b"d")
        elif len(seen) == 4:
            await put(bus, TOPICS.reads, b"e", b"f")

    runtime = runtime_on(bus)
    loop = ConsumerLoop(
        runtime, [TOPICS.reads], handle, name="reads", group_id="g", from_beginning=True,
        poll_ms=20, commit_interval_s=3600.0,
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LocalConsumer, "commit", counted)
        loop.start()
        await put(bus, TOPICS.reads, b"a", b"b")
        await until(lambda: seen == [b"a", b"b", b"c", b"d", b"e", b"f"])
        # The first batch commits; the next two, within the hour, once a poll comes back empty.
        await until(lambda: committed_offset(bus) == 6)
        assert len(commits) == 2
        await runtime.stop()


class HeldCommits:
    """`LocalConsumer.commit` held until released, one gate per call, each call's offsets kept."""

    def __init__(self, *, fail: bool = False) -> None:
        self.calls: list[dict[TopicPartition, int]] = []
        self.gates: list[asyncio.Event] = []
        self.fail = fail
        self.original = LocalConsumer.commit

    async def commit(
        self, consumer: LocalConsumer, offsets: Mapping[TopicPartition, int] | None = None
    ) -> None:
        self.calls.append(dict(offsets or {}))
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        if self.fail:
            raise BusUnavailable("commit refused")
        await self.original(consumer, offsets)

    def patch(self, patch: pytest.MonkeyPatch) -> None:
        held = self

        async def commit(
            self: LocalConsumer, offsets: Mapping[TopicPartition, int] | None = None
        ) -> None:
            await held.commit(self, offsets)

        patch.setattr(LocalConsumer, "commit", commit)


def committed_offset(bus: LocalBus) -> int:
    return int((bus.db.execute("SELECT off FROM group_offsets").fetchone() or [0])[0])


def recording_group_loop(bus: LocalBus) -> tuple[Runtime, ConsumerLoop, list[bytes]]:
    """A group loop on the reads topic that keeps every value it handles, not started."""
    seen: list[bytes] = []

    async def handle(records: Sequence[Record]) -> None:
        seen.extend(r.value or b"" for r in records)

    runtime, loop = group_loop(bus, "reads", handle)
    return runtime, loop, seen


async def test_the_next_batch_is_handled_while_a_commit_is_on_its_way(bus: LocalBus) -> None:
    held = HeldCommits()
    runtime, loop, seen = recording_group_loop(bus)
    with pytest.MonkeyPatch.context() as patch:
        held.patch(patch)
        await put(bus, TOPICS.reads, b"a", b"b")
        loop.start()
        await until(lambda: len(held.calls) == 1)
        # The first commit is held: the loop goes on and handles what comes meanwhile.
        await put(bus, TOPICS.reads, b"c", b"d")
        await until(lambda: seen == [b"a", b"b", b"c", b"d"])
        assert len(held.calls) == 1
        # The held commit carries the offsets taken when it started, not the later batch's.
        assert held.calls[0] == {(TOPICS.reads, 0): 2}
        held.gates[0].set()
        await until(lambda: len(held.calls) == 2)
        assert held.calls[1] == {(TOPICS.reads, 0): 4}
        assert committed_offset(bus) == 2
        held.gates[1].set()
        await until(lambda: committed_offset(bus) == 4)
        assert runtime.supervisor.healthy
        await runtime.stop()


async def test_a_failed_commit_ends_the_consumer_and_the_next_one_redoes_from_the_last_commit(
    bus: LocalBus,
) -> None:
    held = HeldCommits(fail=True)
    runtime, loop, seen = recording_group_loop(bus)
    with pytest.MonkeyPatch.context() as patch:
        held.patch(patch)
        await put(bus, TOPICS.reads, b"a", b"b")
        loop.start()
        await until(lambda: len(held.calls) == 1)
        held.fail = True
        held.gates[0].set()
        # Nothing was committed, so the next consumer handles the batch again.
        await until(lambda: loop.consumers_made == 2)
        await until(lambda: seen == [b"a", b"b", b"a", b"b"])
        held.fail = False
        await until(lambda: len(held.calls) == 2)
        held.gates[1].set()
        await until(lambda: committed_offset(bus) == 2)
        await runtime.stop()


async def test_stopping_with_a_commit_on_its_way_abandons_it(bus: LocalBus) -> None:
    held = HeldCommits()
    runtime, loop, _ = recording_group_loop(bus)
    with pytest.MonkeyPatch.context() as patch:
        held.patch(patch)
        await put(bus, TOPICS.reads, b"a")
        loop.start()
        await until(lambda: len(held.calls) == 1)
        pending = {t for t in asyncio.all_tasks() if t.get_name() == "reads commit"}
        assert len(pending) == 1
        await runtime.stop()
        assert all(t.done() for t in pending)
        assert committed_offset(bus) == 0


class UnassignedBus:
    """Every consumer joins a group and never gets a partition; the group's committed offsets
    are `committed()` at each look, against `end` records. Each consumer notes, at every poll,
    whether the loop then called itself ready: its poll i follows i looks at the group."""

    def __init__(self, committed: Any, end: int) -> None:
        self._committed = committed
        self._end = end
        self.loop: ConsumerLoop | None = None
        self.made = 0
        self.ready_at_polls: list[list[bool]] = []

    def polls(self, consumer: int) -> list[bool]:
        """The samples of the `consumer`-th consumer made (none while it is not made)."""
        return self.ready_at_polls[consumer] if consumer < len(self.ready_at_polls) else []

    def consumer(self, topics: Sequence[str], **kwargs: Any) -> Any:
        self.made += 1
        samples: list[bool] = []
        self.ready_at_polls.append(samples)
        bus = self

        class Unassigned:
            async def start(self) -> None: ...
            async def stop(self) -> None: ...
            def assignment(self) -> frozenset[TopicPartition]:
                return frozenset()

            async def end_offsets(self) -> dict[TopicPartition, int]:
                return {}

            async def positions(self) -> dict[TopicPartition, int]:
                return {}

            async def commit(self, offsets: Any = None) -> None: ...
            async def group_progress(self) -> GroupProgress:
                return GroupProgress(bus._committed(), bus._end)

            async def getmany(self, *, timeout_ms: int, max_records: int) -> list[Record]:
                assert bus.loop is not None
                samples.append(bus.loop.ready)
                await asyncio.sleep(0.005)
                return []

        return Unassigned()


def unassigned_loop(
    bus: UnassignedBus, monkeypatch: pytest.MonkeyPatch
) -> tuple[Runtime, ConsumerLoop]:
    monkeypatch.setattr("anpr.consume.CHECK_INTERVAL_S", 0.0)
    monkeypatch.setattr("anpr.consume.IDLE_CHECK_INTERVAL_S", 0.0)
    runtime = runtime_on(bus, stall_s=0.3)
    loop = ConsumerLoop(
        runtime, [TOPICS.reads], lambda records: asyncio.sleep(0), name="reads", group_id="g",
        from_beginning=True, poll_ms=5,
    )  # fmt: skip
    bus.loop = loop
    return runtime, loop


async def test_a_member_without_partitions_is_not_ready_while_the_group_does_not_move(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a broker restart a member may join and never get its partitions while reads wait:
    it must not read ready (a spare) on its first look at the group, nor after re-joining."""
    bus = UnassignedBus(lambda: 0, end=1000)
    runtime, loop = unassigned_loop(bus, monkeypatch)
    loop.start()
    await until(lambda: len(bus.polls(2)) >= 3)
    await runtime.stop()
    assert [any(samples) for samples in bus.ready_at_polls] == [False] * len(bus.ready_at_polls)
    assert not loop.caught_up.is_set()


async def test_a_member_without_partitions_is_a_spare_once_the_group_is_seen_moving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    committed = iter(range(0, 1_000_000, 10))
    bus = UnassignedBus(lambda: next(committed), end=2_000_000)
    runtime, loop = unassigned_loop(bus, monkeypatch)
    loop.start()
    await until(lambda: len(bus.polls(0)) >= 4)
    state = loop.state
    await runtime.stop()
    no_look, one_look, *later = bus.ready_at_polls[0]
    assert (no_look, one_look) == (False, False)  # one look: not yet known to move
    assert all(later) and state is LoopState.SPARE


async def test_a_member_without_partitions_of_a_group_with_nothing_waiting_is_ready(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bus = UnassignedBus(lambda: 500, end=500)
    runtime, loop = unassigned_loop(bus, monkeypatch)
    loop.start()
    await until(lambda: len(bus.polls(0)) >= 2)
    await runtime.stop()
    assert bus.ready_at_polls[0][:2] == [False, True] and loop.caught_up.is_set()


async def test_a_clean_stop_commits_the_batches_handled_since_the_last_commit(
    bus: LocalBus,
) -> None:
    """SIGTERM of `anpr run` under load: the matcher's last batches (within its commit interval)
    are committed as it stops, not redone on the next start (their hits published again, their
    webhooks sent again)."""
    seen: list[bytes] = []

    async def handle(records: Sequence[Record]) -> None:
        seen.extend(r.value or b"" for r in records)

    runtime = runtime_on(bus)
    loop = ConsumerLoop(
        runtime, [TOPICS.reads], handle, name="reads", group_id="g", from_beginning=True,
        poll_ms=20, fetch_wait_ms=60_000, commit_interval_s=3600.0,
    )  # fmt: skip
    await put(bus, TOPICS.reads, b"a", b"b")
    loop.start()
    await until(lambda: committed_offset(bus) == 2)  # the first batch commits at once
    await put(bus, TOPICS.reads, b"c", b"d")
    await until(lambda: seen == [b"a", b"b", b"c", b"d"])
    await asyncio.sleep(0.05)  # waiting for more, within the commit interval
    assert committed_offset(bus) == 2
    await runtime.stop()
    assert committed_offset(bus) == 4
