"""Alerts over HTTP: one per vehicle within the list's window, the trail, acknowledgement of
the alert and its hits, covert alerts hidden from operators, replays, and the stream events."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from anpr.bus.base import Record
from anpr.clock import now_ms
from api.hits.ingest import decode_hit
from tests.support.factories import unique
from tests.unit.api_fixtures import ApiHarness, SseClient, make_hit, running_api


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


def plate() -> str:
    return unique("P").replace("-", "").upper()[:16]


async def alerts(api: ApiHarness, role: str = "operator", **params: Any) -> list[dict[str, Any]]:
    response = await api.client.get("/v1/alerts", params=params, headers=api.auth(role))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def alerts_of(api: ApiHarness, plate_norm: str, role: str = "operator") -> list[dict]:
    return [a for a in await alerts(api, role, limit=500) if a["plate_norm"] == plate_norm]


async def publish_placed(api: ApiHarness, *hits: dict[str, Any]) -> None:
    """Publish and wait until every hit is stored and placed in an alert."""
    await api.publish_hits(*hits)
    store: Any = api.service.store
    await api.until(
        lambda: all(
            store.db.execute(
                "SELECT 1 FROM alert_sightings WHERE hit_id=?", (h["hit_id"],)
            ).fetchone()
            for h in hits
        )
    )


async def put_list(api: ApiHarness, list_id: str, **config: Any) -> dict[str, Any]:
    body = {"name": list_id, "category": "stolen", "priority": 2, **config}
    response = await api.client.put(
        f"/v1/hotlists/{list_id}", json=body, headers=api.auth("supervisor")
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_one_vehicle_at_three_cameras_is_one_alert_with_a_trail(api: ApiHarness) -> None:
    p, t = plate(), now_ms()
    hits = [
        make_hit(plate=p, camera_id=cam, matched_at=t + i * 60_000)
        for i, cam in enumerate(["cam-a", "cam-b", "cam-c"])
    ]
    await publish_placed(api, *hits)
    found = await alerts_of(api, p)
    assert len(found) == 1
    alert = found[0]
    assert alert["sightings"] == 3
    assert alert["status"] == "new"
    assert alert["first_hit_id"] == hits[0]["hit_id"]
    assert alert["last_hit_id"] == hits[2]["hit_id"]
    assert alert["last_camera_id"] == "cam-c"
    response = await api.client.get(f"/v1/alerts/{alert['alert_id']}", headers=api.auth("operator"))
    assert response.status_code == 200
    detail = response.json()
    assert [s["camera_id"] for s in detail["trail"]] == ["cam-a", "cam-b", "cam-c"]
    assert [s["hit_id"] for s in detail["trail"]] == [h["hit_id"] for h in hits]
    assert [s["opened"] for s in detail["trail"]] == [True, False, False]
    assert detail["hit"]["hit_id"] == hits[2]["hit_id"]


async def test_a_gap_longer_than_the_window_opens_a_second_alert(api: ApiHarness) -> None:
    p, t = plate(), now_ms()
    first = make_hit(plate=p, matched_at=t)
    later = make_hit(plate=p, matched_at=t + 601_000)
    await publish_placed(api, first, later)
    assert [a["sightings"] for a in await alerts_of(api, p)] == [1, 1]


async def test_the_window_is_the_lists_setting(api: ApiHarness) -> None:
    list_id = unique("every")
    created = await put_list(api, list_id, group_window_s=0)
    assert created["group_window_s"] == 0
    # a configuration change that leaves the window out keeps it
    assert (await put_list(api, list_id, priority=1))["group_window_s"] == 0
    p, t = plate(), now_ms()
    await publish_placed(
        api,
        make_hit(plate=p, list_id=list_id, matched_at=t),
        make_hit(plate=p, list_id=list_id, matched_at=t + 1000),
    )
    assert [a["sightings"] for a in await alerts_of(api, p)] == [1, 1]
    default = await put_list(api, unique("dflt"))
    assert default["group_window_s"] == 600


async def test_bad_window_is_refused_naming_the_field(api: ApiHarness) -> None:
    response = await api.client.put(
        f"/v1/hotlists/{unique('bad')}",
        json={"name": "x", "category": "x", "priority": 2, "group_window_s": -1},
        headers=api.auth("supervisor"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "group_window_s"


async def test_acknowledging_an_alert_acknowledges_its_hits_once(api: ApiHarness) -> None:
    p, t = plate(), now_ms()
    hits = [make_hit(plate=p, camera_id=c, matched_at=t + i) for i, c in enumerate("xy")]
    await publish_placed(api, *hits)
    (alert,) = await alerts_of(api, p)
    url = f"/v1/alerts/{alert['alert_id']}/acknowledge"
    body = {"outcome": "confirmed", "note": "stopped by unit 12"}
    response = await api.client.post(url, json=body, headers=api.auth("operator"))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "acknowledged"
    assert response.json()["acknowledgement"]["by"] == "operator-1"
    for h in hits:
        got = (await api.client.get(f"/v1/hits/{h['hit_id']}", headers=api.auth())).json()
        assert got["status"] == "acknowledged"
        assert got["acknowledgement"]["outcome"] == "confirmed"
    again = await api.client.post(
        url, json={"outcome": "false_positive"}, headers=api.auth("supervisor")
    )
    assert again.status_code == 409
    assert again.json()["acknowledgement"]["by"] == "operator-1"
    assert "operator-1" in again.json()["detail"]
    # the next sighting, within the window, opens a new alert
    after = make_hit(plate=p, matched_at=t + 5000)
    await publish_placed(api, after)
    found = await alerts_of(api, p)
    assert [(a["status"], a["first_hit_id"]) for a in found] == [
        ("new", after["hit_id"]),
        ("acknowledged", hits[0]["hit_id"]),
    ]
    audit = (await api.client.get("/v1/audit", headers=api.auth("auditor"))).json()["items"]
    assert any(
        e["action"] == "alert.acknowledge" and e["target"] == alert["alert_id"] for e in audit
    )


async def test_a_hit_processed_twice_never_opens_a_second_alert(api: ApiHarness) -> None:
    p = plate()
    hit = make_hit(plate=p)
    await publish_placed(api, hit)
    await api.publish_hits(hit)
    sentinel = make_hit(plate=plate())
    await publish_placed(api, sentinel)  # consumed after the replay
    found = await alerts_of(api, p)
    assert [a["sightings"] for a in found] == [1]


async def test_covert_alerts_do_not_exist_for_operators(api: ApiHarness) -> None:
    p = plate()
    await publish_placed(api, make_hit(plate=p, covert=True))
    assert await alerts_of(api, p) == []
    (alert,) = await alerts_of(api, p, "supervisor")
    assert alert["covert"] is True
    for method, path in (
        ("GET", f"/v1/alerts/{alert['alert_id']}"),
        ("POST", f"/v1/alerts/{alert['alert_id']}/acknowledge"),
    ):
        response = await api.client.request(
            method, path, json={"outcome": "confirmed"}, headers=api.auth("operator")
        )
        assert response.status_code == 404


async def test_filters_and_roles(api: ApiHarness) -> None:
    p = plate()
    cam = unique("cam")
    await publish_placed(api, make_hit(plate=p, camera_id=cam, test=True))
    (alert,) = await alerts(api, camera_id=cam)
    assert alert["test"] is True and alert["plate_norm"] == p
    assert await alerts(api, camera_id=cam, test="false") == []
    assert await alerts(api, camera_id=cam, status="acknowledged") == []
    for role, status in (("auditor", 403), ("integrator", 403)):
        response = await api.client.get("/v1/alerts", headers=api.auth(role))
        assert response.status_code == status
    assert (await api.client.get("/v1/alerts")).status_code == 401
    bad = await api.client.get("/v1/alerts", params={"cursor": "nope"}, headers=api.auth())
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_paging_without_gaps(api: ApiHarness) -> None:
    cam, t = unique("cam"), now_ms()
    for i in range(5):
        await publish_placed(api, make_hit(plate=plate(), camera_id=cam, matched_at=t + i))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"camera_id": cam, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = (await api.client.get("/v1/alerts", params=params, headers=api.auth())).json()
        seen += [a["alert_id"] for a in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5


async def test_stream_sends_alert_then_sighting_events(api: ApiHarness) -> None:
    p, t = plate(), now_ms()
    first = make_hit(plate=p, camera_id="cam-a", matched_at=t)
    second = make_hit(plate=p, camera_id="cam-b", matched_at=t + 1000)
    headers = api.auth("operator")
    async with SseClient(api.app, "/v1/hits/stream", headers) as client:
        await client.next_event()  # retry advice
        await publish_placed(api, first)
        opened = await client.next_event()
        while opened.event is None:
            opened = await client.next_event()
        assert opened.event == "alert" and opened.id is None
        assert opened.json()["first_hit_id"] == first["hit_id"]
        assert (await client.next_event()).id == first["hit_id"]
        await publish_placed(api, second)
        joined = await client.next_event()
        while joined.event is None:
            joined = await client.next_event()
        assert joined.event == "sighting"
        assert joined.json()["alert"]["alert_id"] == opened.json()["alert_id"]
        assert joined.json()["alert"]["sightings"] == 2
        assert joined.json()["sighting"]["hit_id"] == second["hit_id"]
        assert (await client.next_event()).id == second["hit_id"]
    # resumed after the first hit: the sighting event comes again before its hit
    headers["Last-Event-ID"] = first["hit_id"]
    async with SseClient(api.app, "/v1/hits/stream", headers) as client:
        events = [await client.next_event() for _ in range(3)]
        assert [e.event for e in events[1:]] == ["sighting", "hit"]
        assert events[2].id == second["hit_id"]


async def test_retention_removes_old_alerts_with_their_hits(api: ApiHarness) -> None:
    p = plate()
    old = make_hit(plate=p, matched_at=now_ms() - api.service.settings.hit_retention_ms - 1)
    await publish_placed(api, old)
    assert len(await alerts_of(api, p)) == 1
    removed = await api.service.apply_retention()
    assert removed["alerts"] >= 1
    assert await alerts_of(api, p) == []
    store: Any = api.service.store
    row = store.db.execute(
        "SELECT 1 FROM alert_sightings WHERE hit_id=?", (old["hit_id"],)
    ).fetchone()
    assert row is None


async def test_the_window_comes_from_the_lists_configuration(api: ApiHarness) -> None:
    placer = api.service.alerts
    list_id = unique("w")
    await put_list(api, list_id, group_window_s=30)
    assert placer.window_ms(list_id) == 30_000
    assert placer.window_ms("no-such-list") == 600_000


async def test_a_hit_stored_but_not_placed_is_placed_when_consumed_again(api: ApiHarness) -> None:
    """As after a crash between storing a batch and placing it (offset not committed)."""
    p = plate()
    hit = make_hit(plate=p)
    record = Record(api.topics.hits, 0, 0, hit["hit_id"].encode(), orjson.dumps(hit), now_ms())
    stored = await api.service.store.add_hits([decode_hit(record)])
    assert len(stored) == 1
    assert await alerts_of(api, p) == []
    await publish_placed(api, hit)
    assert [a["first_hit_id"] for a in await alerts_of(api, p)] == [hit["hit_id"]]


async def test_sighting_events_name_the_camera_live_and_replayed(api: ApiHarness) -> None:
    camera = unique("cam")
    await api.register_camera(camera, name="South bridge", timezone="Europe/Brussels")
    p, t = plate(), now_ms()
    first = make_hit(plate=p, camera_id=camera, matched_at=t)
    second = make_hit(plate=p, camera_id=camera, matched_at=t + 1000)
    headers = api.auth("operator")
    async with SseClient(api.app, "/v1/hits/stream", headers) as client:
        await client.next_event()
        await publish_placed(api, first, second)
        sighting = await client.next_event()
        while sighting.event != "sighting":
            sighting = await client.next_event()
    live = sighting.json()["sighting"]
    assert (live["camera_name"], live["camera_timezone"]) == ("South bridge", "Europe/Brussels")
    headers["Last-Event-ID"] = first["hit_id"]
    async with SseClient(api.app, "/v1/hits/stream", headers) as client:
        replayed = await client.next_event()
        while replayed.event != "sighting":
            replayed = await client.next_event()
    assert replayed.json()["sighting"]["camera_name"] == "South bridge"


async def test_a_resume_does_not_replay_a_stored_hit_before_the_hub_has_it(
    api: ApiHarness,
) -> None:
    """On PostgreSQL a batch is stored, then placed in alerts, in two transactions. A stream
    resumed in between replayed the stored hit bare, and its alert event was lost for good
    (the hub's copy, with it, was then skipped as sent). Here: stored, not placed yet."""
    p, t = plate(), now_ms()
    first = make_hit(plate=p, matched_at=t)
    await publish_placed(api, first)
    later = make_hit(plate=unique("P"), matched_at=t + 1000)
    decoded = decode_hit(Record("hits", 0, 0, b"k", orjson.dumps(later), later["matched_at"]))
    await api.service.store.add_hits([decoded])  # stored; not placed, not published
    headers = {**api.auth("operator"), "Last-Event-ID": first["hit_id"]}
    async with SseClient(api.app, "/v1/hits/stream", headers) as client:
        await client.next_event()  # retry advice
        # A keep-alive comes once the replay is over and the stream waits for live hits.
        replayed = [await client.next_event(timeout_s=1.0)]
        while "keep-alive" not in replayed[-1].comments:
            replayed.append(await client.next_event(timeout_s=1.0))
        assert [e.event for e in replayed if e.event] == [], "nothing replayed bare"
        await api.service.alerts.store_and_place([decoded])
        await api.service.hit_ingest.publish_new()
        events = [await client.next_event()]
        while events[-1].event != "hit":
            events.append(await client.next_event())
    named = [e.event for e in events if e.event is not None]
    assert named == ["alert", "hit"] and events[-1].id == later["hit_id"]


async def test_an_alert_acknowledgement_audits_the_hits_it_acknowledged(api: ApiHarness) -> None:
    p, t = plate(), now_ms()
    hits = [make_hit(plate=p, camera_id=c, matched_at=t + i) for i, c in enumerate("xyz")]
    await publish_placed(api, *hits)
    (alert,) = await alerts_of(api, p)
    first = await api.client.post(
        f"/v1/hits/{hits[0]['hit_id']}/acknowledge",
        json={"outcome": "false_positive"},
        headers=api.auth("operator"),
    )
    assert first.status_code == 200, first.text
    response = await api.client.post(
        f"/v1/alerts/{alert['alert_id']}/acknowledge",
        json={"outcome": "dispatched"},
        headers=api.auth("supervisor"),
    )
    assert response.status_code == 200, response.text
    audit = (await api.client.get("/v1/audit", headers=api.auth("auditor"))).json()["items"]
    (entry,) = [e for e in audit if e["target"] == alert["alert_id"]]
    assert entry["detail"]["sightings"] == 3
    assert entry["detail"]["hits"] == 2  # the first hit was acknowledged on its own before
    assert entry["detail"]["hit_ids"] == sorted(h["hit_id"] for h in hits[1:])
    assert any(e["target"] == hits[0]["hit_id"] for e in audit)


async def test_acknowledging_each_hit_of_an_alert_closes_the_alert(api: ApiHarness) -> None:
    """A client of the hits API acknowledges hit by hit: the console must not keep showing the
    alert as new, and the vehicle's next sighting opens a new alert."""
    p, t = plate(), now_ms()
    hits = [make_hit(plate=p, camera_id=c, matched_at=t + i) for i, c in enumerate("xy")]
    await publish_placed(api, *hits)
    (alert,) = await alerts_of(api, p)
    for hit, outcome in zip(hits, ("confirmed", "dispatched"), strict=True):
        response = await api.client.post(
            f"/v1/hits/{hit['hit_id']}/acknowledge",
            json={"outcome": outcome, "note": f"{outcome} by radio"},
            headers=api.auth("operator"),
        )
        assert response.status_code == 200, response.text
    got = await api.client.get(f"/v1/alerts/{alert['alert_id']}", headers=api.auth())
    assert got.json()["status"] == "acknowledged"
    assert got.json()["acknowledgement"]["outcome"] == "dispatched"  # the last hit's
    assert got.json()["acknowledgement"]["note"] == "dispatched by radio"
    audit = (await api.client.get("/v1/audit", headers=api.auth("auditor"))).json()["items"]
    closing = {e["target"]: e["detail"] for e in audit if e["action"] == "hit.acknowledge"}
    assert "alert_closed" not in closing[hits[0]["hit_id"]]
    assert closing[hits[1]["hit_id"]]["alert_closed"] == alert["alert_id"]
    after = make_hit(plate=p, matched_at=t + 5000)
    await publish_placed(api, after)
    assert [a["status"] for a in await alerts_of(api, p)] == ["new", "acknowledged"]


async def test_a_past_read_joins_a_live_alert_but_never_becomes_its_latest_read(
    api: ApiHarness,
) -> None:
    """Past-read matching finds a read of yesterday now: it was a sighting then, not the
    vehicle's position now (its matched_at is when it was found)."""
    p, t = plate(), now_ms()
    live = make_hit(plate=p, camera_id="north-gate", matched_at=t)
    await publish_placed(api, live)
    past = make_hit(plate=p, camera_id="harbour-road", matched_at=t + 2000, historical=True)
    await publish_placed(api, past)
    (alert,) = await alerts_of(api, p)
    assert alert["sightings"] == 2
    assert (alert["last_camera_id"], alert["last_hit_id"]) == ("north-gate", live["hit_id"])
    assert alert["historical"] is False
    assert alert["last_seen_at"] == alert["opened_at"]  # the window was not extended


async def test_an_alert_of_past_reads_only_says_so(api: ApiHarness) -> None:
    p = plate()
    await publish_placed(api, make_hit(plate=p, historical=True))
    (alert,) = await alerts_of(api, p)
    assert alert["historical"] is True
    live = make_hit(plate=p, camera_id="north-gate", matched_at=now_ms() + 1000)
    await publish_placed(api, live)
    (alert,) = await alerts_of(api, p)
    assert (alert["historical"], alert["last_camera_id"]) == (False, "north-gate")


async def test_an_alert_acknowledgement_whose_audit_entry_fails_is_not_applied() -> None:
    """The alert, its hits and the audit entry are one write: when the entry cannot be
    written, neither the alert nor any of its hits is acknowledged."""
    async with running_api() as api:
        p, t = plate(), now_ms()
        hits = [make_hit(plate=p, camera_id=c, matched_at=t + i) for i, c in enumerate("xy")]
        await publish_placed(api, *hits)
        (alert,) = await alerts_of(api, p)
        store: Any = api.service.store
        store.db.execute(
            "CREATE TRIGGER audit_refused BEFORE INSERT ON audit"
            " BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
        )
        url = f"/v1/alerts/{alert['alert_id']}/acknowledge"
        with pytest.raises(sqlite3.IntegrityError):
            await api.client.post(url, json={"outcome": "confirmed"}, headers=api.auth("operator"))
        store.db.execute("DROP TRIGGER audit_refused")
        assert [a["status"] for a in await alerts_of(api, p)] == ["new"]
        for h in hits:
            got = await api.client.get(f"/v1/hits/{h['hit_id']}", headers=api.auth())
            assert got.json()["status"] == "new", "acknowledged without an audit entry"
        retried = await api.client.post(
            url, json={"outcome": "confirmed"}, headers=api.auth("operator")
        )
        assert retried.status_code == 200, retried.text
        audit = (await api.client.get("/v1/audit", headers=api.auth("auditor"))).json()["items"]
        (entry,) = [e for e in audit if e["target"] == alert["alert_id"]]
        assert entry["detail"]["hits"] == 2
