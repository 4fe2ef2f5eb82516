"""One contract for every bus: the same tests run against `LocalBus` (embedded mode) and `KafkaBus`
(the real local broker), through a parametrized fixture, as quix-streams runs one suite over its
store types. What the services rely on: acknowledged publish, order per key, headers and
tombstones kept, committed group positions, positions and end offsets that agree, consumers that
start at a time."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from anpr.bus.base import Bus, Consumer, Message, Record
from anpr.bus.kafka import KafkaBus
from anpr.bus.local import LocalBus
from anpr.clock import now_ms
from anpr.errors import BusUnavailable
from anpr.settings import CommonSettings
from anpr.topics import Topics, deleting
from tests.support.wait import until


@pytest.fixture(params=["local", pytest.param("kafka", marks=pytest.mark.kafka)])
async def bus_and_topics(
    request: pytest.FixtureRequest, topic_prefix: str
) -> AsyncIterator[tuple[Bus, Topics]]:
    topics = Topics.from_prefix(topic_prefix)
    bus: Bus
    if request.param == "kafka":
        # The session broker (started only when a kafka case runs), this test's own topics.
        bootstrap = request.getfixturevalue("kafka_bootstrap")
        settings = CommonSettings(
            kafka_bootstrap=bootstrap, topic_prefix=topic_prefix, topic_partitions=3
        )
        bus = KafkaBus(bootstrap, topics.specs(settings), client_id="anpr-test")
    else:
        bus = LocalBus(None, topics.specs(CommonSettings()))
    await bus.start()
    await bus.ensure_topics()
    yield bus, topics
    await bus.stop()


async def drain(consumer: Consumer, count: int, timeout_s: float = 30.0) -> list[Record]:
    """The next `count` records; `AssertionError` when they do not come within `timeout_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    got: list[Record] = []
    while len(got) < count:
        assert loop.time() < deadline, f"{len(got)} of {count} records in {timeout_s} s"
        got += await consumer.getmany(timeout_ms=200, max_records=count - len(got))
    return got


def group() -> str:
    return f"g-{uuid.uuid4().hex[:8]}"


async def test_published_records_come_back_in_order_per_key_with_headers(
    bus_and_topics: tuple[Bus, Topics],
) -> None:
    bus, topics = bus_and_topics
    messages = [
        Message(topics.reads, f"cam-{i % 2}".encode(), f"v{i}".encode(), (("n", str(i).encode()),))
        for i in range(10)
    ]
    await bus.publish(messages, timeout_s=30)
    consumer = bus.consumer([topics.reads], group_id=None, from_beginning=True)
    await consumer.start()
    try:
        records = await drain(consumer, 10)
    finally:
        await consumer.stop()
    for key in (b"cam-0", b"cam-1"):
        mine = [r for r in records if r.key == key]
        assert [r.value for r in mine] == [m.value for m in messages if m.key == key]
        assert len({r.partition for r in mine}) == 1
        offsets = [r.offset for r in mine]
        assert offsets == sorted(offsets)
    assert {(r.value, tuple(r.headers)) for r in records} == {
        (m.value, m.headers) for m in messages
    }
    assert all(r.topic == topics.reads for r in records)


async def test_a_key_keeps_its_partition_in_small_and_large_publishes(
    bus_and_topics: tuple[Bus, Topics],
) -> None:
    """The Kafka bus picks each record's partition itself (the producer's default partitioner,
    remembered per key): a camera's reads must land on one partition in small and large
    publishes alike, in the order published."""
    bus, topics = bus_and_topics
    small = [Message(topics.reads, f"cam-{i}".encode(), f"s{i}".encode()) for i in range(6)]
    large = [
        Message(topics.reads, f"cam-{i % 6}".encode(), f"l{i}".encode(), (("n", b"%d" % i),))
        for i in range(60)
    ]
    await bus.publish(small, timeout_s=30)
    await bus.publish(large, timeout_s=30)
    consumer = bus.consumer([topics.reads], group_id=None, from_beginning=True)
    await consumer.start()
    try:
        records = await drain(consumer, len(small) + len(large))
    finally:
        await consumer.stop()
    for i in range(6):
        mine = sorted((r for r in records if r.key == f"cam-{i}".encode()), key=lambda r: r.offset)
        assert len({r.partition for r in mine}) == 1
        assert [r.value for r in mine] == [f"s{i}".encode()] + [
            m.value for m in large if m.key == f"cam-{i}".encode()
        ]
    assert {(r.value, tuple(r.headers)) for r in records if (r.value or b"").startswith(b"l")} == {
        (m.value, m.headers) for m in large
    }


async def test_a_tombstone_is_the_last_word_on_its_key(bus_and_topics: tuple[Bus, Topics]) -> None:
    # LocalBus compacts as it writes, Kafka later: a reader may or may not see the replaced
    # value, but the last record of the key is the tombstone, whose value is None.
    bus, topics = bus_and_topics
    await bus.publish(
        [
            Message(topics.registry, b"cam-1", b"{}"),
            Message(topics.registry, b"cam-1", None),
            Message(topics.registry, b"cam-2", b"{}"),
        ],
        timeout_s=30,
    )
    consumer = bus.consumer([topics.registry], group_id=None, from_beginning=True)
    await consumer.start()
    try:
        records: list[Record] = []
        # Until both keys' last records are in (the keys may sit on different partitions).
        while not {(b"cam-1", None), (b"cam-2", b"{}")} <= {(r.key, r.value) for r in records}:
            records += await drain(consumer, 1)
    finally:
        await consumer.stop()
    cam_1 = [r.value for r in records if r.key == b"cam-1"]
    assert cam_1 in ([None], [b"{}", None])
    assert [r.value for r in records if r.key == b"cam-2"] == [b"{}"]


async def test_a_group_resumes_after_its_committed_records(
    bus_and_topics: tuple[Bus, Topics],
) -> None:
    bus, topics = bus_and_topics
    name = group()
    await bus.publish(
        [Message(topics.hits, b"k", f"first-{i}".encode()) for i in range(3)], timeout_s=30
    )
    first = bus.consumer([topics.hits], group_id=name, from_beginning=True)
    await first.start()
    try:
        assert [r.value for r in await drain(first, 3)] == [b"first-0", b"first-1", b"first-2"]
        await first.commit()
        progress = await first.group_progress()
        assert progress is not None and progress.lag == 0
    finally:
        await first.stop()
    await bus.publish([Message(topics.hits, b"k", b"second")], timeout_s=30)
    again = bus.consumer([topics.hits], group_id=name, from_beginning=True)
    await again.start()
    try:
        assert [r.value for r in await drain(again, 1)] == [b"second"]
    finally:
        await again.stop()


async def test_a_group_that_starts_at_the_end_keeps_its_start_through_a_restart(
    bus_and_topics: tuple[Bus, Topics],
) -> None:
    """A consumer made after a crash before the group's first commit (a new notify worker whose
    first deliveries failed) starts where the group started, not at a later end."""
    bus, topics = bus_and_topics
    name = group()
    await bus.publish([Message(topics.hits, b"k", b"before")], timeout_s=30)
    first = bus.consumer([topics.hits], group_id=name, from_beginning=False)
    await first.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not first.assignment():  # a group member learns its partitions by polling
            assert loop.time() < deadline, "no partitions assigned"
            assert not await first.getmany(timeout_ms=200, max_records=10)
        await first.positions()  # "the end" is where it is now (Kafka resolves it lazily)
        await bus.publish([Message(topics.hits, b"k", b"first")], timeout_s=30)
        assert [r.value for r in await drain(first, 1)] == [b"first"]
    finally:
        await first.stop()  # crashed: nothing committed by its user
    await bus.publish([Message(topics.hits, b"k", b"second")], timeout_s=30)
    again = bus.consumer([topics.hits], group_id=name, from_beginning=False)
    await again.start()
    try:
        assert [r.value for r in await drain(again, 2)] == [b"first", b"second"]
    finally:
        await again.stop()


async def test_end_offsets_are_asked_beside_a_consumers_long_poll(
    bus_and_topics: tuple[Bus, Topics],
) -> None:
    """The bus answers end offsets at once, also while a consumer of the same topic waits in a
    long-polled fetch: asked of that consumer, they queued behind its fetch wait (every hotlist
    write of the API waited 5 s for its cold follower)."""
    bus, topics = bus_and_topics
    await bus.publish([Message(topics.hotlists, b"k%d" % i, b"v") for i in range(3)], timeout_s=30)
    assert sum((await bus.end_offsets([topics.hotlists])).values()) == 3
    follower = bus.consumer(
        [topics.hotlists], group_id=None, from_beginning=True, fetch_wait_ms=10_000
    )
    await follower.start()
    try:
        assert len(await drain(follower, 3)) == 3
        polling = asyncio.create_task(follower.getmany(timeout_ms=10_000, max_records=10))
        await asyncio.sleep(0.5)  # the fetch is at the broker, waiting for data
        loop = asyncio.get_running_loop()
        started = loop.time()
        ends = await bus.end_offsets([topics.hotlists])
        assert loop.time() - started < 5, "end offsets waited behind the long poll"
        assert sum(ends.values()) == 3
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError, BusUnavailable):
            await polling
    finally:
        await follower.stop()


async def test_a_group_commits_the_offsets_it_is_given_and_skips_partitions_it_lacks(
    bus_and_topics: tuple[Bus, Topics],
) -> None:
    """The consumer loop commits the offsets after the batches it handled, taken before it
    polls again: records returned later are not committed with them."""
    bus, topics = bus_and_topics
    name = group()
    await bus.publish(
        [Message(topics.hits, b"k", f"r-{i}".encode()) for i in range(4)], timeout_s=30
    )
    first = bus.consumer([topics.hits], group_id=name, from_beginning=True)
    await first.start()
    try:
        records = await drain(first, 4)
        partition = (topics.hits, records[0].partition)
        elsewhere = (topics.hits + "-none", 0)
        await first.commit({partition: records[1].offset + 1, elsewhere: 7})
    finally:
        await first.stop()
    again = bus.consumer([topics.hits], group_id=name, from_beginning=True)
    await again.start()
    try:
        assert [r.value for r in await drain(again, 2)] == [b"r-2", b"r-3"]
    finally:
        await again.stop()


async def test_positions_reach_the_end_offsets(bus_and_topics: tuple[Bus, Topics]) -> None:
    bus, topics = bus_and_topics
    await bus.publish([Message(topics.reads, b"cam-1", b"x") for _ in range(4)], timeout_s=30)
    consumer = bus.consumer([topics.reads], group_id=None, from_beginning=True)
    await consumer.start()
    try:
        records = await drain(consumer, 4)
        partition = (topics.reads, records[0].partition)
        assert (await consumer.end_offsets())[partition] == records[-1].offset + 1
        assert (await consumer.positions())[partition] == records[-1].offset + 1
        assert partition in consumer.assignment()
    finally:
        await consumer.stop()


async def test_a_consumer_can_start_at_a_time(bus_and_topics: tuple[Bus, Topics]) -> None:
    bus, topics = bus_and_topics
    await bus.publish([Message(topics.reads, b"cam-1", b"old")], timeout_s=30)
    # A barrier instead of a sleep: the old record is stored before the clock is read.
    reader = bus.consumer([topics.reads], group_id=None, from_beginning=True)
    await reader.start()
    try:
        (old,) = await drain(reader, 1)
    finally:
        await reader.stop()
    start = max(now_ms(), old.timestamp_ms + 1)
    await until(lambda: now_ms() >= start, timeout_s=1)
    await bus.publish([Message(topics.reads, b"cam-1", b"new")], timeout_s=30)
    consumer = bus.consumer([topics.reads], group_id=None, from_beginning=False, start_at_ms=start)
    await consumer.start()
    try:
        assert [r.value for r in await drain(consumer, 1)] == [b"new"]
    finally:
        await consumer.stop()


async def test_concurrent_publishes_are_each_acknowledged_with_every_record_once_in_order(
    bus_and_topics: tuple[Bus, Topics],
) -> None:
    """Concurrent publishes share record batches on the Kafka bus (`produce_batches`): each
    publish returns once its own records are acknowledged; every record lands once, a key's
    records in the order each publish gave them, stamped with the time they were published. A
    record larger than a batch goes out among small ones."""
    bus, topics = bus_and_topics
    big = b"B" * (300 * 1024)  # over the producer's 256 KiB batch size

    def publish_of(n: int) -> list[Message]:
        return [
            Message(
                topics.reads,
                f"cam-{i % 5}".encode(),
                big if (n, i) == (7, 3) else b"%d/%d" % (n, i),
            )
            for i in range(20)
        ]

    sent = [publish_of(n) for n in range(40)]
    before = now_ms()
    await asyncio.gather(*(bus.publish(messages, timeout_s=30) for messages in sent))
    consumer = bus.consumer([topics.reads], group_id=None, from_beginning=True)
    await consumer.start()
    try:
        records = await drain(consumer, 40 * 20)
    finally:
        await consumer.stop()
    assert sorted(r.value or b"" for r in records) == sorted(
        m.value or b"" for ms in sent for m in ms
    )
    assert all(before - 1000 <= r.timestamp_ms <= now_ms() + 1000 for r in records)
    for key in (f"cam-{k}".encode() for k in range(5)):
        mine = sorted((r for r in records if r.key == key), key=lambda r: r.offset)
        assert len({r.partition for r in mine}) == 1
        for messages in sent:
            own = {m.value for m in messages if m.key == key}
            assert [r.value for r in mine if r.value in own] == [
                m.value for m in messages if m.key == key
            ]


@pytest.mark.kafka
async def test_publishes_cut_short_by_a_stop_fail_retriably_and_the_acknowledged_are_kept(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """A gateway stopping while requests publish: each publish is either acknowledged (its
    records are on the topic) or fails as a broker away would (503, resent), never hangs."""
    topics = Topics.from_prefix(topic_prefix)
    settings = CommonSettings(
        kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix, topic_partitions=3
    )
    bus = KafkaBus(kafka_bootstrap, topics.specs(settings), client_id="anpr-test")
    await bus.start()
    await bus.ensure_topics()
    sent = [
        [Message(topics.reads, f"cam-{i % 3}".encode(), b"%d/%d" % (n, i)) for i in range(50)]
        for n in range(100)
    ]
    await bus.publish([Message(topics.reads, b"cam-0", b"first")], timeout_s=30)
    publishes = [asyncio.ensure_future(bus.publish(ms, timeout_s=30)) for ms in sent]
    await asyncio.sleep(0)  # one turn: the publishes queue their records, none is sent yet
    await asyncio.wait_for(bus.stop(), timeout=30)
    outcomes = await asyncio.wait_for(asyncio.gather(*publishes, return_exceptions=True), 30)
    assert all(o is None or isinstance(o, BusUnavailable) for o in outcomes), outcomes
    with pytest.raises(BusUnavailable):
        await bus.publish(sent[0], timeout_s=5)

    reader = KafkaBus(kafka_bootstrap, topics.specs(settings), client_id="anpr-test")
    await reader.start()
    consumer = reader.consumer([topics.reads], group_id=None, from_beginning=True)
    await consumer.start()
    try:
        acknowledged = {
            m.value for ms, o in zip(sent, outcomes, strict=True) if o is None for m in ms
        }
        ends = await consumer.end_offsets()
        on_topic = [r.value for r in await drain(consumer, sum(ends.values()))]
        assert acknowledged <= set(on_topic)
        assert len(on_topic) == len(set(on_topic)), "a record twice"
    finally:
        await consumer.stop()
        await reader.stop()


@pytest.mark.kafka
async def test_a_topic_whose_settings_changed_since_it_was_created_is_reported(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """Topic settings apply when a topic is created; a retention shortened later in the
    settings leaves the topic as it was, and each process reports the difference."""
    topics = Topics.from_prefix(topic_prefix)
    created = CommonSettings(topic_prefix=topic_prefix, topic_partitions=2)
    first = KafkaBus(kafka_bootstrap, topics.specs(created), client_id="anpr-test")
    await first.start()
    try:
        await first.ensure_topics()
        assert await first.topic_drift() == []
    finally:
        await first.stop()
    now = CommonSettings(topic_prefix=topic_prefix, topic_partitions=3, read_retention_days=7)
    bus = KafkaBus(kafka_bootstrap, topics.specs(now), client_id="anpr-test")
    await bus.start()
    try:
        await bus.ensure_topics()  # creates nothing: every topic exists
        drift = {(d.topic, d.setting): (d.wanted, d.found) for d in await bus.topic_drift()}
        assert drift[(topics.reads, "retention.ms")] == (
            str(now.read_retention_ms),
            str(created.read_retention_ms),
        )
        assert drift[(topics.reads, "partitions")] == ("3", "2")
        assert (topics.hits, "retention.ms") not in drift
        assert (topics.audit, "partitions") not in drift  # one partition whatever the setting
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.alter_configs(
                [
                    ConfigResource(
                        ConfigResourceType.TOPIC,
                        topics.reads,
                        {
                            "retention.ms": str(now.read_retention_ms),
                            "segment.ms": deleting(now.read_retention_ms)["segment.ms"],
                        },
                    )
                ]
            )
        finally:
            await admin.close()
        after = {(d.topic, d.setting) for d in await bus.topic_drift()}
        assert (topics.reads, "retention.ms") not in after
        assert (topics.reads, "partitions") in after  # partitions are not a config
    finally:
        await bus.stop()


@pytest.mark.kafka
async def test_a_failed_publish_reports_exactly_the_records_stored_after_all(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """A publish given up on its timeout may still be stored: the producer keeps its batches.
    The gateway must know which (`landed_late`): their keys make the camera's resend a
    duplicate; the others' resends are published. Timeouts too short for any acknowledgement,
    small publishes (`send()`) and large ones (shared batches): what `landed_late` reports
    is exactly what the topic holds of the failed publishes."""
    topics = Topics.from_prefix(topic_prefix)
    settings = CommonSettings(
        kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix, topic_partitions=3
    )
    bus = KafkaBus(kafka_bootstrap, topics.specs(settings), client_id="anpr-test")
    await bus.start()
    await bus.ensure_topics()
    await bus.publish([Message(topics.reads, b"cam-0", b"first")], timeout_s=30)
    sent = [
        [Message(topics.reads, f"cam-{i % 3}".encode(), b"%d/%d" % (n, i)) for i in range(size)]
        for n, size in enumerate([1, 2, 20, 50] * 10)
    ]
    reported: set[bytes] = set()

    def landed(messages: list[Message]) -> Callable[[Sequence[int]], None]:
        return lambda indices: reported.update(messages[i].value or b"" for i in indices)

    outcomes = await asyncio.gather(
        *(bus.publish(ms, timeout_s=0.0005, landed_late=landed(ms)) for ms in sent),
        return_exceptions=True,
    )
    failed = {m.value for ms, o in zip(sent, outcomes, strict=True) if o is not None for m in ms}
    assert failed, "every publish was acknowledged within half a millisecond"
    consumer = bus.consumer([topics.reads], group_id=None, from_beginning=True)
    await consumer.start()
    try:
        on_topic: set[bytes] = set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:
            on_topic |= {
                r.value or b"" for r in await consumer.getmany(timeout_ms=200, max_records=500)
            }
            ends = await consumer.end_offsets()
            if sum(ends.values()) == len(on_topic) and reported == on_topic & failed:
                break
            assert loop.time() < deadline, (len(reported), len(on_topic & failed))
        assert reported <= failed
        assert reported, "no failed publish was stored after all: nothing was tried here"
    finally:
        await consumer.stop()
        await bus.stop()
