"""Dedup across gateway replicas through the dedup-keys topic (`ingest/peers.py`): the keys of
stored reads follow them in one record (`ingest/keys_outbox.py`); another replica learns the
keys from it, never from the reads topic, the replica that sent it skips it unread, and a
record it cannot decode is set aside."""

from __future__ import annotations

import asyncio

from anpr.bus.base import Message
from anpr.bus.local import LocalBus
from anpr.settings import CommonSettings
from anpr.topics import Topics
from tests.conftest import MakeRead
from tests.support.gateway import read_topic, running_gateway, values


async def until(condition: object, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_resend_to_another_replica_is_a_duplicate_learnt_from_the_keys_topic(
    make_read: MakeRead,
) -> None:
    bus = LocalBus(None, Topics.from_prefix("anpr.").specs(CommonSettings()))
    await bus.start()
    try:
        async with (
            running_gateway(bus) as first,
            running_gateway(bus, register=False) as second,
        ):
            batch = [make_read(read_id=f"k-{i}") for i in range(25)]
            sent = await first.client.post("/v1/reads", json=batch, headers=first.auth())
            assert sent.json()["accepted"] == 25
            outbox = first.app.state.service.keys
            await until(lambda: outbox.records == 1)
            keys = values(await read_topic(bus, first.topics.dedup_keys, timeout_s=0.5))
            assert keys == [{"v": 1, "keys": [["cam-1", f"k-{i}"] for i in range(25)]}]
            # A poison record on the keys topic is set aside; learning goes on.
            await bus.publish(
                [Message(first.topics.dedup_keys, b"x", b'{"v": 1, "keys": [[1, 2]]}')],
                timeout_s=1.0,
            )
            peers = second.app.state.service.peers
            await until(lambda: peers.learned >= 25)
            resent = await second.client.post("/v1/reads", json=batch, headers=first.auth())
            assert resent.json() == {"accepted": 0, "duplicates": 25, "rejected": []}
            # Its own record: skipped unread by the replica that sent it (it knew the keys).
            own = first.app.state.service.peers
            await until(lambda: own.loop.caught_up.is_set() and own.loop.lag == 0)
            assert own.learned == 0
            letters = values(await read_topic(bus, first.topics.deadletter, timeout_s=0.5))
            # Each replica follows the keys topic (its own publishes included): each sets it aside.
            assert [x["topic"] for x in letters] == [first.topics.dedup_keys] * 2
            on_topic = values(await read_topic(bus, first.topics.reads, timeout_s=0.5))
            assert sorted(r["read_id"] for r in on_topic) == sorted(r["read_id"] for r in batch)
    finally:
        await bus.stop()
