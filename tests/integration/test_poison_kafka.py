"""Poison records through the real broker: a matcher (in-process, on Kafka) sets aside a read
whose types are wrong and one of garbage bytes on the dead-letter topic, keeps matching the
reads around them and the ones after, and stays ready."""

from __future__ import annotations

import base64

import httpx
import orjson
import pytest

from anpr.bus.base import Message
from anpr.bus.kafka import KafkaBus
from anpr.codecs import DEADLETTER
from anpr.hits import derive_hit_id
from anpr.registry import CameraSpec, RegistryWriter
from anpr.topics import Topics
from matcher.app import create_app
from matcher.settings import MatcherSettings
from tests.integration.test_matcher_kafka import publish_hotlist, read
from tests.support.gateway import read_topic, values
from tests.support.wait import until


@pytest.mark.timeout(120)
async def test_a_poison_read_is_set_aside_and_matching_goes_on(
    kafka_bus: KafkaBus, kafka_bootstrap: str, topic_prefix: str
) -> None:
    topics = Topics.from_prefix(topic_prefix)
    writer = RegistryWriter(kafka_bus, topics.registry)
    await writer.put_camera(
        CameraSpec(camera_id="cam-1", integrator_id="int-1", name="One", zones=["city"])
    )
    await publish_hotlist(kafka_bus, topics)
    wrong_type = {**read(2, "AB0002"), "received_at": "soon"}
    await kafka_bus.publish(
        [
            Message(topics.reads, b"cam-1", orjson.dumps(read(1, "AB0001"))),
            Message(topics.reads, b"cam-1", orjson.dumps(wrong_type)),
            Message(topics.reads, b"cam-1", b"\x00\xffgarbage"),
            Message(topics.reads, b"cam-1", orjson.dumps(read(3, "AB0003"))),
        ],
        timeout_s=30,
    )
    settings = MatcherSettings(
        kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix, topic_partitions=3
    )
    app = create_app(settings, kafka_bus)
    async with app.router.lifespan_context(app):
        service = app.state.service
        await until(lambda: service.ready, timeout_s=60)
        hits = values(await read_topic(kafka_bus, topics.hits, expect=2, timeout_s=30))
        assert {h["hit_id"] for h in hits} == {
            derive_hit_id("r1", "cam-1", "stolen", "e1"),
            derive_hit_id("r3", "cam-1", "stolen", "e3"),
        }
        letters = [
            DEADLETTER.decode(r.value)
            for r in await read_topic(kafka_bus, topics.deadletter, expect=2, timeout_s=30)
        ]
        assert sorted(base64.b64decode(str(x["value_b64"]))[:4] for x in letters) == sorted(
            [b"\x00\xffga", orjson.dumps(wrong_type)[:4]]
        )
        assert {x["topic"] for x in letters} == {topics.reads}
        assert any("$.received_at" in x["error"] for x in letters)
        assert all(x["process"] == "matcher" for x in letters)
        # Later reads are matched, and the matcher stays ready and alive.
        await kafka_bus.publish(
            [Message(topics.reads, b"cam-1", orjson.dumps(read(4, "AB0004")))], timeout_s=30
        )
        hits = values(await read_topic(kafka_bus, topics.hits, expect=3, timeout_s=30))
        assert derive_hit_id("r4", "cam-1", "stolen", "e4") in {h["hit_id"] for h in hits}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/healthz")).status_code == 200
            metrics = (await client.get("/metrics")).text
        label = f'process="matcher",topic="{topics.reads}"'
        assert f"anpr_invalid_records_total{{{label}}} 2.0" in metrics
