"""Vendor pushes through the gateway and the real broker: canonical reads on the topic, a resend
is a duplicate, the camera found by its vendor identity (also from a header), offset-less times
read in its zone, and the device gets the answer it expects."""

from __future__ import annotations

import asyncio
from pathlib import Path

from anpr.bus.kafka import KafkaBus
from anpr.clock import rfc3339_to_ms
from anpr.registry import CameraSpec, RegistryWriter
from ingest.adapters.capture import parse_request
from tests.support.gateway import GatewayHarness, read_topic, running_gateway, values

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"
# The vendors' documented samples carry old dates; accept them for this test.
OLD_SAMPLES = {"read_retention_days": 5000}


async def register(gw: GatewayHarness, spec: CameraSpec) -> None:
    await RegistryWriter(gw.bus, gw.topics.registry).put_camera(spec)
    registry = gw.app.state.service.registry
    for _ in range(100):
        if spec.camera_id in registry.cameras:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("camera registration not seen by the gateway")


async def test_hikvision_multipart_push_resolved_by_mac(
    kafka_bus: KafkaBus, topic_prefix: str
) -> None:
    captured = parse_request((FIXTURES / "hikvision_isapi_anpr_multipart.http").read_bytes())
    async with running_gateway(kafka_bus, topic_prefix=topic_prefix, **OLD_SAMPLES) as gw:
        await register(
            gw,
            CameraSpec(
                camera_id="hik-1",
                integrator_id="int-1",
                name="Hik",
                external_ids=["hikvision:44A642F32AD7"],
            ),
        )
        headers = {**gw.auth(), "Content-Type": captured.content_type or ""}
        first = await gw.client.post("/v1/ingest/hikvision", content=captured.body, headers=headers)
        again = await gw.client.post("/v1/ingest/hikvision", content=captured.body, headers=headers)
        assert first.status_code == 200, first.text
        assert again.status_code == 200
        (read,) = values(await read_topic(kafka_bus, gw.topics.reads, expect=1))
        assert read["camera_id"] == "hik-1"
        assert read["integrator_id"] == "int-1"
        assert read["captured_at"].endswith("Z")
        assert read["plate_norm"]
        assert "plate_jpeg_b64" in read.get("images", {}) or read.get("images")


async def test_platerecognizer_webhook_with_camera_query(
    kafka_bus: KafkaBus, topic_prefix: str
) -> None:
    body = (FIXTURES / "platerecognizer_stream_webhook.json").read_bytes()
    async with running_gateway(kafka_bus, topic_prefix=topic_prefix, **OLD_SAMPLES) as gw:
        headers = {**gw.auth(), "Content-Type": "application/json"}
        first = await gw.client.post(
            "/v1/ingest/platerecognizer?camera_id=cam-1", content=body, headers=headers
        )
        again = await gw.client.post(
            "/v1/ingest/platerecognizer?camera_id=cam-1", content=body, headers=headers
        )
        assert first.status_code == 200, first.text
        assert again.status_code == 200
        reads = values(await read_topic(kafka_bus, gw.topics.reads, expect=1))
        assert len(reads) == 1
        assert reads[0]["camera_id"] == "cam-1"
        assert 0 <= reads[0]["confidence"] <= 1
        foreign = await gw.client.post(
            "/v1/ingest/platerecognizer?camera_id=cam-2", content=body, headers=headers
        )
        assert foreign.status_code == 403


async def test_dahua_itsapi_in_the_cameras_zone_and_the_answer_it_needs(
    kafka_bus: KafkaBus, topic_prefix: str
) -> None:
    body = (FIXTURES / "dahua_itsapi_tollgate.json").read_bytes()
    no_plate = (FIXTURES / "dahua_notify_eventstream_noplate.json").read_bytes()
    async with running_gateway(kafka_bus, topic_prefix=topic_prefix, **OLD_SAMPLES) as gw:
        await register(
            gw,
            CameraSpec(
                camera_id="itc-1",
                integrator_id="int-1",
                name="ITC",
                timezone="Europe/Amsterdam",
                external_ids=["dahua:6G0ABC1234567"],
            ),
        )
        headers = {**gw.auth(), "Content-Type": "application/json"}
        empty = await gw.client.post("/v1/ingest/dahua", content=no_plate, headers=headers)
        answer = await gw.client.post("/v1/ingest/dahua", content=body, headers=headers)
        assert empty.status_code == 200 and empty.json()["result"] == "true"
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json()["result"] == "true"
        (read,) = values(await read_topic(kafka_bus, gw.topics.reads, expect=1))
        assert read["camera_id"] == "itc-1" and read["plate"] == "AB123CD"
        # AccurateTime 03:30:12.345 has no offset: Amsterdam wall clock (CEST) on 31 March 2024.
        assert rfc3339_to_ms(read["captured_at"]) == rfc3339_to_ms("2024-03-31T01:30:12.345Z")


async def test_survision_push_resolved_by_its_serial_header(
    kafka_bus: KafkaBus, topic_prefix: str
) -> None:
    captured = parse_request((FIXTURES / "survision_http_push.http").read_bytes())
    async with running_gateway(kafka_bus, topic_prefix=topic_prefix, **OLD_SAMPLES) as gw:
        await register(
            gw,
            CameraSpec(
                camera_id="sv-1",
                integrator_id="int-1",
                name="Survision",
                external_ids=["survision:20191212-0042"],
            ),
        )
        headers = {
            **gw.auth(),
            "Content-Type": "application/json",
            "Survision-Serial-Number": captured.headers["survision-serial-number"],
        }
        answer = await gw.client.post(
            "/v1/ingest/survision", content=captured.body, headers=headers
        )
        assert answer.status_code == 200, answer.text
        (read,) = values(await read_topic(kafka_bus, gw.topics.reads, expect=1))
        assert read["camera_id"] == "sv-1" and read["country"] == "FR"
        assert read["confidence"] == 0.8


async def test_frigate_topics_for_one_car_are_one_read(
    kafka_bus: KafkaBus, topic_prefix: str
) -> None:
    async with running_gateway(kafka_bus, topic_prefix=topic_prefix, **OLD_SAMPLES) as gw:
        await register(
            gw,
            CameraSpec(
                camera_id="frig-1",
                integrator_id="int-1",
                name="Frigate",
                external_ids=["frigate:gate_lpr"],
            ),
        )
        headers = {**gw.auth(), "Content-Type": "application/json"}
        for name in ("frigate_events_update.json", "frigate_tracked_object_update_lpr.json"):
            answer = await gw.client.post(
                "/v1/ingest/frigate", content=(FIXTURES / name).read_bytes(), headers=headers
            )
            assert answer.status_code == 200, answer.text
        reads = values(await read_topic(kafka_bus, gw.topics.reads, expect=1))
        assert [r["plate"] for r in reads] == ["AB12CDE"]
        assert reads[0]["camera_id"] == "frig-1"
