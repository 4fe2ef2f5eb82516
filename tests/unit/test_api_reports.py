"""`GET /v1/reports/hits` over HTTP: counts and false-positive share per group, roles and covert
lists, test hits, time windows and zones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from anpr.clock import now_ms
from tests.support.factories import unique
from tests.unit.api_fixtures import ApiHarness, make_hit, running_api

DAY_MS = 24 * 3600 * 1000


@pytest.fixture
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


async def ack(api: ApiHarness, hit_id: str, outcome: str) -> None:
    response = await api.client.post(
        f"/v1/hits/{hit_id}/acknowledge", json={"outcome": outcome}, headers=api.auth("supervisor")
    )
    assert response.status_code == 200, response.text


async def report(api: ApiHarness, role: str = "supervisor", **params: Any) -> dict[str, Any]:
    response = await api.client.get("/v1/reports/hits", params=params, headers=api.auth(role))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_key(body: dict[str, Any]) -> dict[str, tuple[int, int, float | None]]:
    return {
        g["key"]: (g["hits"], g["acknowledged"], g["false_positive_share"]) for g in body["groups"]
    }


async def test_report_by_list_camera_outcome(api: ApiHarness) -> None:
    base = now_ms() - 3_600_000
    hits = [
        make_hit(list_id="stolen", camera_id="cam-a", matched_at=base + 1),
        make_hit(list_id="stolen", camera_id="cam-a", matched_at=base + 2),
        make_hit(list_id="stolen", camera_id="cam-b", matched_at=base + 3),
        make_hit(list_id="wanted", camera_id="cam-b", matched_at=base + 4),
        make_hit(list_id="secret-ops", camera_id="cam-b", covert=True, matched_at=base + 5),
        make_hit(list_id="stolen", camera_id="cam-new", test=True, matched_at=base + 6),
    ]
    await api.publish_hits(*hits)
    await ack(api, hits[0]["hit_id"], "false_positive")
    await ack(api, hits[1]["hit_id"], "confirmed")
    await ack(api, hits[2]["hit_id"], "false_positive")
    await ack(api, hits[4]["hit_id"], "dispatched")

    lists = await report(api, group_by="list", since=base)
    assert by_key(lists) == {
        "stolen": (3, 3, 2 / 3),
        "secret-ops": (1, 1, 0.0),
        "wanted": (1, 0, None),
    }, "supervisors see covert lists; the test hit is left out"
    assert [g["key"] for g in lists["groups"]] == ["stolen", "secret-ops", "wanted"]
    assert lists["total"]["hits"] == 5
    assert lists["total"]["false_positive_share"] == 0.5
    stolen = lists["groups"][0]
    assert stolen["outcomes"] == {
        "confirmed": 1, "false_positive": 2, "dispatched": 0, "no_action": 0
    }  # fmt: skip
    assert stolen["unacknowledged"] == 0

    cameras = await report(api, group_by="camera", since=base)
    assert by_key(cameras) == {"cam-a": (2, 2, 0.5), "cam-b": (3, 2, 0.5)}

    outcomes = await report(api, group_by="outcome", since=base)
    assert by_key(outcomes) == {
        "confirmed": (1, 1, 0.0),
        "false_positive": (2, 2, 1.0),
        "dispatched": (1, 1, 0.0),
        "unacknowledged": (1, 0, None),
    }

    with_tests = await report(api, group_by="camera", since=base, test="all")
    assert by_key(with_tests)["cam-new"] == (1, 0, None)
    only_tests = await report(api, group_by="list", since=base, test="true")
    assert by_key(only_tests) == {"stolen": (1, 0, None)}

    window = await report(api, group_by="list", since=base + 4, until=base + 5)
    assert by_key(window) == {"wanted": (1, 0, None)}


async def test_report_by_day_in_a_zone(api: ApiHarness) -> None:
    # 2026-03-01 22:30 UTC is 23:30 in Brussels; 23:30 UTC is 00:30 on 2 March there.
    late = int(datetime(2026, 3, 1, 22, 30, tzinfo=UTC).timestamp() * 1000)
    camera = unique("cam")
    hits = [
        make_hit(camera_id=camera, matched_at=late),
        make_hit(camera_id=camera, matched_at=late + 3_600_000),
    ]
    await api.publish_hits(*hits)
    await ack(api, hits[1]["hit_id"], "false_positive")
    window = {"since": late - DAY_MS, "until": late + DAY_MS}
    utc = await report(api, group_by="day", **window)
    assert by_key(utc) == {"2026-03-01": (2, 1, 1.0)}
    brussels = await report(api, group_by="day", timezone="Europe/Brussels", **window)
    assert by_key(brussels) == {"2026-03-01": (1, 0, None), "2026-03-02": (1, 1, 1.0)}
    assert brussels["timezone"] == "Europe/Brussels"


@pytest.mark.parametrize(
    ("case", "params", "field"),
    [
        ("no group_by", {}, "group_by"),
        ("unknown group_by", {"group_by": "plate"}, "group_by"),
        ("unknown zone", {"group_by": "day", "timezone": "Mars/Olympus"}, "timezone"),
        ("a path as zone", {"group_by": "day", "timezone": "../../etc/passwd"}, "timezone"),
        ("bad time", {"group_by": "list", "since": "last week"}, "since"),
        ("empty window", {"group_by": "list", "since": "2000", "until": "1000"}, "until"),
        ("bad test", {"group_by": "list", "test": "maybe"}, "test"),
    ],
)
async def test_bad_report_queries_name_the_field(
    api: ApiHarness, case: str, params: dict[str, str], field: str
) -> None:
    response = await api.client.get("/v1/reports/hits", params=params, headers=api.auth())
    assert response.status_code == 422, case
    assert field in {e["field"] for e in response.json()["errors"]}, response.text


async def test_operators_and_others_get_no_report(api: ApiHarness) -> None:
    await api.publish_hits(make_hit(list_id="secret-ops", covert=True))
    for role in ("operator", "auditor", "integrator"):
        response = await api.client.get(
            "/v1/reports/hits", params={"group_by": "list"}, headers=api.auth(role)
        )
        assert response.status_code == 403, role
        assert "secret-ops" not in response.text
    admin = await report(api, "admin", group_by="list")
    assert "secret-ops" in by_key(admin)
