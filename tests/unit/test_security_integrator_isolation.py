"""Issue 11, item 3: one integrator cannot degrade, probe or name another's camera.

Reads refused as foreign are counted against the caller, never against the camera (its health
and commissioning feed on the gateway's rejection events); "not registered" and "not registered
to you" are the same answer; the vendor route never resolves another integrator's camera."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from anpr.bus.local import LocalBus
from anpr.registry import CameraSpec, RegistryWriter
from anpr.settings import CommonSettings
from anpr.topics import Topics
from tests.conftest import MakeRead
from tests.support.gateway import GatewayHarness, read_topic, running_gateway, values

VENDOR = Path(__file__).parents[1] / "fixtures" / "vendor"


@pytest.fixture
async def gw() -> AsyncIterator[GatewayHarness]:
    bus = LocalBus(None, Topics.from_prefix("anpr.").specs(CommonSettings()))
    await bus.start()
    async with running_gateway(bus, events_flush_s=0.05) as harness:
        yield harness
    await bus.stop()


def _rejected_samples(gw: GatewayHarness) -> dict[tuple[str, str], float]:
    registry = gw.app.state.service.metrics.registry
    out: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            if s.name == "anpr_gateway_reads_rejected_total":
                key = (s.labels["camera_id"], s.labels["integrator_id"])
                out[key] = out.get(key, 0) + s.value
    return out


async def test_foreign_and_unregistered_cameras_get_the_same_answer(
    gw: GatewayHarness, make_read: MakeRead
) -> None:
    evil = gw.auth(gw.other_token)  # int-2; cam-1 belongs to int-1
    foreign = await gw.client.post("/v1/reads", json=make_read(read_id="a"), headers=evil)
    unknown = await gw.client.post(
        "/v1/reads", json=make_read(read_id="a", camera_id="cam-zzz"), headers=evil
    )
    assert foreign.status_code == unknown.status_code == 403
    assert foreign.text.replace("cam-1", "X") == unknown.text.replace("cam-zzz", "X")
    beat_foreign = await gw.client.post(
        "/v1/heartbeats", json={"camera_id": "cam-1", "sent_at": 1_700_000_000_000}, headers=evil
    )
    beat_unknown = await gw.client.post(
        "/v1/heartbeats",
        json={"camera_id": "cam-zzz", "sent_at": 1_700_000_000_000},
        headers=evil,
    )
    assert beat_foreign.status_code == beat_unknown.status_code == 403
    assert beat_foreign.text.replace("cam-1", "X") == beat_unknown.text.replace("cam-zzz", "X")


async def test_foreign_reads_count_against_the_caller_not_the_camera(
    gw: GatewayHarness, make_read: MakeRead
) -> None:
    evil = gw.auth(gw.other_token)
    batch = [make_read(read_id=f"f{i}") for i in range(20)]
    assert (await gw.client.post("/v1/reads", json=batch, headers=evil)).status_code == 403
    own_bad = make_read(read_id="own", plate="--")
    assert (await gw.client.post("/v1/reads", json=own_bad, headers=gw.auth())).status_code == 422

    samples = _rejected_samples(gw)
    assert samples[("unregistered", "int-2")] == 20
    assert samples[("cam-1", "int-1")] == 1  # only the owner's own bad read
    assert not any(camera == "cam-1" and who == "int-2" for camera, who in samples)

    # The gateway's per-camera rejection events (camera health, commissioning) see only the
    # owner's read.
    deadline = asyncio.get_running_loop().time() + 3
    while True:
        events = values(await read_topic(gw.bus, gw.topics.gateway_events, timeout_s=0.2))
        rejected = sum(
            int(e.get("rejected", 0))
            for e in events
            if e.get("camera_id") == "cam-1" and e.get("kind", "counts") == "counts"
        )
        if rejected or asyncio.get_running_loop().time() > deadline:
            break
    assert rejected == 1, events


async def test_vendor_route_never_names_another_integrators_camera(gw: GatewayHarness) -> None:
    writer = RegistryWriter(gw.bus, gw.topics.registry)
    await writer.put_camera(
        CameraSpec(
            camera_id="cam-1",
            integrator_id="int-1",
            name="One",
            zones=["z1"],
            external_ids=["openalpr:parking:1"],
        )
    )
    registry = gw.app.state.service.registry
    deadline = asyncio.get_running_loop().time() + 3
    while registry.camera_by_external_id("openalpr:parking:1") is None:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    payload = (VENDOR / "openalpr_alprd_results_v1.json").read_bytes()
    evil = await gw.client.post(
        "/v1/ingest/openalpr",
        content=payload,
        headers={**gw.auth(gw.other_token), "Content-Type": "application/json"},
    )
    assert "cam-1" not in evil.text
    assert evil.status_code == 422
    assert orjson.loads(evil.content)["rejected"][0]["errors"][0]["field"] == "camera_id"
    owner = await gw.client.post(
        "/v1/ingest/openalpr",
        content=payload,
        headers={**gw.auth(), "Content-Type": "application/json"},
    )
    # The owner's push resolves the camera (the 2017 capture time is then out of retention).
    assert "captured_at" in owner.text
