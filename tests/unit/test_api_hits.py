"""Hits over HTTP: consumed from the hits topic, queried newest first with keyset pages, covert
hits hidden from operators, plate searches audited, acknowledgements once, retention."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest

from anpr.clock import now_ms
from anpr.deliveries import DeliveryResult, encode_result
from anpr.webhooks import delivery_id
from tests.support.factories import unique
from tests.support.wait import until_async
from tests.unit.api_fixtures import ApiHarness, make_hit, running_api


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


async def query(api: ApiHarness, role: str = "operator", **params: Any) -> dict[str, Any]:
    response = await api.client.get("/v1/hits", params=params, headers=api.auth(role))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_hits_are_listed_newest_first_and_paged_without_gaps(api: ApiHarness) -> None:
    camera = unique("cam")
    base = now_ms() - 60_000
    hits = [make_hit(camera_id=camera, matched_at=base + i * 10) for i in range(7)]
    hits.append(make_hit(camera_id=camera, matched_at=base + 60))  # same matched_at as hits[6]
    await api.publish_hits(*hits)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"camera_id": camera, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await query(api, **params)
        seen += [h["hit_id"] for h in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(h["hit_id"] for h in hits)
    assert len(seen) == len(set(seen))
    expected = sorted(hits, key=lambda h: (h["matched_at"], h["hit_id"]), reverse=True)
    assert seen == [h["hit_id"] for h in expected]


async def test_hit_shape_status_and_test_flag(api: ApiHarness) -> None:
    camera = unique("cam")
    hit = make_hit(camera_id=camera, test=True)
    await api.publish_hits(hit)
    (item,) = (await query(api, camera_id=camera))["items"]
    assert item["hit_id"] == hit["hit_id"]
    assert item["test"] is True
    assert item["status"] == "new"
    assert item["acknowledgement"] is None
    assert item["read"]["plate_norm"] == "1ABC123"
    assert item["match"]["kind"] == "exact"
    assert item["latency_ms"] == {"ingest_to_match": 12, "capture_to_match": 2500}


async def test_filters_by_time_list_and_status(api: ApiHarness) -> None:
    camera = unique("cam")
    base = now_ms() - 3_600_000
    old = make_hit(camera_id=camera, matched_at=base, list_id="a")
    mid = make_hit(camera_id=camera, matched_at=base + 1000, list_id="b")
    new = make_hit(camera_id=camera, matched_at=base + 2000, list_id="a")
    await api.publish_hits(old, mid, new)
    window = await query(api, camera_id=camera, since=base + 1000, until=base + 2000)
    assert [h["hit_id"] for h in window["items"]] == [mid["hit_id"]]
    rfc = await query(api, camera_id=camera, since="1970-01-01T00:00:00Z")
    assert len(rfc["items"]) == 3
    by_list = await query(api, camera_id=camera, list_id="a")
    assert [h["hit_id"] for h in by_list["items"]] == [new["hit_id"], old["hit_id"]]
    ack = await api.client.post(
        f"/v1/hits/{old['hit_id']}/acknowledge",
        json={"outcome": "no_action"},
        headers=api.auth("operator"),
    )
    assert ack.status_code == 200
    fresh = await query(api, camera_id=camera, status="new")
    assert {h["hit_id"] for h in fresh["items"]} == {mid["hit_id"], new["hit_id"]}
    done = await query(api, camera_id=camera, status="acknowledged")
    assert [h["hit_id"] for h in done["items"]] == [old["hit_id"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-01-01T00:00:00"}, "until"),
        ({"since": "2000", "until": "1000"}, "until"),
        ({"limit": 0}, "limit"),
        ({"limit": 100000}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "closed"}, "status"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"cursor": "WyJoMSIsIngiLDFd"}, "cursor"),
        ({"plate": "AB123"}, "reason"),
        ({"plate": "AB123", "reason": "  "}, "reason"),
        ({"plate": "--", "reason": "case 12"}, "plate"),
        ({"camera_id": ""}, "camera_id"),
    ],
)
async def test_bad_query_parameters_are_422_naming_the_field(
    api: ApiHarness, params: dict[str, Any], field: str
) -> None:
    response = await api.client.get("/v1/hits", params=params, headers=api.auth("operator"))
    assert response.status_code == 422
    body = response.json()
    assert field in {e["field"] for e in body["errors"]}
    assert body["detail"]


async def test_plate_search_needs_reason_and_is_audited(api: ApiHarness) -> None:
    plate = "7XYZ" + unique("p").split("-u")[1].zfill(3)
    hit = make_hit(plate=plate, camera_id=unique("cam"))
    await api.publish_hits(hit, make_hit(camera_id=hit["read"]["camera_id"]))
    found = await query(api, plate=f"7-xyz-{plate[4:]}", reason="case 2024/117")
    assert [h["hit_id"] for h in found["items"]] == [hit["hit_id"]]
    audit = await api.client.get(
        "/v1/audit", params={"actor": "operator-1"}, headers=api.auth("auditor")
    )
    entry = next(e for e in audit.json()["items"] if e["target"] == plate)
    assert entry["action"] == "hits.search"
    assert entry["reason"] == "case 2024/117"
    assert entry["role"] == "operator"


async def test_an_investigator_searches_hits_by_plate_with_a_reason_and_does_nothing_else(
    api: ApiHarness,
) -> None:
    """Contract section 2: an investigator may "search archived reads and hits by plate,
    always with a reason that is audited; nothing else". Never a covert hit."""
    plate = "8INV" + unique("p").split("-u")[1].zfill(3)
    camera = unique("cam")
    overt = make_hit(plate=plate, camera_id=camera)
    covert = make_hit(plate=plate, camera_id=camera, covert=True, list_id="watch")
    await api.publish_hits(overt, covert)
    found = await query(api, "investigator", plate=plate, reason="case 2026/88")
    assert [h["hit_id"] for h in found["items"]] == [overt["hit_id"]]
    audit = await api.client.get("/v1/audit", headers=api.auth("auditor"))
    entry = next(e for e in audit.json()["items"] if e["target"] == plate)
    assert (entry["action"], entry["role"], entry["reason"]) == (
        "hits.search",
        "investigator",
        "case 2026/88",
    )
    for params, field in (({"plate": plate}, "reason"), ({"camera_id": camera}, "plate")):
        refused = await api.client.get("/v1/hits", params=params, headers=api.auth("investigator"))
        assert refused.status_code == 422
        assert field in {e["field"] for e in refused.json()["errors"]}
    for path in (f"/v1/hits/{overt['hit_id']}", "/v1/hits/counts", "/v1/hits/stream"):
        response = await api.client.get(path, headers=api.auth("investigator"))
        assert response.status_code == 403, path


async def test_covert_hits_are_invisible_to_operators(api: ApiHarness) -> None:
    camera = unique("cam")
    overt = make_hit(camera_id=camera)
    covert = make_hit(camera_id=camera, covert=True, list_id="watch")
    await api.publish_hits(overt, covert)
    as_operator = await query(api, "operator", camera_id=camera)
    assert [h["hit_id"] for h in as_operator["items"]] == [overt["hit_id"]]
    for role in ("supervisor", "admin"):
        body = await query(api, role, camera_id=camera)
        assert {h["hit_id"] for h in body["items"]} == {overt["hit_id"], covert["hit_id"]}
    hidden = await api.client.get(f"/v1/hits/{covert['hit_id']}", headers=api.auth("operator"))
    assert hidden.status_code == 404
    shown = await api.client.get(f"/v1/hits/{covert['hit_id']}", headers=api.auth("supervisor"))
    assert shown.status_code == 200
    assert shown.json()["covert"] is True
    ack = await api.client.post(
        f"/v1/hits/{covert['hit_id']}/acknowledge",
        json={"outcome": "confirmed"},
        headers=api.auth("operator"),
    )
    assert ack.status_code == 404
    counts = await api.client.get(
        "/v1/hits/counts", params={"camera_id": camera}, headers=api.auth("operator")
    )
    assert counts.json() == {"total": 1, "new": 1, "acknowledged": 0}
    counts = await api.client.get(
        "/v1/hits/counts", params={"camera_id": camera}, headers=api.auth("supervisor")
    )
    assert counts.json() == {"total": 2, "new": 2, "acknowledged": 0}


async def test_counts_take_test_as_the_hit_list_does(api: ApiHarness) -> None:
    """A commissioning camera's test hits were counted with the live ones, whatever was asked:
    a count of a shift's alarms included the cameras being tested."""
    camera = unique("cam")
    await api.publish_hits(make_hit(camera_id=camera), make_hit(camera_id=camera, test=True))

    async def counted(**params: str) -> object:
        got = await api.client.get(
            "/v1/hits/counts", params={"camera_id": camera, **params}, headers=api.auth()
        )
        assert got.status_code == 200, got.text
        return got.json()["total"]

    assert (await counted(), await counted(test="false"), await counted(test="true")) == (2, 1, 1)


async def test_get_hit_and_its_errors(api: ApiHarness) -> None:
    hit = make_hit(camera_id=unique("cam"))
    await api.publish_hits(hit)
    got = await api.client.get(f"/v1/hits/{hit['hit_id']}", headers=api.auth("operator"))
    assert got.status_code == 200
    assert got.json()["hit_id"] == hit["hit_id"]
    assert (await api.client.get("/v1/hits/h-nope", headers=api.auth())).status_code == 404
    long_id = "x" * 300
    assert (await api.client.get(f"/v1/hits/{long_id}", headers=api.auth())).status_code == 404
    assert (await api.client.get(f"/v1/hits/{hit['hit_id']}")).status_code == 401
    forbidden = await api.client.get(f"/v1/hits/{hit['hit_id']}", headers=api.auth("auditor"))
    assert forbidden.status_code == 403


async def test_acknowledge_once_with_operator_from_token_and_audit(api: ApiHarness) -> None:
    # An entry of its own: the hit is alone in its alert whatever other tests stored (its
    # acknowledgement then closes the alert; with another test's hits in it, it did not).
    hit = make_hit(camera_id=unique("cam"), entry_id=unique("e"))
    await api.publish_hits(hit)
    url = f"/v1/hits/{hit['hit_id']}/acknowledge"
    response = await api.client.post(
        url,
        json={"outcome": "dispatched", "note": "unit 12 sent", "by": "someone-else"},
        headers=api.auth("operator"),
    )
    assert response.status_code == 422  # unknown fields are refused: `by` comes from the token
    response = await api.client.post(
        url, json={"outcome": "dispatched", "note": "unit 12 sent"}, headers=api.auth("operator")
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledgement"]["by"] == "operator-1"
    assert body["acknowledgement"]["role"] == "operator"
    assert body["acknowledgement"]["outcome"] == "dispatched"
    assert body["acknowledgement"]["note"] == "unit 12 sent"
    again = await api.client.post(url, json={"outcome": "confirmed"}, headers=api.auth("admin"))
    assert again.status_code == 409
    assert "operator-1" in again.json()["detail"]
    audit = await api.client.get("/v1/audit", headers=api.auth("auditor"))
    entry = next(e for e in audit.json()["items"] if e["target"] == hit["hit_id"])
    assert entry["action"] == "hit.acknowledge"
    assert entry["actor"] == "operator-1"
    assert entry["reason"] == "unit 12 sent"
    assert entry["detail"] == {
        "outcome": "dispatched",
        "actor_token_id": entry["detail"]["actor_token_id"],  # issue 11: the token's id
        "alert_closed": entry["detail"]["alert_closed"],  # its only hit: the alert is done
    }
    assert len(entry["detail"]["actor_token_id"]) == 16
    assert entry["detail"]["alert_closed"].startswith("al-")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "outcome"),
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": "confirmed", "note": 5}, "note"),
        # PostgreSQL cannot store a NUL in text: refused here, not answered 500 by the store.
        ({"outcome": "confirmed", "note": "unit 12\u0000 sent"}, "note"),
    ],
)
async def test_acknowledge_validation(api: ApiHarness, body: dict[str, Any], field: str) -> None:
    hit = make_hit(camera_id=unique("cam"))
    await api.publish_hits(hit)
    response = await api.client.post(
        f"/v1/hits/{hit['hit_id']}/acknowledge", json=body, headers=api.auth("operator")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


async def test_acknowledge_unknown_hit_and_roles(api: ApiHarness) -> None:
    response = await api.client.post(
        "/v1/hits/h-unknown/acknowledge", json={"outcome": "confirmed"}, headers=api.auth()
    )
    assert response.status_code == 404
    hit = make_hit(camera_id=unique("cam"))
    await api.publish_hits(hit)
    for role in ("auditor", "integrator"):
        response = await api.client.post(
            f"/v1/hits/{hit['hit_id']}/acknowledge",
            json={"outcome": "confirmed"},
            headers=api.auth(role),
        )
        assert response.status_code == 403
    assert (await api.client.get("/v1/hits", headers=api.auth("auditor"))).status_code == 403
    assert (await api.client.get("/v1/hits")).status_code == 401


async def test_replayed_and_malformed_records_are_harmless(api: ApiHarness) -> None:
    camera = unique("cam")
    hit = make_hit(camera_id=camera)
    await api.publish_hits(hit)
    await api.publish_hits(hit)  # the matcher processed the read twice: same hit_id
    await api.publish(api.topics.hits, "junk", b"{not json")
    await api.publish(api.topics.hits, "partial", {"v": 1, "hit_id": "h-partial"})
    await api.publish(api.topics.hits, "tomb", None)
    marker = make_hit(camera_id=camera)
    await api.publish_hits(marker)
    body = await query(api, camera_id=camera)
    assert sorted(h["hit_id"] for h in body["items"]) == sorted([hit["hit_id"], marker["hit_id"]])
    # The loop counts a batch's poison once the batch is handled, a moment after its hits are
    # queryable: wait for the count (a replay would make it 6, never 3).
    want = f'anpr_invalid_records_total{{process="api",topic="{api.topics.hits}"}} 3.0'

    async def counted() -> bool:
        return want in (await api.client.get("/metrics")).text

    await until_async(counted)


async def test_retention_removes_old_hits(api: ApiHarness) -> None:
    camera = unique("cam")
    old = make_hit(
        camera_id=camera, matched_at=now_ms() - api.service.settings.hit_retention_ms - 1
    )
    young = make_hit(camera_id=camera)
    await api.publish_hits(old, young)
    removed = await api.service.apply_retention()
    assert removed["hits"] >= 1
    body = await query(api, camera_id=camera)
    assert [h["hit_id"] for h in body["items"]] == [young["hit_id"]]


def _retention_deleted(api: ApiHarness, table: str) -> float:
    registry = api.service.metrics.registry
    value = registry.get_sample_value("anpr_api_retention_deleted_total", {"table": table})
    return value or 0.0


def _old_delivery(hit: dict[str, Any], at: int) -> DeliveryResult:
    return DeliveryResult(
        delivery_id=delivery_id(hit["hit_id"], "t-1"),
        hit_id=hit["hit_id"],
        target_id="t-1",
        list_id=hit["list_id"],
        covert=hit["covert"],
        outcome="delivered",  # type: ignore[arg-type]
        attempts=1,
        first_attempt_at=at,
        finished_at=at,
    )


async def test_retention_counts_no_covert_row_on_metrics() -> None:
    """/metrics needs no token: rows of covert hits, alerts and deliveries removed by retention
    are not counted, or the count would give the covert hits of a day by difference with the
    hits an operator is shown for it."""
    async with running_api() as api:
        old = now_ms() - api.service.settings.hit_retention_ms - 1
        overt = make_hit(plate="OV123", matched_at=old)
        covert = make_hit(plate="CV123", list_id="nightjar", covert=True, matched_at=old)
        await api.publish_hits(overt, covert)
        for hit in (overt, covert):
            result = _old_delivery(hit, old)
            await api.publish(api.topics.deliveries, result.delivery_id, encode_result(result))
        store: Any = api.service.store

        def rows(table: str) -> int:
            count: int = store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            return count

        await api.until(lambda: rows("deliveries") == 2 and rows("alerts") == 2)
        await api.service.apply_retention()
        assert [rows(t) for t in ("hits", "alerts", "deliveries")] == [0, 0, 0]
        assert {t: _retention_deleted(api, t) for t in ("hits", "alerts", "deliveries")} == {
            "hits": 1,
            "alerts": 1,
            "deliveries": 1,
        }


async def test_an_acknowledgement_whose_audit_entry_fails_is_not_applied() -> None:
    """An acknowledgement and its audit entry are one write: when the entry cannot be
    written, the hit stays new (the operator retries), never acknowledged without a trace."""
    async with running_api() as api:
        hit = make_hit(camera_id=unique("cam"))
        await api.publish_hits(hit)
        store: Any = api.service.store
        store.db.execute(
            "CREATE TRIGGER audit_refused BEFORE INSERT ON audit"
            " BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
        )
        url = f"/v1/hits/{hit['hit_id']}/acknowledge"
        with pytest.raises(sqlite3.IntegrityError):
            await api.client.post(url, json={"outcome": "confirmed"}, headers=api.auth("operator"))
        store.db.execute("DROP TRIGGER audit_refused")
        got = await api.client.get(f"/v1/hits/{hit['hit_id']}", headers=api.auth("operator"))
        assert got.json()["status"] == "new", "acknowledged without an audit entry"
        retried = await api.client.post(
            url, json={"outcome": "confirmed"}, headers=api.auth("operator")
        )
        assert retried.status_code == 200, retried.text
        audit = (await api.client.get("/v1/audit", headers=api.auth("auditor"))).json()["items"]
        assert [e["action"] for e in audit if e["target"] == hit["hit_id"]] == ["hit.acknowledge"]
