"""Investigative search of the read archive over HTTP: who may search, the reason rule and its
audit trail, exact and OCR-tolerant plate search, newest first with keyset pages, one read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from anpr.clock import now_ms
from anpr.normalize import normalize_plate
from api.archive.records import decode_read
from tests.support.factories import recent_read
from tests.unit.api_fixtures import ApiHarness, running_api

REASON = "case 2026/0042 stolen van"


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        base = now_ms() - 3600_000
        reads = [
            recent_read(
                read_id=f"s-{i}",
                plate=plate,
                plate_norm=normalize_plate(plate),
                camera_id=camera,
                captured_at_ms=base + i * 1000,
            )
            for i, (plate, camera) in enumerate(
                [
                    ("1-ABC-123", "cam-1"),
                    ("IABC123", "cam-2"),
                    ("1-ABC-123", "cam-3"),
                    ("9XYZ999", "cam-1"),
                    ("1ABC1Z3", "cam-1"),
                    ("1-ABC-123", "cam-1"),
                ]
            )
        ]
        reads[5]["images"] = {"plate_url": "https://img.example/p5.jpg"}
        stored = await harness.service.reads.add_reads(
            [decode_read(orjson.dumps(r)) for r in reads]
        )
        assert stored == len(reads)
        yield harness


async def search(api: ApiHarness, role: str = "investigator", **params: Any) -> Any:
    params.setdefault("reason", REASON)
    return await api.client.get("/v1/reads", params=params, headers=api.auth(role))


async def audit_actions(api: ApiHarness, action: str) -> list[dict[str, Any]]:
    response = await api.client.get("/v1/audit", params={"limit": 500}, headers=api.auth("admin"))
    return [e for e in response.json()["items"] if e["action"] == action]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        pytest.param("investigator", 200, id="investigator"),
        pytest.param("supervisor", 200, id="supervisor"),
        pytest.param("admin", 200, id="admin"),
        pytest.param("operator", 403, id="operator"),
        pytest.param("auditor", 403, id="auditor"),
        pytest.param("integrator", 403, id="integrator"),
    ],
)
async def test_who_may_search(api: ApiHarness, role: str, status: int) -> None:
    assert (await search(api, role, plate="1ABC123")).status_code == status
    one = await api.client.get("/v1/reads/s-0", params={"reason": REASON}, headers=api.auth(role))
    assert one.status_code == status


async def test_no_token_is_401_and_investigators_may_do_nothing_else(api: ApiHarness) -> None:
    assert (
        await api.client.get("/v1/reads", params={"plate": "X1", "reason": REASON})
    ).status_code == 401
    for path in ("/v1/hits/counts", "/v1/cameras", "/v1/audit", "/v1/hotlists"):
        response = await api.client.get(path, headers=api.auth("investigator"))
        assert response.status_code == 403, path
    # Hits only by plate (contract section 2: tests/unit/test_api_hits.py).
    browse = await api.client.get("/v1/hits", headers=api.auth("investigator"))
    assert browse.status_code == 422
    assert [e["field"] for e in browse.json()["errors"]] == ["plate"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"plate": "1ABC123", "reason": None}, "reason", id="no-reason"),
        pytest.param({"plate": "1ABC123", "reason": "  abc  "}, "reason", id="short-reason"),
        pytest.param(
            {"plate": "1ABC123", "reason": "case\x00\x01\x02x"}, "reason", id="unprintable"
        ),
        pytest.param({}, "plate", id="neither-plate-nor-camera"),
        pytest.param({"plate": "--"}, "plate", id="empty-plate"),
        pytest.param({"camera_id": "cam-1", "match": "ocr"}, "match", id="ocr-needs-plate"),
        pytest.param({"plate": "1ABC123", "match": "fuzzy"}, "match", id="unknown-match"),
        pytest.param({"plate": "1ABC123", "cursor": "bm9wZQ"}, "cursor", id="foreign-cursor"),
        pytest.param({"plate": "1ABC123", "since": "2026-01-02"}, "since", id="no-offset"),
        pytest.param(
            {"plate": "1ABC123", "since": "2000", "until": "1000"}, "until", id="empty-range"
        ),
        pytest.param({"plate": "1ABC123", "limit": 100000}, "limit", id="limit"),
    ],
)
async def test_bad_searches_name_the_field_and_are_not_audited(
    api: ApiHarness, params: dict[str, Any], field: str
) -> None:
    before = len(await audit_actions(api, "reads.search"))
    query = {"reason": REASON, **params}
    if query["reason"] is None:
        del query["reason"]
    response = await api.client.get("/v1/reads", params=query, headers=api.auth("investigator"))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert len(await audit_actions(api, "reads.search")) == before


async def test_exact_search_newest_first_with_sightings(api: ApiHarness) -> None:
    response = await search(api, plate="1 abc 123")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["read_id"] for i in items] == ["s-5", "s-2", "s-0"]
    first = items[0]
    assert first["camera_id"] == "cam-1"
    assert first["plate"] == "1-ABC-123"
    assert first["confidence"] == 0.9
    assert first["images"] == {"plate_url": "https://img.example/p5.jpg"}
    assert first["captured_at"].endswith("Z")
    assert items[1]["images"] is None


async def test_ocr_search_and_filters(api: ApiHarness) -> None:
    ocr = await search(api, plate="1ABC123", match="ocr")
    assert [i["read_id"] for i in ocr.json()["items"]] == ["s-5", "s-4", "s-2", "s-1", "s-0"]
    on_camera = await search(api, plate="1ABC123", match="ocr", camera_id="cam-1")
    assert [i["read_id"] for i in on_camera.json()["items"]] == ["s-5", "s-4", "s-0"]
    by_camera = await search(api, camera_id="cam-3")
    assert [i["read_id"] for i in by_camera.json()["items"]] == ["s-2"]


async def test_keyset_pages_and_every_page_is_audited(api: ApiHarness) -> None:
    before = len(await audit_actions(api, "reads.search"))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"plate": "1ABC123", "match": "ocr", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = (await search(api, **params)).json()
        seen += [i["read_id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["s-5", "s-4", "s-2", "s-1", "s-0"]
    entries = await audit_actions(api, "reads.search")
    assert len(entries) == before + pages
    newest = entries[0]
    assert newest["reason"] == REASON
    assert newest["target"] == "1ABC123"
    assert newest["actor"] == "investigator-1"
    assert newest["detail"]["match"] == "ocr"
    assert newest["detail"]["first_page"] is False


async def test_one_read_needs_a_reason_and_is_audited(api: ApiHarness) -> None:
    no_reason = await api.client.get("/v1/reads/s-3", headers=api.auth("investigator"))
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    found = await api.client.get(
        "/v1/reads/s-3", params={"reason": REASON}, headers=api.auth("investigator")
    )
    assert found.status_code == 200
    assert found.json()["plate_norm"] == "9XYZ999"
    assert found.json()["read"]["read_id"] == "s-3"
    missing = await api.client.get(
        "/v1/reads/nope", params={"reason": REASON}, headers=api.auth("investigator")
    )
    assert missing.status_code == 404
    views = await audit_actions(api, "read.view")
    assert [v["target"] for v in views[:2]] == ["nope", "s-3"]
    assert all(v["reason"] == REASON for v in views)


async def test_a_read_id_two_cameras_share_is_never_answered_with_the_wrong_one(
    api: ApiHarness,
) -> None:
    at = now_ms() - 1800_000
    shared = [
        recent_read(read_id="evt-7", plate=plate, plate_norm=plate, camera_id=camera,
                    captured_at_ms=at)
        for plate, camera in (("1ABC123", "cam-1"), ("9XYZ999", "cam-2"))
    ]  # fmt: skip
    await api.service.reads.add_reads([decode_read(orjson.dumps(r)) for r in shared])
    headers = api.auth("investigator")
    both = await api.client.get("/v1/reads/evt-7", params={"reason": REASON}, headers=headers)
    assert both.status_code == 409, both.text
    assert both.json()["errors"][0]["field"] == "camera_id"
    assert "cam-1, cam-2" in both.json()["detail"]
    one = await api.client.get(
        "/v1/reads/evt-7", params={"reason": REASON, "camera_id": "cam-1"}, headers=headers
    )
    assert one.status_code == 200, one.text
    assert one.json()["plate_norm"] == "1ABC123"
    views = await audit_actions(api, "read.view")
    assert [v["target"] for v in views[:2]] == ["cam-1/evt-7", "evt-7"]
