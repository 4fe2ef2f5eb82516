"""What a vendor push's reads become: with reads of several cameras in several time zones, each
read's time without an offset is its own camera's local time, whatever camera the first read is
of; a push of more reads than a request may hold, in a mapping or a built-in format, is
refused whole, never cut; and a vendor heartbeat is published only as a record its consumers
can decode."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from anpr.codecs import HEARTBEATS
from anpr.formats import validate_mapping
from anpr.registry import CameraSpec, RegistryWriter
from tests.support.gateway import gateway_on_local_bus, read_topic, values
from tests.support.wait import until

MAPPING = {
    "body": "json",
    "reads": "$.d[*]",
    "camera": ["serial"],
    "fields": {"plate": "p", "captured_at": "t"},
    "time": {"format": "strftime", "pattern": "%Y-%m-%d %H:%M:%S"},
}
FIXTURES = Path(__file__).parent.parent / "fixtures" / "vendor"
ZONES = {"SN-B": "Europe/Brussels", "SN-N": "America/New_York", "SN-T": "Asia/Tokyo"}


async def test_each_read_is_read_in_its_own_cameras_zone() -> None:
    async with gateway_on_local_bus() as gw:
        writer = RegistryWriter(gw.bus, gw.topics.registry)
        mapping = validate_mapping(MAPPING, name="site")
        assert not isinstance(mapping, list), mapping
        await writer.put_format(mapping)
        for serial, zone in ZONES.items():
            await writer.put_camera(
                CameraSpec(
                    camera_id=f"cam-{serial}",
                    integrator_id="int-1",
                    name=serial,
                    timezone=zone,
                    external_ids=[f"site:{serial}"],
                )
            )
        service = gw.app.state.service
        await until(lambda: "site" in service.registry.formats)
        await until(lambda: all(f"cam-{s}" in service.registry.cameras for s in ZONES))
        wall = (datetime.now(UTC) - timedelta(hours=20)).replace(microsecond=0, tzinfo=None)
        text = wall.strftime("%Y-%m-%d %H:%M:%S")
        # The first read's camera is not registered: before, every read was then read as UTC.
        body = {"d": [{"serial": "SN-UNKNOWN", "p": "X0", "t": text}]}
        body["d"] += [{"serial": s, "p": f"P{s[-1]}", "t": text} for s in ZONES]
        response = await gw.client.post("/v1/ingest/site", json=body, headers=gw.auth())
        assert response.status_code == 200, response.text
        # The New York camera's read again, alone (a device's resend): still one read.
        alone = {"d": [{"serial": "SN-N", "p": "PN", "t": text}]}
        response = await gw.client.post("/v1/ingest/site", json=alone, headers=gw.auth())
        assert response.status_code == 200, response.text
        reads = values(await read_topic(gw.bus, gw.topics.reads, timeout_s=0.6))
        got = {r["camera_id"]: r["captured_at_ms"] for r in reads}
        assert len(reads) == len(ZONES)
        for serial, zone in ZONES.items():
            local = wall.replace(tzinfo=ZoneInfo(zone))
            assert got[f"cam-{serial}"] == int(local.timestamp() * 1000), zone


async def test_a_push_over_1000_reads_is_refused_whole_not_cut() -> None:
    """Taking the first 1,000 and answering success lost the rest for good: the device does
    not send again what was answered 200. Refused (413, split it), nothing is published."""
    mapping = validate_mapping(
        {"body": "json", "reads": "$.d[*]", "fields": {"plate": "p", "captured_at": "t"}},
        name="many",
    )
    assert not isinstance(mapping, list), mapping
    async with gateway_on_local_bus() as gw:
        await RegistryWriter(gw.bus, gw.topics.registry).put_format(mapping)
        await until(lambda: "many" in gw.app.state.service.registry.formats)
        at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        reads = [{"p": f"AB{i:04d}", "t": at} for i in range(1001)]
        url = "/v1/ingest/many?camera_id=cam-1"
        response = await gw.client.post(url, json={"d": reads}, headers=gw.auth())
        assert response.status_code == 413, response.text
        assert "1001 reads in one payload" in response.text
        assert values(await read_topic(gw.bus, gw.topics.reads, timeout_s=0.3)) == []
        response = await gw.client.post(url, json={"d": reads[:1000]}, headers=gw.auth())
        assert response.status_code == 200, response.text


async def test_a_rejected_vendor_read_is_logged_without_its_plate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Frigate's read_id is `<object id>:<plate>`: logging rejected reads with their ids (or
    messages quoting values) put plates in the gateway's log."""
    old = {"type": "lpr", "id": "1718000000.1-abc", "camera": "gate", "plate": "AB-123-CD"}
    old |= {"score": 0.9, "timestamp": 1_000_000_000}  # 2001: past the read retention
    async with gateway_on_local_bus() as gw:
        with caplog.at_level(logging.INFO, logger="ingest"):
            response = await gw.client.post(
                "/v1/ingest/frigate?camera_id=cam-1",
                json=[old, {**old, "id": "x2", "timestamp": time.time() - 60}],
                headers=gw.auth(),
            )
        assert response.status_code == 200, response.text
        assert "reads rejected" in caplog.text
        assert "AB123CD" not in caplog.text and "AB-123-CD" not in caplog.text


async def test_a_vendor_heartbeat_before_1970_is_not_published_undecodable() -> None:
    """A Hikvision camera whose clock was never set sends 1970-01-01T00:00:00 in its own zone:
    east of UTC that is before the epoch, and the heartbeat went out with `sent_at_ms: null`,
    which every consumer of the heartbeats topic set aside as poison."""
    keepalive = (FIXTURES / "hikvision_videoloss_keepalive.xml").read_bytes()
    unset = keepalive.replace(b"2024-05-07T17:50:00+07:00", b"1970-01-01T00:00:00+08:00")
    async with gateway_on_local_bus() as gw:
        for body in (unset, keepalive):
            response = await gw.client.post(
                "/v1/ingest/hikvision?camera_id=cam-1",
                content=body,
                headers={**gw.auth(), "content-type": "application/xml"},
            )
            assert response.status_code == 200, response.text
        records = await read_topic(gw.bus, gw.topics.heartbeats, expect=1, timeout_s=1.0)
        beats = [HEARTBEATS.decode(record.value) for record in records]
        assert [beat["sent_at_ms"] for beat in beats] == [1_715_079_000_000]


def _over_1000(fmt: str, now_s: int) -> bytes:
    if fmt == "openalpr":
        results = [{"plate": f"AB{i:04d}", "confidence": 90.0} for i in range(1001)]
        event = {"data_type": "alpr_results", "epoch_time": now_s * 1000, "results": results}
        return orjson.dumps(event)
    if fmt == "platerecognizer":
        results = [{"plate": f"ab{i:04d}", "score": 0.9} for i in range(1001)]
        return orjson.dumps({"data": {"timestamp": now_s, "results": results}})
    if fmt == "dahua-text":
        car = '"TrafficCar": {"PlateNumber": "AB%04d"}'
        return "".join(
            f'Code=TrafficJunction;action=Pulse;index=1;data={{"RealUTC": {now_s}, {car % i}}}\n'
            for i in range(1001)
        ).encode()
    events = [
        {"Code": "TrafficJunction", "Data": {"RealUTC": now_s, "TrafficCar": {"PlateNumber": p}}}
        for p in (f"AB{i:04d}" for i in range(1001))
    ]
    return orjson.dumps({"method": "client.notifyEventStream", "params": {"eventList": events}})


@pytest.mark.parametrize("fmt", ["openalpr", "platerecognizer", "dahua-text", "dahua-stream"])
async def test_a_built_in_format_with_over_1000_reads_is_refused_whole(fmt: str) -> None:
    """OpenALPR and Plate Recognizer took the first 1,000 results and answered `OK`, the rest
    lost for good; Dahua cut text events at 1,000 the same way, and took an event stream of
    any length in one request."""
    body = _over_1000(fmt, int(time.time()) - 60)
    path = f"/v1/ingest/{fmt.split('-')[0]}?camera_id=cam-1"
    async with gateway_on_local_bus() as gw:
        response = await gw.client.post(path, content=body, headers=gw.auth())
        assert response.status_code == 413, response.text
        assert values(await read_topic(gw.bus, gw.topics.reads, timeout_s=0.3)) == []
