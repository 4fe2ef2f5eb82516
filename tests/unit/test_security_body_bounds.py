"""Issue 11, item 1: no work before authentication, and every body bounded by route.

The API answers 401 from the headers alone, before a byte of body is read; a body over its
route's limit answers 413, whether its length is declared or it is streamed. The gateway refuses
an array of more reads than allowed without turning it into Python objects first."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

import ingest.body as body_module
from anpr.auth import Role
from api.deps import get_principal
from api.guard import GuardTable
from ingest.body import DIRECT_PARSE_BYTES, MAX_LINE_BYTES, BodyError, split_body
from tests.unit.api_fixtures import ApiHarness, running_api


@pytest.fixture
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api(api_max_body_bytes=64 * 1024) as harness:
        yield harness


async def _raw_post(
    app: Any, path: str, headers: dict[str, str], body_chunks: list[bytes]
) -> tuple[int, list[int]]:
    """Drive the ASGI app directly; returns the status and the chunk numbers the app read."""
    read: list[int] = []
    pending = list(enumerate(body_chunks))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("api", 80),
    }
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        if not pending:
            return {"type": "http.disconnect"}
        index, chunk = pending.pop(0)
        read.append(index)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0], read


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/hotlists/x/entries", {}),
        ("/v1/integrators", {"Authorization": "Bearer not-a-token"}),
        ("/v1/tokens", {"Authorization": "Basic dXNlcjpwYXNz"}),
        ("/v1/cameras", {}),
        ("/v1/tokens", {"Authorization": "Basic \u00e9t\u00e9="}),
    ],
    ids=[
        "no-token-upsert",
        "bad-token-integrators",
        "basic-on-api",
        "no-token-cameras",
        "basic-not-ascii",
    ],
)
async def test_unauthenticated_request_is_refused_before_its_body_is_read(
    api: ApiHarness, path: str, headers: dict[str, str]
) -> None:
    declared = {"Content-Length": str(40 * 1024 * 1024), "Content-Type": "application/json"}
    status, read = await _raw_post(api.app, path, {**headers, **declared}, [b"[" + b" " * 1000])
    assert status == 401
    assert read == []


@pytest.mark.parametrize(
    ("path", "role", "needed"),
    [
        ("/v1/hotlists/x/entries", "integrator", "supervisor"),
        ("/v1/hotlists/x/entries", "operator", "supervisor"),
        ("/v1/cameras", "operator", "admin"),
        ("/v1/tokens", "supervisor", "admin"),
        ("/v1/integrators", "auditor", "admin"),
    ],
)
async def test_a_caller_of_another_role_is_refused_before_its_body_is_read(
    api: ApiHarness, path: str, role: str, needed: str
) -> None:
    # An integrator's token lives on cameras: it must not make the API parse a large body.
    declared = {"Content-Length": str(15 * 1024 * 1024), "Content-Type": "application/json"}
    status, read = await _raw_post(api.app, path, {**api.auth(role), **declared}, [b"[{bad"])
    assert status == 403
    assert read == []
    answer = await api.client.post(path, content=b"[{bad", headers=api.auth(role))
    assert answer.status_code == 403
    assert f"({needed} needed)" in answer.json()["detail"]


async def test_a_console_session_of_another_role_is_refused_before_its_body_is_read(
    api: ApiHarness,
) -> None:
    signed = await api.client.post("/console/session", json={"token": api.tokens["operator"]})
    assert signed.status_code == 200, signed.text
    cookie = f"anpr_session={signed.cookies['anpr_session']}"
    headers = {
        "Cookie": cookie,
        "X-CSRF-Token": signed.json()["csrf_token"],
        "Content-Length": str(15 * 1024 * 1024),
        "Content-Type": "application/json",
    }
    status, read = await _raw_post(api.app, "/v1/hotlists/x/entries", headers, [b"[{bad"])
    assert (status, read) == (403, [])
    # The role the route admits still gets to the body (here: to the unknown list).
    supervisor = await api.client.post(
        "/v1/hotlists/x/entries", json=[], headers=api.auth("supervisor")
    )
    assert supervisor.status_code == 404, supervisor.text


async def test_a_cookie_while_the_registry_loads_is_answered_before_its_body_is_read(
    api: ApiHarness,
) -> None:
    """Sessions cannot be checked until the registry is replayed: the answer is 503 then, and
    any cookie, forged or not, must not make the API read and parse a large body first."""
    headers = {
        "Cookie": "anpr_session=forged",
        "X-CSRF-Token": "forged",
        "Content-Length": str(15 * 1024 * 1024),
        "Content-Type": "application/json",
    }
    follower = api.service.registry_follower
    follower.caught_up.clear()
    try:
        status, read = await _raw_post(api.app, "/v1/hotlists/x/entries", headers, [b"[{bad"])
        answer = await api.client.get("/v1/alerts", headers={"Cookie": "anpr_session=forged"})
    finally:
        follower.caught_up.set()
    assert (status, read) == (503, [])
    assert answer.status_code == 503 and "Retry-After" in answer.headers


def test_every_route_that_needs_a_caller_refuses_other_roles_before_the_body(
    api: ApiHarness,
) -> None:
    table = GuardTable(api.app.routes, marker=get_principal, default_limit=1, limits={})
    guarded = [(path, guard) for path, guard in table.guards() if guard.needs_caller]
    assert len(guarded) > 30
    assert [path for path, guard in guarded if not guard.roles] == []
    roles = {path: guard.roles for path, guard in guarded}
    assert roles["^/v1/hotlists/(?P<list_id>[^/]+)/entries$"] == {(Role.SUPERVISOR,)}
    assert roles["^/v1/hits$"] == {(Role.OPERATOR, Role.INVESTIGATOR)}


async def test_declared_length_over_the_route_limit_is_413_unread(api: ApiHarness) -> None:
    headers = {**api.auth(), "Content-Length": str(65 * 1024), "Content-Type": "application/json"}
    status, read = await _raw_post(api.app, "/v1/integrators", headers, [b"{}"])
    assert status == 413
    assert read == []


async def test_streamed_body_over_the_route_limit_is_413_at_the_crossing(
    api: ApiHarness,
) -> None:
    chunks = [b'{"integrator_id": "x", "name": "' + b"n" * 30_000] + [b"n" * 30_000] * 10
    headers = {**api.auth(), "Content-Type": "application/json"}
    status, read = await _raw_post(api.app, "/v1/integrators", headers, chunks)
    assert status == 413
    assert read == [0, 1, 2]  # 90 KB read of 330 KB: stopped once over 64 KiB


async def test_hotlist_upload_has_its_own_larger_limit(api: ApiHarness) -> None:
    await api.client.put(
        "/v1/hotlists/big",
        json={"name": "big", "category": "c", "priority": 1, "match": "exact", "covert": False},
        headers=api.auth("supervisor"),
    )
    rows = "".join(f"e{i},AB{i:06d},,,,,r,\n" for i in range(8000))
    csv = "entry_id,plate,country,zones,valid_from,valid_until,reason,action\n" + rows
    assert len(csv) > 64 * 1024
    response = await api.client.put(
        "/v1/hotlists/big/entries",
        content=csv.encode(),
        headers={**api.auth("supervisor"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["entries"] == 8000
    too_big = await api.client.post(
        "/v1/tokens",
        content=b'{"role":"operator","name":"' + b"x" * 70_000 + b'"}',
        headers={**api.auth(), "Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    assert too_big.json()["errors"][0]["field"] == "body"


async def test_public_routes_stay_public(api: ApiHarness) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert (await api.client.get(path)).status_code == 200, path


# --- the gateway's body splitting ----------------------------------------------------------


class CountingDecoder(json.JSONDecoder):
    calls = 0

    def raw_decode(self, s: str, idx: int = 0) -> tuple[Any, int]:
        CountingDecoder.calls += 1
        return super().raw_decode(s, idx)


def test_an_oversize_array_is_refused_after_max_items_plus_one_decodes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(body_module, "_DECODER", CountingDecoder())
    CountingDecoder.calls = 0
    body = b"[" + b",".join([b'{"camera_id":"c","x":1,"y":2}'] * 550_000) + b"]"
    assert len(body) > DIRECT_PARSE_BYTES
    with pytest.raises(BodyError) as refused:
        split_body(body, "application/json", max_items=1000)
    assert refused.value.status == 413
    assert CountingDecoder.calls == 1000


@pytest.mark.parametrize("padding", [b"", b" \n\t"], ids=["compact", "whitespace-around-items"])
def test_a_large_array_within_the_count_is_parsed_like_orjson(padding: bytes) -> None:
    item = {"camera_id": "cam-1", "plate": "AB123", "images": {"plate_url": "x" * 4000}}
    items = [dict(item, read_id=f"r{i}") for i in range(400)]
    body = (b"," + padding).join(padding + orjson.dumps(i) for i in items)
    body = b"[" + padding + body + padding + b"]" + padding
    assert len(body) > DIRECT_PARSE_BYTES
    assert split_body(body, "application/json", max_items=1000).items == items


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[" + b'{"a":1},' * 200_000 + b"]", 400),
        (b"[" + b'{"a":1}' * 200_000 + b"]", 400),
        (b"[" + b" " * (DIRECT_PARSE_BYTES + 1) + b"]", None),
    ],
    ids=["trailing-comma", "missing-commas", "empty-array-with-padding"],
)
def test_a_large_malformed_array_is_a_400(body: bytes, status: int | None) -> None:
    if status is None:
        assert split_body(body, "application/json", max_items=10).items == []
        return
    with pytest.raises(BodyError) as refused:
        split_body(body, "application/json", max_items=1_000_000)
    assert refused.value.status == status


@pytest.mark.parametrize(
    "item",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-too-deep"),
        pytest.param(b"1" * 5000, id="integer-of-5000-digits"),
    ],
)
def test_a_large_array_the_parser_cannot_take_is_a_400(item: bytes) -> None:
    """Never a 500: the stdlib parser's other errors (recursion, a huge integer) are a 400."""
    pad = b'{"plate":"' + b"x" * DIRECT_PARSE_BYTES + b'"}'
    with pytest.raises(BodyError) as refused:
        split_body(b"[" + pad + b"," + item + b"]", "application/json", max_items=1000)
    assert refused.value.status == 400


def test_a_read_holding_a_lone_surrogate_is_rejected_alone() -> None:
    """orjson and msgspec refuse a lone surrogate escape; the stdlib parser of large arrays
    takes it for a character, which could then never be encoded: that read is set aside, its
    neighbours (a proper surrogate pair among them) are kept."""
    good = {"plate": "AB123", "images": {"plate_url": "x" * 4000}}
    pair = {"plate": "AB124", "vehicle": {"make": "\U0001f600"}}
    items = [orjson.dumps(dict(good, read_id=f"r{i}")) for i in range(300)]
    items[7] = b'{"plate":"AB1\\ud800","read_id":"r7"}'
    items[8] = b'{"plate":"AB1","vehicle":{"\\udfff":"x"},"read_id":"r8"}'
    items[9] = orjson.dumps(pair).replace(b"\xf0\x9f\x98\x80", b"\\ud83d\\ude00")
    body = b"[" + b",".join(items) + b"]"
    assert len(body) > DIRECT_PARSE_BYTES
    split = split_body(body, "application/json", max_items=1000)
    assert split.items[7] is None and split.items[8] is None
    assert set(split.broken) == {7, 8} and "surrogate" in split.broken[7]
    assert split.items[9] == pair
    assert split.items[10] == dict(good, read_id="r10")


def test_a_large_non_array_body_is_split_into_bounded_lines() -> None:
    dense = b'{"a":1' + b',\n"a":1' * 300_000 + b"}"
    with pytest.raises(BodyError) as refused:
        split_body(dense, None, max_items=1000)
    assert refused.value.status == 413
    long_line = b'{"plate":"' + b"x" * MAX_LINE_BYTES + b'"}'
    lines = b"\n".join([b'{"plate":"A1"}', long_line, b'{"plate":"B2"}'])
    split = split_body(lines + b"\n" * DIRECT_PARSE_BYTES, None, max_items=10)
    assert split.items == [{"plate": "A1"}, None, {"plate": "B2"}]
    assert "over" in split.broken[1]
