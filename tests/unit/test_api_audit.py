"""The audit log over HTTP (auditor, admin): paged, filtered by time and actor. The store
underneath (append-only, idempotent hit inserts, keyset pages) is covered for both backends by
tests/integration/test_store_contract.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from anpr.auth import Principal, Role, hash_token
from api.audit.log import BOOTSTRAP_TOKEN_ID, Action
from api.query import decode_hit_cursor, encode_hit_cursor
from api.store.base import (
    PageKey,
)
from tests.unit.api_fixtures import ADMIN_TOKEN, ApiHarness, running_api


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


def test_hit_cursor_round_trip() -> None:
    key = PageKey(1_700_000_000_000, "h-abc")
    assert decode_hit_cursor(encode_hit_cursor(key)) == key
    assert decode_hit_cursor(None) is None


async def test_bootstrap_admin_is_audited_without_a_hash_of_its_token() -> None:
    """`ANPR_ADMIN_TOKEN` is chosen by an operator, so it may be guessable: a hash prefix of it
    in the audit log would let an auditor test guesses offline. Its entries name it instead."""
    digest = hash_token(ADMIN_TOKEN)
    async with running_api() as api:
        search = await api.client.get(
            "/v1/hits", params={"plate": "AB123", "reason": "case 7"}, headers=api.auth("bootstrap")
        )
        assert search.status_code == 200
        browser = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api.app), base_url="http://api"
        )
        async with browser:
            signed_in = await browser.post("/console/session", json={"token": ADMIN_TOKEN})
            assert signed_in.status_code == 200
            cookie_search = await browser.get(
                "/v1/hits", params={"plate": "CD456", "reason": "case 8"}
            )
            assert cookie_search.status_code == 200
        # A registry token of the same name (refused now, but one made before may exist)
        # keeps its own id.
        named = await api.service.registry_writer.create_token(Role.ADMIN, "bootstrap-admin")
        await api.until(lambda: hash_token(named) in api.service.registry.tokens)
        impostor = await api.client.get(
            "/v1/hits",
            params={"plate": "EF789", "reason": "case 9"},
            headers={"Authorization": f"Bearer {named}"},
        )
        assert impostor.status_code == 200
        entries = (await audit(api, "admin", limit=100)).json()["items"]
    by_target = {e["target"]: e for e in entries}
    for target in ("AB123", "CD456"):
        assert by_target[target]["actor"] == "bootstrap-admin"
        assert by_target[target]["detail"]["actor_token_id"] == BOOTSTRAP_TOKEN_ID
    assert by_target["EF789"]["detail"]["actor_token_id"] != BOOTSTRAP_TOKEN_ID
    assert len(by_target["EF789"]["detail"]["actor_token_id"]) == 16
    text = orjson.dumps(entries).decode()
    assert digest[:8] not in text, "a prefix of the bootstrap token's hash is in the audit log"
