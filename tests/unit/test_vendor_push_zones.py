"""A vendor push with reads of several cameras, in several time zones: each read's time without
an offset is its own camera's local time, whatever camera the first read is of."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

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
