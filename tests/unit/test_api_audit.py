"""The audit log over HTTP (auditor, admin) and the store underneath: append-only, paged,
filtered by time and actor; plus the store's idempotent hit inserts and keyset pages."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest

from anpr.auth import Principal, Role
from api.audit import Action
from api.hits.cursor import decode_hit_cursor, encode_hit_cursor
from api.store.base import (
    AckConflict,
    Acknowledgement,
    AuditEntry,
    HitFilter,
    NewHit,
    Outcome,
    PageKey,
)
from api.store.sqlite import SqliteStore
from tests.unit.api_fixtures import ApiHarness, running_api


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


async def audit(api: ApiHarness, role: str = "auditor", **params: Any) -> Any:
    return await api.client.get("/v1/audit", params=params, headers=api.auth(role))


async def test_audit_is_for_auditors_and_admins(api: ApiHarness) -> None:
    assert (await audit(api, "auditor")).status_code == 200
    assert (await audit(api, "admin")).status_code == 200
    for role in ("operator", "supervisor", "integrator"):
        assert (await audit(api, role)).status_code == 403
    assert (await api.client.get("/v1/audit")).status_code == 401


async def test_audit_filters_and_pages(api: ApiHarness) -> None:
    log = api.service.audit
    who = Principal(Role.OPERATOR, "pager-op", "h")
    for i in range(5):
        await log.record(who, Action.HITS_SEARCH, f"PLATE{i}", reason=f"case {i}")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"actor": "pager-op", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = (await audit(api, **params)).json()
        seen += [e["target"] for e in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [f"PLATE{i}" for i in reversed(range(5))]
    entry = (await audit(api, actor="pager-op", limit=1)).json()["items"][0]
    assert entry["reason"] == "case 4"
    assert entry["role"] == "operator"
    assert entry["at"].endswith("Z")
    none = (await audit(api, actor="pager-op", until="1970-01-02T00:00:00Z")).json()
    assert none["items"] == []
    since = (await audit(api, actor="pager-op", since="1970-01-02T00:00:00Z")).json()
    assert len(since["items"]) == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "soon"}, "since"),
        ({"cursor": "xyz"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_000}, "limit"),
        ({"actor": ""}, "actor"),
        ({"since": "99999999999999999999"}, "since"),
    ],
)
async def test_audit_query_errors(api: ApiHarness, params: dict[str, Any], field: str) -> None:
    response = await audit(api, **params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


async def test_audit_table_refuses_update_and_delete() -> None:
    store = SqliteStore(None)
    await store.open()
    await store.append_audit(AuditEntry(1, "a", "admin", "camera.create", "c", None, {}))
    for statement in ("UPDATE audit SET actor='x'", "DELETE FROM audit"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store.db.execute(statement)
    assert (
        len(await store.query_audit(since=None, until=None, actor=None, before_seq=None, limit=10))
        == 1
    )
    await store.close()


def _hit(hit_id: str, matched_at: int, covert: bool = False) -> NewHit:
    return NewHit(hit_id, matched_at, "cam", "list", "ABC", covert, matched_at, {"hit_id": hit_id})


async def test_store_inserts_idempotently_and_pages_by_key(tmp_path: Any) -> None:
    store = SqliteStore(tmp_path / "api.sqlite3")
    await store.open()
    first = await store.add_hits([_hit("h1", 10), _hit("h2", 20), _hit("h1", 10)])
    assert [h.hit_id for h in first] == ["h1", "h2"]
    again = await store.add_hits([_hit("h2", 20), _hit("h3", 20, covert=True)])
    assert [h.hit_id for h in again] == ["h3"]
    assert again[0].seq > first[1].seq > first[0].seq  # increasing (gaps allowed)
    flt = HitFilter(include_covert=True)
    page = await store.query_hits(flt, after=None, limit=2)
    assert [h.hit_id for h in page] == ["h3", "h2"]
    rest = await store.query_hits(flt, after=PageKey(20, "h2"), limit=2)
    assert [h.hit_id for h in rest] == ["h1"]
    assert [h.hit_id for h in await store.hits_after_seq(1, include_covert=False, limit=9)] == [
        "h2"
    ]
    ack = Acknowledgement(Outcome.CONFIRMED, None, "op", "operator", 5)
    assert (await store.acknowledge("h1", ack)) is not None
    with pytest.raises(AckConflict):
        await store.acknowledge("h1", ack)
    assert await store.acknowledge("nope", ack) is None
    store_id = store.store_id
    await store.close()
    reopened = SqliteStore(tmp_path / "api.sqlite3")
    await reopened.open()
    assert reopened.store_id == store_id
    assert (await reopened.count_hits(HitFilter())).acknowledged == 1
    removed = await reopened.purge(hits_before=15, activity_before=0)
    assert removed["hits"] == 1
    await reopened.close()


def test_hit_cursor_round_trip() -> None:
    key = PageKey(1_700_000_000_000, "h-abc")
    assert decode_hit_cursor(encode_hit_cursor(key)) == key
    assert decode_hit_cursor(None) is None
