"""Webhook targets over HTTP (admin), and the delivery log fed from the deliveries topic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from anpr.clock import now_ms
from anpr.deliveries import DeliveryResult, encode_result
from anpr.webhooks import delivery_id
from tests.support.factories import unique
from tests.unit.api_fixtures import ApiHarness, running_api

SECRET = "a-receiver-chosen-secret-0123456789"


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api(webhook_allow_http_loopback=True) as harness:
        yield harness


async def make_list(api: ApiHarness, *, covert: bool = False) -> str:
    list_id = unique("list")
    response = await api.client.put(
        f"/v1/hotlists/{list_id}",
        json={"name": list_id, "category": "stolen", "priority": 2, "match": "exact",
              "covert": covert},
        headers=api.auth("supervisor"),
    )  # fmt: skip
    assert response.status_code in (200, 201), response.text
    return list_id


async def put(
    api: ApiHarness, list_id: str, target_id: str, role: str = "admin", **body: Any
) -> httpx.Response:
    return await api.client.put(
        f"/v1/hotlists/{list_id}/webhooks/{target_id}", json=body, headers=api.auth(role)
    )


async def test_create_shows_the_secret_once_then_only_a_hint(api: ApiHarness) -> None:
    list_id = await make_list(api)
    created = await put(api, list_id, "dispatch-1", url="https://dispatch.example/hook")
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["secret"]
    assert len(secret) >= 32, "a generated secret"
    assert body["secret_hint"] == "…" + secret[-4:]
    assert (body["min_priority"], body["covert_allowed"], body["include_test"]) == (5, False, False)
    assert api.service.registry.webhooks["dispatch-1"].secret == secret

    got = await api.client.get(f"/v1/hotlists/{list_id}/webhooks/dispatch-1", headers=api.auth())
    assert got.status_code == 200
    assert "secret" not in got.json()
    assert secret not in got.text
    listed = await api.client.get("/v1/notifications/targets", headers=api.auth())
    assert [t["target_id"] for t in listed.json()["items"]] == ["dispatch-1"]
    assert secret not in listed.text

    updated = await put(api, list_id, "dispatch-1", url="https://dispatch.example/v2",
                        min_priority=2, covert_allowed=True)  # fmt: skip
    assert updated.status_code == 200, updated.text
    assert "secret" not in updated.json()
    target = api.service.registry.webhooks["dispatch-1"]
    assert target.secret == secret, "an update without secret keeps it"
    assert (target.url, target.min_priority, target.covert_allowed) == (
        "https://dispatch.example/v2", 2, True)  # fmt: skip

    rotated = await put(api, list_id, "dispatch-1", url="https://dispatch.example/v2",
                        secret=SECRET)  # fmt: skip
    assert rotated.status_code == 200
    assert api.service.registry.webhooks["dispatch-1"].secret == SECRET

    audit = await api.client.get("/v1/audit", headers=api.auth("auditor"))
    entries = [e for e in audit.json()["items"] if e["target"] == "webhook/dispatch-1"]
    assert len(entries) == 3
    assert SECRET not in audit.text and secret not in audit.text

    gone = await api.client.delete(
        f"/v1/hotlists/{list_id}/webhooks/dispatch-1", headers=api.auth()
    )
    assert gone.status_code == 204
    assert "dispatch-1" not in api.service.registry.webhooks
    again = await api.client.get(f"/v1/hotlists/{list_id}/webhooks/dispatch-1", headers=api.auth())
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("case", "body", "field"),
    [
        ("http to a remote host", {"url": "http://dispatch.example/hook"}, "url"),
        ("not a url", {"url": "dispatch"}, "url"),
        ("a host name that cannot be sent", {"url": "https://\u2603.net/hook"}, "url"),
        ("short secret", {"url": "https://d.example/h", "secret": "short"}, "secret"),
        ("priority out of range", {"url": "https://d.example/h", "min_priority": 0},
         "min_priority"),
        ("unknown field", {"url": "https://d.example/h", "covert": True}, "covert"),
        ("no url", {}, "url"),
    ],
)  # fmt: skip
async def test_bad_targets_name_the_field(
    api: ApiHarness, case: str, body: dict[str, Any], field: str
) -> None:
    list_id = await make_list(api)
    response = await put(api, list_id, unique("t"), **body)
    assert response.status_code == 422, case
    assert field in {e["field"] for e in response.json()["errors"]}, response.text


async def test_http_loopback_only_when_the_setting_allows_it(api: ApiHarness) -> None:
    list_id = await make_list(api)
    allowed = await put(api, list_id, unique("t"), url="http://127.0.0.1:9/hook")
    assert allowed.status_code == 201, allowed.text
    async with running_api() as strict:
        other = await make_list(strict)
        refused = await put(strict, other, "t-local", url="http://127.0.0.1:9/hook")
        assert refused.status_code == 422
        assert "ANPR_WEBHOOK_ALLOW_HTTP_LOOPBACK" in refused.text


async def test_unknown_list_other_list_and_roles(api: ApiHarness) -> None:
    list_id, other = await make_list(api), await make_list(api)
    missing = await put(api, "no-such-list", "t-x", url="https://d.example/h")
    assert missing.status_code == 404
    target_id = unique("t")
    assert (await put(api, list_id, target_id, url="https://d.example/h")).status_code == 201
    clash = await put(api, other, target_id, url="https://d.example/h")
    assert clash.status_code == 409
    wrong_list = await api.client.get(f"/v1/hotlists/{other}/webhooks/{target_id}",
                                      headers=api.auth())  # fmt: skip
    assert wrong_list.status_code == 404
    for role in ("supervisor", "operator", "auditor"):
        denied = await put(api, list_id, unique("t"), role=role, url="https://d.example/h")
        assert denied.status_code == 403, role
        log = await api.client.get("/v1/notifications/deliveries", headers=api.auth(role))
        assert log.status_code == 403, role
    unauth = await api.client.get("/v1/notifications/deliveries")
    assert unauth.status_code == 401


def result(target_id: str, hit_id: str, **overrides: Any) -> DeliveryResult:
    now = now_ms()
    values: dict[str, Any] = {
        "delivery_id": delivery_id(hit_id, target_id),
        "hit_id": hit_id,
        "target_id": target_id,
        "list_id": "stolen",
        "covert": False,
        "outcome": "delivered",
        "attempts": 1,
        "status_code": 200,
        "error": None,
        "first_attempt_at": now - 100,
        "finished_at": now,
    }
    values.update(overrides)
    return DeliveryResult.model_validate(values)


async def publish_results(api: ApiHarness, *results: DeliveryResult) -> None:
    for r in results:
        await api.publish(api.topics.deliveries, r.delivery_id, encode_result(r))


async def deliveries(api: ApiHarness, **params: Any) -> dict[str, Any]:
    response = await api.client.get(
        "/v1/notifications/deliveries", params=params, headers=api.auth()
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_delivery_log_lists_outcomes_newest_first_with_filters_and_pages(
    api: ApiHarness,
) -> None:
    target = unique("t")
    results = [result(target, f"h-{i}") for i in range(5)]
    failed = result(target, "h-failed", outcome="failed", attempts=7, status_code=503,
                    error="HTTP 503")  # fmt: skip
    await publish_results(api, *results, failed)
    await api.until(lambda: _stored(api, failed.delivery_id), 5.0)
    page = await deliveries(api, target_id=target, limit=4)
    assert [d["hit_id"] for d in page["items"]] == ["h-failed", "h-4", "h-3", "h-2"]
    rest = await deliveries(api, target_id=target, limit=4, cursor=page["next_cursor"])
    assert [d["hit_id"] for d in rest["items"]] == ["h-1", "h-0"]
    assert rest["next_cursor"] is None
    only_failed = await deliveries(api, target_id=target, outcome="failed")
    (item,) = only_failed["items"]
    assert item == {**failed.model_dump(mode="json", exclude={"v"})}
    by_hit = await deliveries(api, hit_id="h-3", target_id=target)
    assert [d["delivery_id"] for d in by_hit["items"]] == [results[3].delivery_id]


async def test_a_later_outcome_of_the_same_delivery_replaces_the_earlier(api: ApiHarness) -> None:
    target = unique("t")
    first = result(target, "h-again", outcome="failed", attempts=3, finished_at=now_ms() - 50)
    second = result(target, "h-again", outcome="delivered", attempts=1)
    await publish_results(api, first, second)
    await api.until(lambda: _outcome(api, second.delivery_id) == "delivered", 5.0)
    items = (await deliveries(api, target_id=target))["items"]
    assert [(d["outcome"], d["attempts"]) for d in items] == [("delivered", 1)]
    # An older outcome arriving late (replayed) does not overwrite the newer one.
    await publish_results(api, first)
    await api.publish(api.topics.deliveries, "x", orjson.dumps({"not": "a result"}))
    marker = result(target, "h-marker")
    await publish_results(api, marker)
    await api.until(lambda: _stored(api, marker.delivery_id), 5.0)
    assert _outcome(api, second.delivery_id) == "delivered"


def _deliveries_consumed(api: ApiHarness) -> float:
    registry = api.service.metrics.registry
    value = registry.get_sample_value("anpr_api_records_consumed_total", {"topic": "deliveries"})
    return value or 0.0


async def test_a_covert_delivery_is_logged_but_not_counted_on_metrics(api: ApiHarness) -> None:
    # /metrics needs no token: a count that moved with a covert delivery would tell whoever
    # pushed a plate from a camera that it is on a covert list with a webhook target.
    target = unique("t")
    covert = result(target, "h-covert", list_id="nightjar", covert=True)
    overt = result(target, "h-overt")
    before = _deliveries_consumed(api)
    await publish_results(api, covert, overt)
    await api.until(lambda: _stored(api, overt.delivery_id), 5.0)
    assert _stored(api, covert.delivery_id)
    assert _deliveries_consumed(api) - before == 1


async def test_bad_delivery_queries(api: ApiHarness) -> None:
    for params in ({"outcome": "lost"}, {"limit": 0}, {"cursor": "nope"}, {"since": "yesterday"}):
        response = await api.client.get(
            "/v1/notifications/deliveries", params=params, headers=api.auth()
        )
        assert response.status_code == 422, params


def _row(api: ApiHarness, did: str) -> tuple[Any, ...] | None:
    db = api.service.store.db  # type: ignore[attr-defined]
    row: tuple[Any, ...] | None = db.execute(
        "SELECT outcome FROM deliveries WHERE delivery_id=?", (did,)
    ).fetchone()
    return row


def _stored(api: ApiHarness, did: str) -> bool:
    return _row(api, did) is not None


def _outcome(api: ApiHarness, did: str) -> str | None:
    row = _row(api, did)
    return None if row is None else str(row[0])
