"""The gateway through the real broker: what is acknowledged is on the topic, exactly once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from anpr.bus.kafka import KafkaBus
from anpr.settings import CommonSettings
from anpr.topics import Topics
from tests.conftest import MakeRead
from tests.support.gateway import read_topic, running_gateway, values
from tests.support.kafka import Broker
from tests.support.ports import free_port_pair


async def test_accepted_reads_are_on_the_topic_exactly_once(
    kafka_bus: KafkaBus, make_read: MakeRead, topic_prefix: str
) -> None:
    async with running_gateway(kafka_bus, topic_prefix=topic_prefix) as gw:
        single = make_read(read_id="s-1")
        batch = [make_read(read_id=f"b-{i}") for i in range(20)]
        batch[3]["plate"] = "!!"
        batch[7]["captured_at"] = "2026-11-21 07:00:00"
        ndjson = b"\n".join(
            [
                orjson.dumps(make_read(read_id="n-1")),
                b"{oops",
                orjson.dumps(make_read(read_id=None)),
            ]
        )
        r1 = await gw.client.post("/v1/reads", json=single, headers=gw.auth())
        r2 = await gw.client.post("/v1/reads", json=batch, headers=gw.auth())
        r3 = await gw.client.post(
            "/v1/reads",
            content=ndjson,
            headers={**gw.auth(), "Content-Type": "application/x-ndjson"},
        )
        assert (r1.status_code, r2.status_code, r3.status_code) == (202, 202, 202)
        assert r2.json()["accepted"] == 18
        assert [r["index"] for r in r2.json()["rejected"]] == [3, 7]
        accepted = 1 + 18 + 2

        resent = await gw.client.post("/v1/reads", json=batch, headers=gw.auth())
        assert resent.json()["accepted"] == 0
        assert resent.json()["duplicates"] == 18

        on_topic = values(await read_topic(kafka_bus, gw.topics.reads, expect=accepted))
        ids = [v["read_id"] for v in on_topic]
        assert len(ids) == accepted == len(set(ids))
        assert {"s-1", "n-1"} <= set(ids)
        assert not {"b-3", "b-7"} & set(ids)
        for value in on_topic:
            assert value["integrator_id"] == "int-1"
            assert value["plate_norm"] == "1ABC123"
            assert isinstance(value["received_at"], int)


async def test_foreign_camera_is_403_through_kafka(
    kafka_bus: KafkaBus, make_read: MakeRead, topic_prefix: str
) -> None:
    async with running_gateway(kafka_bus, topic_prefix=topic_prefix) as gw:
        response = await gw.client.post(
            "/v1/reads", json=make_read(camera_id="cam-2"), headers=gw.auth()
        )
        assert response.status_code == 403
        assert values(await read_topic(kafka_bus, gw.topics.reads, timeout_s=1)) == []


async def test_topics_are_created_with_their_policies(
    kafka_bus: KafkaBus, kafka_bootstrap: str, topic_prefix: str
) -> None:
    topics = Topics.from_prefix(topic_prefix)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t) for t in (topics.registry, topics.reads)]
        )
        configs = {
            res[3]: {entry[0]: entry[1] for entry in res[4]}
            for response in described
            for res in response.resources
        }
    finally:
        await admin.close()
    assert configs[topics.registry]["cleanup.policy"] == "compact"
    assert configs[topics.reads]["cleanup.policy"] == "delete"
    assert configs[topics.reads]["retention.ms"] == str(30 * 86_400_000)


@pytest.mark.timeout(180)
async def test_stopped_broker_gives_503_never_2xx(
    tmp_path: Path, make_read: MakeRead, kafka_broker: Broker
) -> None:
    broker = Broker(free_port_pair(), tmp_path / "kafka-doomed")
    broker.up()
    prefix = "doomed."
    settings = CommonSettings(kafka_bootstrap=broker.bootstrap, topic_prefix=prefix)
    bus = KafkaBus(broker.bootstrap, Topics.from_prefix(prefix).specs(settings))
    await bus.start()
    await bus.ensure_topics()
    try:
        async with running_gateway(bus, topic_prefix=prefix, publish_timeout_s=2.0) as gw:
            ok = await gw.client.post("/v1/reads", json=make_read(), headers=gw.auth())
            assert ok.status_code == 202
            await asyncio.to_thread(broker.down)
            started = time.monotonic()
            down = await gw.client.post("/v1/reads", json=make_read(), headers=gw.auth())
            assert down.status_code == 503
            assert int(down.headers["Retry-After"]) >= 1
            assert time.monotonic() - started < 10
    finally:
        await bus.stop()
        broker.down()


async def test_resend_to_another_replica_is_a_duplicate(
    kafka_bus: KafkaBus, make_read: MakeRead, topic_prefix: str
) -> None:
    async with (
        running_gateway(kafka_bus, topic_prefix=topic_prefix) as first,
        running_gateway(kafka_bus, topic_prefix=topic_prefix, register=False) as second,
    ):
        batch = [make_read(read_id=f"x-{i}") for i in range(30)]
        sent = await first.client.post("/v1/reads", json=batch, headers=first.auth())
        assert sent.json()["accepted"] == 30
        peers = second.app.state.service.peers
        for _ in range(100):  # the other replica learns them from the topic within moments
            if peers.learned >= 30:
                break
            await asyncio.sleep(0.05)
        resent = await second.client.post("/v1/reads", json=batch, headers=first.auth())
        assert resent.json() == {"accepted": 0, "duplicates": 30, "rejected": []}, (
            peers.learned,
            peers._task,
        )
        on_topic = values(await read_topic(kafka_bus, first.topics.reads, expect=30))
        assert sorted(v["read_id"] for v in on_topic) == sorted(r["read_id"] for r in batch)


async def test_restarted_gateway_remembers_recent_reads(
    kafka_bus: KafkaBus, make_read: MakeRead, topic_prefix: str
) -> None:
    batch = [make_read(read_id=f"y-{i}") for i in range(10)]
    async with running_gateway(kafka_bus, topic_prefix=topic_prefix) as gw:
        token = gw.token
        assert (await gw.client.post("/v1/reads", json=batch, headers=gw.auth())).status_code == 202
    async with running_gateway(kafka_bus, topic_prefix=topic_prefix, register=False) as again:
        peers = again.app.state.service.peers
        for _ in range(100):
            if peers.learned >= 10:
                break
            await asyncio.sleep(0.05)
        resent = await again.client.post("/v1/reads", json=batch, headers=again.auth(token))
        assert resent.json()["duplicates"] == 10


async def test_batched_publish_partitions_like_any_producer(
    kafka_bus: KafkaBus, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """A camera's reads must land on the partition Kafka's default partitioner gives its key,
    whichever producer wrote them, or their order would split across partitions."""
    from aiokafka import AIOKafkaProducer

    from anpr.bus.base import Message

    topic = Topics.from_prefix(topic_prefix).reads
    cameras = [f"cam-{i}" for i in range(40)]
    await kafka_bus.publish(
        [Message(topic, c.encode(), b"{}", (("by", b"bus"),)) for c in cameras], timeout_s=10
    )
    plain = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await plain.start()
    try:
        for camera in cameras:
            await plain.send_and_wait(topic, b"{}", key=camera.encode(), headers=[("by", b"x")])
    finally:
        await plain.stop()
    records = await read_topic(kafka_bus, topic, expect=80)
    where: dict[tuple[bytes | None, bytes], int] = {
        (r.key, dict(r.headers)["by"]): r.partition for r in records
    }
    assert len({p for p in where.values()}) > 1
    for camera in cameras:
        assert where[(camera.encode(), b"bus")] == where[(camera.encode(), b"x")], camera
