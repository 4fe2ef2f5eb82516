"""The keys of stored reads on their way to the other gateways (`ingest.keys_outbox`): many
publishes' keys in one record, nothing lost while Kafka is away, nothing kept past the window."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

import orjson

from anpr.bus.base import LandedLate, Message
from anpr.errors import BusUnavailable
from ingest.keys_outbox import MAX_KEYS_PER_RECORD, KeysOutbox


class Bus:
    def __init__(self) -> None:
        self.records: list[Message] = []
        self.away = False
        self.sent = asyncio.Event()

    async def publish(
        self,
        messages: Sequence[Message],
        *,
        timeout_s: float,
        landed_late: LandedLate | None = None,
    ) -> None:
        if self.away:
            raise BusUnavailable("the broker is away")
        self.records.extend(messages)
        self.sent.set()

    def sent_keys(self) -> list[list[list[str]]]:
        return [orjson.loads(m.value or b"")["keys"] for m in self.records]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def outbox(
    bus: Bus,
    clock: Clock | None = None,
    expired: list[int] | None = None,
    max_keys: int = 10_000,
    pause_s: float = 0.0,
) -> KeysOutbox:
    return KeysOutbox(
        bus,  # type: ignore[arg-type]
        "keys",
        b"gateway/me",
        window_s=600,
        max_keys=max_keys,
        timeout_s=1,
        on_expired=(expired if expired is not None else []).append,
        clock=clock or Clock(),
        pause_s=pause_s,
    )


async def test_the_keys_of_many_publishes_go_in_one_record_keyed_by_the_gateway() -> None:
    bus = Bus()
    box = outbox(bus)
    for n in range(3):
        box.add([("cam-1", f"r{n}")])
    assert len(box) == 3
    await box.publish_some(1)
    assert [m.key for m in bus.records] == [b"gateway/me"]
    assert bus.sent_keys() == [[["cam-1", "r0"], ["cam-1", "r1"], ["cam-1", "r2"]]]
    assert (len(box), box.published, box.records) == (0, 3, 1)


async def test_keys_wait_while_kafka_is_away_and_go_once_it_is_back() -> None:
    bus = Bus()
    box = outbox(bus)
    box.add([("cam-1", "r1")])
    bus.away = True
    try:
        await box.publish_some(1)
    except BusUnavailable:
        pass
    else:
        raise AssertionError("the failed publish was not raised (the supervisor retries it)")
    assert len(box) == 1
    box.add([("cam-1", "r2")])
    bus.away = False
    await box.publish_some(1)
    assert bus.sent_keys() == [[["cam-1", "r1"], ["cam-1", "r2"]]]  # in order, none lost


async def test_keys_older_than_the_window_are_dropped_unsent_and_counted() -> None:
    bus, clock, expired = Bus(), Clock(), []
    box = outbox(bus, clock, expired)
    box.add([("cam-1", "old-1"), ("cam-1", "old-2")])
    clock.now += 601
    box.add([("cam-1", "new")])
    await box.publish_some(1)
    assert bus.sent_keys() == [[["cam-1", "new"]]]
    assert expired == [2] and box.expired == 2 and len(box) == 0


async def test_a_record_holds_at_most_its_share_of_keys() -> None:
    bus = Bus()
    box = outbox(bus)
    for n in range(MAX_KEYS_PER_RECORD + 10):
        box.add([("cam-1", f"r{n}")])
    await box.publish_some(1)
    await box.publish_some(1)
    assert [len(k) for k in bus.sent_keys()] == [MAX_KEYS_PER_RECORD, 10]


async def test_the_task_publishes_what_is_added_without_being_asked() -> None:
    bus = Bus()
    box = outbox(bus)
    task = asyncio.create_task(box.run())
    try:
        box.add([("cam-1", "r1")])
        await asyncio.wait_for(bus.sent.wait(), 5)
        assert bus.sent_keys() == [[["cam-1", "r1"]]]
    finally:
        task.cancel()


async def test_the_task_sends_a_record_at_most_every_pause_with_what_came_meanwhile() -> None:
    """Keys arriving all the time (each publish adds more) go out one record per pause, not
    one per publish: each record costs a fetch at every other gateway."""
    loop = asyncio.get_running_loop()
    sent_at: list[float] = []

    class Busy(Bus):
        async def publish(self, messages: Sequence[Message], **kwargs: object) -> None:
            await super().publish(messages, timeout_s=1)
            sent_at.append(loop.time())
            box.add([("cam-1", f"r{len(sent_at)}-{n}") for n in range(3)])

    bus = Busy()
    box = outbox(bus, pause_s=0.05)
    task = asyncio.create_task(box.run())
    try:
        box.add([("cam-1", "r0")])
        deadline = loop.time() + 10
        while len(sent_at) < 4:
            assert loop.time() < deadline, "the task stopped publishing"
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent_at)]
    assert min(gaps) >= 0.049, gaps
    assert [len(keys) for keys in bus.sent_keys()[1:4]] == [3, 3, 3]


async def test_a_clean_stop_publishes_what_waits() -> None:
    bus = Bus()
    box = outbox(bus)
    box.add([("cam-1", "r1")])
    await box.flush_on_stop(1)
    assert bus.sent_keys() == [[["cam-1", "r1"]]]


async def test_keys_beyond_the_memory_bound_drop_the_oldest() -> None:
    """The keys topic away while reads are still stored: keys piled up for the whole window
    (6 h at the read rate); they are bounded as the duplicate memory is."""
    bus, expired = Bus(), []
    box = outbox(bus, expired=expired, max_keys=3)
    for n in range(5):
        box.add([("cam-1", f"r{n}")])
    assert (len(box), box.expired, sum(expired)) == (3, 2, 2)
    await box.publish_some(1)
    assert bus.sent_keys() == [[["cam-1", "r2"], ["cam-1", "r3"], ["cam-1", "r4"]]]
