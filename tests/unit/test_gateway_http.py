"""The gateway over HTTP on the in-process bus: status codes, per-read errors, dedup, auth."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import orjson
import pytest

from anpr.bus.base import LandedLate, Message
from anpr.bus.local import LocalBus
from anpr.clock import now_ms
from anpr.errors import BusUnavailable
from anpr.registry import RegistryWriter
from anpr.settings import CommonSettings
from anpr.topics import Topics
from tests.conftest import MakeRead
from tests.support.gateway import (
    GatewayHarness,
    gateway_on_local_bus,
    read_topic,
    running_gateway,
    values,
)
from tests.support.wait import until


def local_bus() -> LocalBus:
    return LocalBus(None, Topics.from_prefix("anpr.").specs(CommonSettings()))


@pytest.fixture
async def gw() -> AsyncIterator[GatewayHarness]:
    async with gateway_on_local_bus() as harness:
        yield harness


async def reads_on_topic(gw: GatewayHarness) -> list[dict[str, object]]:
    return values(await read_topic(gw.bus, gw.topics.reads, timeout_s=0.5))


async def test_single_read_is_published_with_ingest_fields(
    gw: GatewayHarness, make_read: MakeRead
) -> None:
    response = await gw.client.post("/v1/reads", json=make_read(read_id="a1"), headers=gw.auth())
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    (record,) = await read_topic(gw.bus, gw.topics.reads, timeout_s=0.5)
    value = orjson.loads(record.value or b"")
    assert record.key == b"cam-1"
    assert dict(record.headers)["read_id"] == b"a1"
    assert value["integrator_id"] == "int-1"
    assert value["plate_norm"] == "1ABC123"
    assert isinstance(value["received_at"], int)


async def test_a_batch_counts_its_reads_per_camera_named_for_the_rollout_report(
    gw: GatewayHarness, make_read: MakeRead
) -> None:
    """The camera check and the contact count are made once per camera a request names: three
    reads of the caller's camera, two of another integrator's (refused), one of no camera."""
    batch = [
        make_read(read_id="o1"),
        make_read(read_id="f1", camera_id="cam-2"),
        make_read(read_id="o2"),
        make_read(read_id="f2", camera_id="cam-2"),
        make_read(read_id="n1", camera_id="cam-unknown"),
        make_read(read_id="o3"),
    ]
    response = await gw.client.post("/v1/reads", json=batch, headers=gw.auth())
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 3
    refused = {r["index"]: r["errors"][0]["field"] for r in body["rejected"]}
    assert refused == {1: "camera_id", 3: "camera_id", 4: "camera_id"}
    await gw.app.state.service.events.flush()
    published = values(await read_topic(gw.bus, gw.topics.gateway_events, timeout_s=0.5))
    contacts = {
        r["camera_id"]: (r["requests"], r["refused"])
        for r in published
        if r.get("kind") == "contact"
    }
    assert contacts == {"cam-1": (3, 0), "cam-2": (2, 2)}


async def test_batch_keeps_good_reads_and_names_bad_fields(
    gw: GatewayHarness, make_read: MakeRead
) -> None:
    batch = [
        make_read(read_id="g1"),
        make_read(read_id="b1", captured_at="2026-01-01T00:00:00"),
        make_read(read_id="g2"),
        make_read(read_id="b2", plate="--"),
        "nonsense",
    ]
    response = await gw.client.post("/v1/reads", json=batch, headers=gw.auth())
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 2
    rejected = {r["index"]: r for r in body["rejected"]}
    assert set(rejected) == {1, 3, 4}
    assert rejected[1]["read_id"] == "b1"
    assert rejected[1]["errors"][0]["field"] == "captured_at"
    assert rejected[3]["errors"][0]["field"] == "plate"
    assert [v["read_id"] for v in await reads_on_topic(gw)] == ["g1", "g2"]


async def test_ndjson_with_a_broken_line(gw: GatewayHarness, make_read: MakeRead) -> None:
    lines = [orjson.dumps(make_read(read_id="n1")), b"{broken", orjson.dumps(make_read())]
    response = await gw.client.post(
        "/v1/reads",
        content=b"\n".join(lines),
        headers={**gw.auth(), "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 2
    assert body["rejected"][0]["index"] == 1
    assert body["rejected"][0]["errors"][0]["field"] == "body"


async def test_all_rejected_is_422_with_the_same_body(gw: GatewayHarness) -> None:
    response = await gw.client.post("/v1/reads", json=[{"camera_id": "cam-1"}], headers=gw.auth())
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["rejected"][0]["errors"]}
    assert fields == {"captured_at", "plate"}
    assert await reads_on_topic(gw) == []


async def test_a_plate_too_long_as_sent_is_refused_alone(
    gw: GatewayHarness, make_read: MakeRead
) -> None:
    """A plate of 2 MB of dashes normalizes to a short one, but its record would pass what the
    broker takes, and the publish of the whole request would fail: refused by field instead."""
    long = make_read(plate="AB123" + "-" * 2_000_000)
    response = await gw.client.post("/v1/reads", json=[make_read(), long], headers=gw.auth())
    assert response.status_code == 202
    assert response.json()["accepted"] == 1
    errors = response.json()["rejected"][0]["errors"]
    assert [e["field"] for e in errors] == ["plate"]
    assert "64 characters" in errors[0]["message"]
    assert len(await reads_on_topic(gw)) == 1


async def test_resend_counts_duplicates_and_publishes_nothing(
    gw: GatewayHarness, make_read: MakeRead
) -> None:
    batch = [make_read(), make_read(), make_read(read_id=None, plate="XYZ1")]
    first = await gw.client.post("/v1/reads", json=batch, headers=gw.auth())
    again = await gw.client.post("/v1/reads", json=batch, headers=gw.auth())
    assert first.json()["accepted"] == 3
    assert again.status_code == 202
    assert again.json() == {"accepted": 0, "duplicates": 3, "rejected": []}
    assert len(await reads_on_topic(gw)) == 3


async def test_same_read_twice_in_one_batch_is_one_read(
    gw: GatewayHarness, make_read: MakeRead
) -> None:
    read = make_read()
    response = await gw.client.post("/v1/reads", json=[read, read], headers=gw.auth())
    assert response.json()["accepted"] == 1
    assert response.json()["duplicates"] == 1


async def test_concurrent_resends_publish_once(gw: GatewayHarness, make_read: MakeRead) -> None:
    batch = [make_read() for _ in range(50)]
    responses = await asyncio.gather(
        *(gw.client.post("/v1/reads", json=batch, headers=gw.auth()) for _ in range(4))
    )
    assert sum(r.json()["accepted"] for r in responses) == 50
    assert sum(r.json()["duplicates"] for r in responses) == 150
    assert len(await reads_on_topic(gw)) == 50


async def test_foreign_camera_is_403(gw: GatewayHarness, make_read: MakeRead) -> None:
    response = await gw.client.post(
        "/v1/reads", json=make_read(camera_id="cam-2"), headers=gw.auth()
    )
    assert response.status_code == 403
    assert response.json()["rejected"][0]["errors"][0]["field"] == "camera_id"


async def test_unregistered_camera_is_a_field_error(
    gw: GatewayHarness, make_read: MakeRead
) -> None:
    response = await gw.client.post(
        "/v1/reads", json=[make_read(camera_id="ghost"), make_read()], headers=gw.auth()
    )
    assert response.status_code == 202
    assert response.json()["rejected"][0]["errors"][0]["field"] == "camera_id"


@pytest.mark.parametrize("header", [
    pytest.param(None, id="missing"),
    pytest.param("Bearer nope", id="unknown-token"),
    pytest.param("Basic !!!", id="basic-not-base64"),
    # A header byte over 0x7f (Latin-1 to Starlette) was a ValueError: 500 and a logged crash.
    pytest.param(b"Basic \xe9t\xe9=", id="basic-not-ascii"),
    pytest.param(b"Bearer \xe9t\xe9", id="bearer-not-ascii"),
    pytest.param("Token abc", id="unknown-scheme"),
])  # fmt: skip
async def test_bad_credentials_are_401(
    gw: GatewayHarness, make_read: MakeRead, header: str | bytes | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = await gw.client.post("/v1/reads", json=make_read(), headers=headers)
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


async def test_basic_auth_with_integrator_id(gw: GatewayHarness, make_read: MakeRead) -> None:
    ok = await gw.client.post("/v1/reads", json=make_read(), headers=gw.basic("int-1", gw.token))
    wrong_user = await gw.client.post(
        "/v1/reads", json=make_read(), headers=gw.basic("int-2", gw.token)
    )
    assert ok.status_code == 202
    assert wrong_user.status_code == 401


@pytest.mark.parametrize(("body", "status"), [
    pytest.param(b"{not json", 400, id="malformed-json"),
    pytest.param(b"", 400, id="empty"),
    pytest.param(orjson.dumps([{}] * 1001), 413, id="over-1000-reads"),
])  # fmt: skip
async def test_bad_bodies(gw: GatewayHarness, body: bytes, status: int) -> None:
    response = await gw.client.post(
        "/v1/reads", content=body, headers={**gw.auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert response.json()["errors"][0]["field"] == "body"


async def test_body_over_limit_is_413() -> None:
    bus = local_bus()
    await bus.start()
    async with running_gateway(bus, max_body_bytes=2048) as gw:
        response = await gw.client.post(
            "/v1/reads", content=b"[" + b" " * 4096 + b"]", headers=gw.auth()
        )
        assert response.status_code == 413


async def test_rate_limit_is_429_with_retry_after(make_read: MakeRead) -> None:
    bus = local_bus()
    await bus.start()
    async with running_gateway(bus, rate_limit_burst=2, rate_limit_per_s=0.01) as gw:
        codes = [
            (await gw.client.post("/v1/reads", json=make_read(), headers=gw.auth()))
            for _ in range(3)
        ]
        assert [r.status_code for r in codes] == [202, 202, 429]
        assert int(codes[2].headers["Retry-After"]) >= 1


class FailingBus(LocalBus):
    """A bus whose reads topic cannot take records: Kafka down or too slow."""

    async def publish(
        self,
        messages: Sequence[Message],
        *,
        timeout_s: float,
        landed_late: LandedLate | None = None,
    ) -> None:
        if any(m.topic.endswith("reads.v1") for m in messages):
            raise BusUnavailable("broker down")
        await super().publish(messages, timeout_s=timeout_s)


async def test_unavailable_bus_is_503_and_nothing_counts(make_read: MakeRead) -> None:
    bus = FailingBus(None, Topics.from_prefix("anpr.").specs(CommonSettings()))
    await bus.start()
    async with running_gateway(bus) as gw:
        read = make_read()
        response = await gw.client.post("/v1/reads", json=read, headers=gw.auth())
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        # Nothing was remembered as accepted: once Kafka is back, the resend is accepted.
        gw.app.state.service.pipeline._bus = LocalBus(None, [])
        await gw.app.state.service.pipeline._bus.start()
        retry = await gw.client.post("/v1/reads", json=read, headers=gw.auth())
        assert retry.json()["accepted"] == 1


async def test_heartbeat(gw: GatewayHarness) -> None:
    ok = await gw.client.post(
        "/v1/heartbeats",
        headers=gw.auth(),
        json={"camera_id": "cam-1", "sent_at": "2026-11-21T07:00:00Z", "status": {"temp_c": 41}},
    )
    bad = await gw.client.post("/v1/heartbeats", headers=gw.auth(), json={"camera_id": "cam-1"})
    foreign = await gw.client.post(
        "/v1/heartbeats", headers=gw.auth(), json={"camera_id": "cam-2", "sent_at": 1}
    )
    assert ok.status_code == 202
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "sent_at"
    assert foreign.status_code == 403
    (beat,) = values(await read_topic(gw.bus, gw.topics.heartbeats, timeout_s=0.5))
    assert beat["status"] == {"temp_c": 41}
    assert beat["sent_at"] == "2026-11-21T07:00:00Z"


async def test_health_and_metrics(gw: GatewayHarness, make_read: MakeRead) -> None:
    await gw.client.post("/v1/reads", json=[make_read(), make_read(plate="")], headers=gw.auth())
    assert (await gw.client.get("/healthz")).status_code == 200
    assert (await gw.client.get("/readyz")).json()["status"] == "ready"
    text = (await gw.client.get("/metrics")).text
    assert 'anpr_gateway_reads_accepted_total{camera_id="cam-1",integrator_id="int-1"} 1.0' in text
    assert (
        'anpr_gateway_reads_rejected_total{camera_id="cam-1",integrator_id="int-1",'
        'reason="plate"} 1.0' in text
    )
    assert 'anpr_gateway_request_seconds_count{route="/v1/reads"} 1.0' in text


async def test_registry_not_loaded_is_503_not_401(gw: GatewayHarness, make_read: MakeRead) -> None:
    service = gw.app.state.service
    service.follower.caught_up.clear()
    try:
        response = await gw.client.post("/v1/reads", json=make_read(), headers=gw.auth())
    finally:
        service.follower.caught_up.set()
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.json()["errors"][0]["field"] == "registry"


async def test_a_resend_before_the_duplicate_memory_is_read_back_is_503_not_published(
    make_read: MakeRead,
) -> None:
    """A gateway restarted (or a new replica) answered reads as soon as the registry was
    loaded, while it was still reading back the keys of the reads published in the last
    `dedup_warm_s`: a camera resending the read whose answer it lost was published again
    (twice on the reads topic for one read_id). It now answers 503 until it has them."""
    bus = local_bus()
    await bus.start()
    try:
        async with running_gateway(bus) as first:
            read = make_read(read_id="lost-answer")
            assert (
                await first.client.post("/v1/reads", json=read, headers=first.auth())
            ).status_code == 202
        async with running_gateway(bus, register=False) as second:
            service = second.app.state.service
            service.peers.loop.caught_up.clear()  # as right after start, before the read-back
            try:
                early = await second.client.post("/v1/reads", json=read, headers=first.auth())
            finally:
                service.peers.loop.caught_up.set()
            late = await second.client.post("/v1/reads", json=read, headers=first.auth())
        assert early.status_code == 503
        assert early.headers["Retry-After"]
        assert early.json()["errors"][0]["field"] == "dedup"
        assert late.json() == {"accepted": 0, "duplicates": 1, "rejected": []}
        ids = [
            v["read_id"]
            for v in values(await read_topic(bus, Topics.from_prefix("anpr.").reads, timeout_s=0.5))
        ]
        assert ids == ["lost-answer"]
    finally:
        await bus.stop()


async def test_vendor_event_without_plate_does_not_reject_the_good_read(
    gw: GatewayHarness,
) -> None:
    sample = orjson.loads(
        (
            Path(__file__).parents[1] / "fixtures/vendor/openalpr_agent_alpr_results.json"
        ).read_bytes()
    )
    sample["epoch_time"] = now_ms() - 2000
    sample["results"][0]["plate"] = ""
    sample["results"][0]["candidates"] = []
    response = await gw.client.post(
        "/v1/ingest/openalpr?camera_id=cam-1",
        content=orjson.dumps(sample),
        headers={**gw.auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    reads = await reads_on_topic(gw)
    assert [r["plate"] for r in reads] == [sample["results"][1]["plate"]]


async def test_a_deleted_cameras_series_leave_metrics(
    gw: GatewayHarness, make_read: MakeRead
) -> None:
    """Every camera ever registered kept its series on every gateway replica: with cameras
    replaced over the years, /metrics grew without bound (the labels are "bounded by the
    registry" only while the registry's deletions are followed)."""
    service = gw.app.state.service
    await gw.client.post("/v1/reads", json=[make_read(), make_read(plate="")], headers=gw.auth())
    await gw.client.post("/v1/reads", json=make_read(read_id="r-dup"), headers=gw.auth())
    await gw.client.post("/v1/reads", json=make_read(read_id="r-dup"), headers=gw.auth())
    beat = {"camera_id": "cam-1", "sent_at": "2026-11-21T07:00:00Z"}
    assert (await gw.client.post("/v1/heartbeats", headers=gw.auth(), json=beat)).status_code == 202
    before = (await gw.client.get("/metrics")).text
    assert before.count('camera_id="cam-1"') >= 4
    version = service.registry.version
    await RegistryWriter(gw.bus, gw.topics.registry).delete_camera("cam-1")
    await until(lambda: service.registry.version > version)
    after = (await gw.client.get("/metrics")).text
    assert 'camera_id="cam-1"' not in after
    assert 'camera_id="cam-2"' not in after  # never used: no series either way
