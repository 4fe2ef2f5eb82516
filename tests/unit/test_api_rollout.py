"""`GET /v1/rollout` on the API (in-memory bus): the lifecycle learnt from what the API consumes,
stored, and reported; the manager role; the lifecycle store methods; and the gateway's contact
records (a refused request is a first contact, never a rejection of the camera)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from anpr.clock import now_ms
from api.store.base import LifecycleEvent, StoreUnavailable
from api.store.sqlite import SqliteStore
from tests.support import records
from tests.support.factories import recent_read, unique
from tests.support.gateway import read_topic, running_gateway, values
from tests.support.wait import until_async
from tests.unit.api_fixtures import ApiHarness, running_api


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


def kinds(api: ApiHarness, camera_id: str) -> list[str]:
    life = api.service.rollout.book.lives.get(camera_id)
    return [e.kind for e in life.events] if life else []


async def stored_kinds(api: ApiHarness, camera_id: str) -> list[str]:
    return [e.kind for e in await api.service.store.load_lifecycle() if e.camera_id == camera_id]


async def rollout(api: ApiHarness, role: str = "manager", **params: str) -> Any:
    return await api.client.get("/v1/rollout", params=params, headers=api.auth(role))


def stage_of(body: dict[str, Any], camera_id: str) -> str | None:
    for stuck in body["overall"]["stuck"]:
        if stuck["camera_id"] == camera_id:
            return str(stuck["stage"])
    return None


async def test_a_camera_walked_from_registration_to_live(api: ApiHarness) -> None:
    cam = unique("cam")
    await api.register_camera(cam, state="commissioning")
    await api.until(lambda: kinds(api, cam) == ["registered", "moved_commissioning"])
    # The gateway's contact record, its aggregate of a read, a heartbeat, as they arrive.
    at = now_ms()
    contact = {"v": 1, "kind": "contact", "camera_id": cam, "caller": "int-1", "at": at,
               "requests": 2, "refused": 0}  # fmt: skip
    await api.publish(api.topics.gateway_events, cam, contact)
    ((_, aggregate),) = records.read_aggregates([recent_read(camera_id=cam, received_at=at + 5)])
    await api.publish(api.topics.gateway_events, cam, aggregate)
    # Two topics are not consumed in a fixed order: the heartbeat comes once the read is seen.
    await api.until(lambda: "first_valid_read" in kinds(api, cam))
    await api.publish(
        api.topics.heartbeats, cam, records.heartbeat(camera_id=cam, received_at=at + 9)
    )
    await api.until(lambda: len(kinds(api, cam)) == 5)
    assert kinds(api, cam)[2:] == ["first_contact", "first_valid_read", "first_heartbeat"]
    life = api.service.rollout.book.lives[cam]
    assert [e.at for e in life.events[2:]] == [at, at + 5, at + 9]
    body = (await rollout(api)).json()
    in_reading = {s["stage"]: s["cameras"] for s in body["overall"]["stages"]}["reading"]
    assert in_reading >= 1
    # Moved to live by an administrator: the connection is complete this week.
    patched = await api.client.patch(
        f"/v1/cameras/{cam}", json={"state": "live"}, headers=api.auth()
    )
    assert patched.status_code == 200
    await api.until(lambda: kinds(api, cam)[-1] == "moved_live")
    body = (await rollout(api)).json()
    assert body["overall"]["weeks"][-1]["connected"] >= 1
    assert await stored_kinds(api, cam) == kinds(api, cam)  # stored, not only in memory
    # Deleting the camera forgets its lifecycle.
    await api.client.delete(f"/v1/cameras/{cam}", headers=api.auth())
    await api.service.refresh_rollout()
    assert await stored_kinds(api, cam) == []


async def test_formats_md_csv_html_and_metrics(api: ApiHarness) -> None:
    cam = unique("cam")
    await api.register_camera(cam, state="commissioning")
    await api.until(lambda: bool(kinds(api, cam)))
    md = await rollout(api, format="md")
    assert md.status_code == 200
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith("# Camera rollout, ")
    csv = await rollout(api, format="csv", table="stuck")
    assert csv.text.splitlines()[0] == "camera_id,integrator_id,stage,since,days,reason_code,reason"
    html = await rollout(api, format="html")
    assert html.text.startswith("<!DOCTYPE html>")
    bad = await rollout(api, format="pdf")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "format"
    metrics = (await api.client.get("/metrics")).text
    assert 'anpr_api_rollout_cameras{integrator="int-1",stage="registered"}' in metrics
    assert 'anpr_api_lifecycle_events_total{kind="registered"}' in metrics


@pytest.mark.parametrize("role", ["admin", "manager"])
async def test_admin_and_manager_read_the_report(api: ApiHarness, role: str) -> None:
    assert (await rollout(api, role)).status_code == 200


@pytest.mark.parametrize("role", ["operator", "supervisor", "auditor", "integrator"])
async def test_other_roles_may_not_read_the_report(api: ApiHarness, role: str) -> None:
    assert (await rollout(api, role)).status_code == 403


@pytest.mark.parametrize(
    "path", ["/v1/hits", "/v1/hits/stream", "/v1/cameras", "/v1/audit", "/v1/hotlists"]
)
async def test_a_manager_sees_no_plate_and_no_hit(api: ApiHarness, path: str) -> None:
    response = await api.client.get(path, headers=api.auth("manager"))
    assert response.status_code == 403


async def test_manager_tokens_are_created_by_an_admin(api: ApiHarness) -> None:
    created = await api.client.post(
        "/v1/tokens", json={"role": "manager", "name": "programme office"}, headers=api.auth()
    )
    assert created.status_code == 201
    token = created.json()["token"]
    ok = await api.client.get("/v1/rollout", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200


# -- the store ------------------------------------------------------------------------------------


async def test_store_keeps_first_events_once_and_forgets_cameras() -> None:
    store = SqliteStore(None)
    await store.open()
    try:
        first = [
            LifecycleEvent("c1", "registered", 10, {"integrator_id": "i"}),
            LifecycleEvent("c1", "first_contact", 20, {"caller": "i", "refused": False}),
            LifecycleEvent("c2", "registered", 15, {}),
        ]
        assert await store.add_lifecycle(first) == 3
        again = [
            LifecycleEvent("c1", "registered", 99, {}),  # once per camera: a later one ignored
            LifecycleEvent("c1", "first_contact", 12, {"caller": "i", "refused": True}),  # earlier
            LifecycleEvent("c1", "went_silent", 30, {}),
            LifecycleEvent("c1", "went_silent", 40, {}),  # repeatable kinds are kept
        ]
        assert await store.add_lifecycle(again) == 3
        loaded = await store.load_lifecycle()
        assert [(e.camera_id, e.kind, e.at) for e in loaded] == [
            ("c1", "registered", 10),
            ("c1", "first_contact", 12),
            ("c2", "registered", 15),
            ("c1", "went_silent", 30),
            ("c1", "went_silent", 40),
        ]
        assert loaded[1].detail == {"caller": "i", "refused": True}
        await store.forget_lifecycle(["c1"])
        assert [e.camera_id for e in await store.load_lifecycle()] == ["c2"]
    finally:
        await store.close()


# -- the gateway's side -----------------------------------------------------------------------


async def test_gateway_refusal_is_a_contact_counted_against_the_caller(api: ApiHarness) -> None:
    """int-2 pushes a read and a heartbeat for int-1's camera: both refused (403); the camera
    gets a first contact naming int-2, and no rejection that would degrade its health."""
    async with running_gateway(api.bus) as gw:
        read = recent_read(camera_id="cam-1")
        for key in ("v", "integrator_id", "captured_at_ms", "received_at", "plate_norm"):
            read.pop(key)
        refused = await gw.client.post("/v1/reads", json=read, headers=gw.auth(gw.other_token))
        assert refused.status_code == 403
        beat = {"camera_id": "cam-1", "sent_at": read["captured_at"]}
        refused_beat = await gw.client.post(
            "/v1/heartbeats", json=beat, headers=gw.auth(gw.other_token)
        )
        assert refused_beat.status_code == 403
        await gw.app.state.service.events.flush()
        records = values(await read_topic(gw.bus, gw.topics.gateway_events, timeout_s=1.0))
    mine = [r for r in records if r["camera_id"] == "cam-1"]
    assert [
        (r.get("kind"), r.get("caller"), r.get("requests"), r.get("refused")) for r in mine
    ] == [("contact", "int-2", 2, 2)]
    assert not any(r.get("rejected") for r in mine)
    await api.until(lambda: "first_contact" in kinds(api, "cam-1"))
    contact = api.service.rollout.book.lives["cam-1"].events[kinds(api, "cam-1").index(
        "first_contact")]  # fmt: skip
    assert contact.detail == {"caller": "int-2", "refused": True}


async def test_the_report_is_rendered_off_the_event_loop(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.rollout import routes

    threads: dict[str, str] = {}

    def recorded(name: str, render: Any) -> Any:
        def run(*args: Any) -> Any:
            threads[name] = threading.current_thread().name
            return render(*args)

        return run

    for name in ("to_json", "to_markdown", "to_csv", "to_html"):
        monkeypatch.setattr(routes, name, recorded(name, getattr(routes, name)))
    body = (await rollout(api)).json()
    assert "overall" in body and "integrators" in body
    for fmt in ("md", "csv", "html"):
        assert (await rollout(api, format=fmt)).status_code == 200
    loop_thread = threading.current_thread().name
    assert set(threads) == {"to_json", "to_markdown", "to_csv", "to_html"}
    assert loop_thread not in threads.values()


async def test_lifecycle_events_survive_a_store_write_that_failed(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    camera = unique("cam")
    await api.register_camera(camera, state="commissioning")
    await api.until(lambda: kinds(api, camera) == ["registered", "moved_commissioning"])
    store = api.service.store
    real = store.add_lifecycle
    failed: list[int] = []

    async def once_busy(events: Any) -> int:
        if not failed:
            failed.append(len(events))
            raise StoreUnavailable("the SQLite database is busy: database is locked")
        return await real(events)

    monkeypatch.setattr(store, "add_lifecycle", once_busy)
    at = now_ms()
    ((_, aggregate),) = records.read_aggregates([recent_read(camera_id=camera, received_at=at)])
    await api.publish(api.topics.gateway_events, camera, aggregate)
    await api.publish(
        api.topics.heartbeats, camera, records.heartbeat(camera_id=camera, received_at=at + 1)
    )
    await api.until(lambda: bool(failed), timeout_s=10)

    async def all_stored() -> bool:
        return sorted(await stored_kinds(api, camera)) == sorted(kinds(api, camera))

    await until_async(all_stored, timeout_s=15)
    assert {"first_contact", "first_heartbeat", "first_valid_read"} <= set(kinds(api, camera))


async def test_no_report_while_the_registry_is_loading(api: ApiHarness) -> None:
    # Half the registry replayed is half the cameras: the report would under-count every
    # stage without saying so. The bootstrap admin token is known before the registry is.
    follower = api.service.registry_follower
    follower.caught_up.clear()
    try:
        response = await rollout(api, role="bootstrap")
    finally:
        follower.caught_up.set()
    assert response.status_code == 503, response.text
    assert "Retry-After" in response.headers
    assert (await rollout(api, role="bootstrap")).status_code == 200
