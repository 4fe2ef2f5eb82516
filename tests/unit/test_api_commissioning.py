"""Commissioning over HTTP: test hits as operators see them, the commissioning report from reads,
heartbeats and gateway events (on a fake clock), roles, and going live with the verdict audited."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from anpr.bus.base import Message
from anpr.clock import now_ms
from tests.support import records
from tests.support.factories import recent_read, unique
from tests.unit.api_fixtures import ApiHarness, SseClient, make_hit, running_api

S = 1000
MIN = 60 * S
HOUR = 60 * MIN
CRITERIA = [
    "observation_window",
    "sample_size",
    "valid_reads",
    "clock_skew",
    "heartbeat_count",
    "heartbeat_gaps",
    "confidence_present",
    "confidence_median",
    "low_confidence",
    "images",
    "read_ids",
    "read_rate",
]


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


class FakeClock:
    def __init__(self, start: int) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now


@contextmanager
def fake_clock(api: ApiHarness) -> Iterator[FakeClock]:
    """The API's clock, moved by the test (it only ever moves forward)."""
    real = api.service.clock
    clock = FakeClock(now_ms())
    api.service.clock = clock
    try:
        yield clock
    finally:
        api.service.clock = real


async def feed(
    api: ApiHarness,
    camera_id: str,
    start: int,
    *,
    reads: int,
    every_s: int,
    heartbeats: bool = True,
    rejected: int = 0,
    **read_fields: Any,
) -> None:
    """`reads` reads from `start`, one every `every_s` s, a heartbeat every minute over the
    same span, and one gateway event with `rejected`; waits until the API has applied them."""
    messages = []
    span_s = reads * every_s
    batch = []
    for i in range(reads):
        at = start + i * every_s * S
        read = recent_read(camera_id=camera_id, captured_at_ms=at - 600, received_at=at)
        read.update(read_fields)
        batch.append(read)
    # As the gateway reports them: per-camera aggregates on the gateway-events topic.
    for cam, value in records.read_aggregates(batch):
        messages.append(Message(api.topics.gateway_events, cam.encode(), value))
    beats = range(0, span_s, 60) if heartbeats else range(0)
    for second in beats:
        beat = records.heartbeat(camera_id=camera_id, received_at=start + second * S)
        messages.append(Message(api.topics.heartbeats, camera_id.encode(), beat))
    if rejected:
        event = records.gateway_event(
            camera_id=camera_id,
            at=start,
            rejected=rejected,
            rejected_by_reason={"captured_at": rejected - 1, "country": 1},
        )
        messages.append(Message(api.topics.gateway_events, camera_id.encode(), event))
    await api.bus.publish(messages, timeout_s=2.0)

    def applied() -> bool:
        totals = api.service.health.monitor(camera_id).ledger.totals(api.service.clock(), 24)
        return (totals.reads, totals.heartbeats, totals.rejected) == (
            reads,
            len(beats),
            rejected,
        )

    await api.until(applied, timeout_s=5.0)


async def report(api: ApiHarness, camera_id: str, role: str = "operator", **params: Any) -> Any:
    response = await api.client.get(
        f"/v1/cameras/{camera_id}/commissioning", params=params, headers=api.auth(role)
    )
    assert response.status_code == 200, response.text
    return response.json()


def by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in body["criteria"]}


async def test_test_hits_are_marked_in_every_view_and_can_be_told_apart(api: ApiHarness) -> None:
    camera_id = unique("cam")
    await api.register_camera(camera_id, state="commissioning")
    test_hit = make_hit(camera_id=camera_id, test=True)
    live_hit = make_hit(camera_id=unique("cam"))
    async with SseClient(api.app, "/v1/hits/stream", api.auth("operator")) as stream:
        await stream.next_event()  # retry: advice
        await api.publish_hits(test_hit, live_hit)
        streamed = {e.id: e.json() for e in await stream.hits(2)}
    assert streamed[test_hit["hit_id"]]["test"] is True
    assert streamed[live_hit["hit_id"]]["test"] is False
    one = await api.client.get(f"/v1/hits/{test_hit['hit_id']}", headers=api.auth("operator"))
    assert one.json()["test"] is True
    listed = await api.client.get(
        "/v1/hits", params={"camera_id": camera_id}, headers=api.auth("operator")
    )
    assert [(h["hit_id"], h["test"]) for h in listed.json()["items"]] == [
        (test_hit["hit_id"], True)
    ]
    only_test = await api.client.get(
        "/v1/hits", params={"test": "true"}, headers=api.auth("operator")
    )
    only_live = await api.client.get(
        "/v1/hits", params={"test": "false"}, headers=api.auth("operator")
    )
    assert test_hit["hit_id"] in {h["hit_id"] for h in only_test.json()["items"]}
    assert all(h["test"] for h in only_test.json()["items"])
    assert live_hit["hit_id"] in {h["hit_id"] for h in only_live.json()["items"]}
    assert not any(h["test"] for h in only_live.json()["items"])
    # The hit schema documents the flag for client developers.
    schema = (await api.client.get("/openapi.json")).json()["components"]["schemas"]
    assert "commissioning" in schema["HitOut"]["properties"]["test"]["description"]


async def test_a_good_camera_passes_and_goes_live_with_its_verdict_audited(
    api: ApiHarness,
) -> None:
    camera_id = unique("cam")
    await api.register_camera(camera_id, state="commissioning", expected_reads_per_hour=120)
    with fake_clock(api) as clock:
        start = clock.now
        clock.now = start + 2 * HOUR
        await feed(api, camera_id, start, reads=240, every_s=30, confidence=0.9)
        body = await report(api, camera_id)
        assert body["verdict"] == "pass", body["summary"]
        assert body["camera_id"] == camera_id
        assert body["state"] == "commissioning"
        assert body["images_required"] is False
        assert body["counts"] == {
            "accepted": 240,
            "rejected": 0,
            "duplicates": 0,
            "heartbeats": 120,
        }
        assert body["window"]["hours"] == 2.0
        assert body["window"]["start"].endswith("Z")
        assert [c["id"] for c in body["criteria"]] == CRITERIA
        criteria = by_id(body)
        assert criteria["clock_skew"]["measured"] == 600
        assert criteria["clock_skew"]["threshold"] == {"min": None, "max": 5000}
        assert criteria["read_rate"]["measured"] == 120.0
        assert criteria["read_rate"]["threshold"] == {"min": 60.0, "max": 180.0}
        assert criteria["heartbeat_gaps"]["measured"] == pytest.approx(60, abs=1)
        assert criteria["images"]["status"] == "not_applicable"
        assert criteria["read_ids"]["evidence"]["own_read_id_share"] == 1.0
        for criterion in body["criteria"]:
            assert set(criterion) == {
                "id", "title", "status", "measured", "unit", "threshold", "samples", "detail",
                "evidence",
            }  # fmt: skip

        # A shorter look back covers whole hours: the current one only.
        recent = await report(api, camera_id, hours=1)
        assert recent["window"]["hours"] <= 1.0
        assert recent["counts"]["accepted"] <= 121

        # Images, when the deployment requires them, are judged: none were sent.
        strict = await report(api, camera_id, images_required="true")
        assert strict["verdict"] == "fail"
        assert by_id(strict)["images"]["status"] == "fail"

        patched = await api.client.patch(
            f"/v1/cameras/{camera_id}", json={"state": "live"}, headers=api.auth()
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["state"] == "live"
        audit = await api.client.get("/v1/audit", headers=api.auth("auditor"))
        entry = next(
            e
            for e in audit.json()["items"]
            if e["action"] == "camera.update" and e["target"] == camera_id
        )
        assert entry["detail"]["state"] == "live"
        assert entry["detail"]["commissioning_verdict"] == "pass"
        after = await report(api, camera_id, role="supervisor")
        assert after["state"] == "live"


async def test_a_new_camera_has_insufficient_data_then_fails_early_on_rejections(
    api: ApiHarness,
) -> None:
    camera_id = unique("cam")
    await api.register_camera(camera_id, state="commissioning", expected_reads_per_hour=120)
    empty = await report(api, camera_id)
    assert empty["verdict"] == "insufficient_data"
    assert empty["counts"]["accepted"] == 0
    assert by_id(empty)["sample_size"]["status"] == "insufficient_data"
    with fake_clock(api) as clock:
        start = clock.now
        clock.now = start + 20 * MIN
        await feed(api, camera_id, start, reads=120, every_s=10, rejected=60, confidence=0.2)
        body = await report(api, camera_id)
    criteria = by_id(body)
    assert body["verdict"] == "fail"
    assert criteria["observation_window"]["status"] == "insufficient_data"
    assert criteria["valid_reads"]["status"] == "fail"
    assert criteria["valid_reads"]["measured"] == round(120 / 180, 4)
    assert criteria["valid_reads"]["evidence"] == {
        "accepted": 120,
        "rejected": 60,
        "rejected.captured_at": 59,
        "rejected.country": 1,
    }
    assert criteria["confidence_median"]["status"] == "fail"
    assert criteria["low_confidence"]["measured"] == 1.0
    assert body["summary"].startswith("fails valid_reads")


async def test_going_live_early_is_possible_and_audited_as_such(api: ApiHarness) -> None:
    camera_id = unique("cam")
    await api.register_camera(camera_id, state="commissioning")
    patched = await api.client.patch(
        f"/v1/cameras/{camera_id}", json={"state": "live"}, headers=api.auth()
    )
    assert patched.status_code == 200
    audit = await api.client.get("/v1/audit", headers=api.auth("auditor"))
    entry = next(e for e in audit.json()["items"] if e["target"] == camera_id)
    assert entry["detail"]["commissioning_verdict"] == "insufficient_data"
    # Other changes do not carry a verdict.
    renamed = await api.client.patch(
        f"/v1/cameras/{camera_id}", json={"name": "renamed"}, headers=api.auth()
    )
    assert renamed.status_code == 200
    audit = await api.client.get("/v1/audit", headers=api.auth("auditor"))
    entry = next(e for e in audit.json()["items"] if e["target"] == camera_id)
    assert {k: v for k, v in entry["detail"].items() if k != "actor_token_id"} == {
        "name": "renamed"
    }


@pytest.mark.parametrize(
    ("role", "status"),
    [("operator", 200), ("supervisor", 200), ("admin", 200), ("auditor", 403), ("integrator", 403)],
)
async def test_report_roles(api: ApiHarness, role: str, status: int) -> None:
    camera_id = unique("cam")
    await api.register_camera(camera_id, state="commissioning")
    response = await api.client.get(
        f"/v1/cameras/{camera_id}/commissioning", headers=api.auth(role)
    )
    assert response.status_code == status


async def test_report_errors(api: ApiHarness) -> None:
    camera_id = unique("cam")
    await api.register_camera(camera_id, state="commissioning")
    path = f"/v1/cameras/{camera_id}/commissioning"
    assert (await api.client.get(path)).status_code == 401
    missing = await api.client.get("/v1/cameras/nope/commissioning", headers=api.auth("operator"))
    assert missing.status_code == 404
    for hours in ("0", "25", "x"):
        bad = await api.client.get(path, params={"hours": hours}, headers=api.auth("operator"))
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "hours"


async def test_a_camera_put_back_in_commissioning_is_judged_on_evidence_since_then(
    api: ApiHarness,
) -> None:
    # A live camera whose device is replaced goes back to commissioning (section 2, step 8):
    # the old device's evidence must not pass the new one.
    camera_id = unique("cam")
    await api.register_camera(camera_id, expected_reads_per_hour=120)
    with fake_clock(api) as clock:
        start = clock.now
        clock.now = start + 2 * HOUR
        await feed(api, camera_id, start, reads=240, every_s=30, confidence=0.9)
        assert (await report(api, camera_id))["verdict"] == "pass"
        patched = await api.client.patch(
            f"/v1/cameras/{camera_id}", json={"state": "commissioning"}, headers=api.auth()
        )
        assert patched.status_code == 200, patched.text
        again = await report(api, camera_id)
        assert again["state"] == "commissioning"
        assert again["verdict"] == "insufficient_data", again["summary"]
        assert again["counts"] == {"accepted": 0, "rejected": 0, "duplicates": 0, "heartbeats": 0}
        assert by_id(again)["clock_skew"]["samples"] == 0
        # The new device's own evidence, and only it, passes it again.
        restart = clock.now
        clock.now = restart + 2 * HOUR
        await feed(api, camera_id, restart, reads=240, every_s=30, confidence=0.9)
        renewed = await report(api, camera_id)
        assert renewed["verdict"] == "pass", renewed["summary"]
        assert renewed["counts"]["accepted"] == 240
