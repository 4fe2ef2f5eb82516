"""The console over HTTP: the page and its modules with a CSP, sign-in into a server-side
session cookie (HttpOnly, SameSite=Strict), CSRF on cookie writes, roles, and the stream."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from anpr.auth import hash_token
from api.console.sessions import session_hash
from api.store.base import StoreUnavailable
from tests.unit.api_fixtures import ADMIN_TOKEN, ApiHarness, SseClient, make_hit, running_api


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


def browser(api: ApiHarness) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url="http://api")


@contextlib.asynccontextmanager
async def signed_in(api: ApiHarness, role: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async with browser(api) as client:
        response = await client.post("/console/session", json={"token": api.tokens[role]})
        assert response.status_code == 200, response.text
        yield client, response.json()["csrf_token"]


async def test_the_page_and_its_modules_are_served_with_a_csp(api: ApiHarness) -> None:
    page = await api.client.get("/console/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/console/js/main.js">' in page.text
    for path in ("/console/js/main.js", "/console/js/alerts.js", "/console/console.css"):
        response = await api.client.get(path)
        assert response.status_code == 200, path
        assert "content-security-policy" in response.headers
    assert (
        (await api.client.get("/console/js/main.js"))
        .headers["content-type"]
        .startswith("text/javascript")
    )
    for missing in ("/console/nope.js", "/console/js/../../sessions.py", "/console/%2e%2e/app.py"):
        assert (await api.client.get(missing)).status_code == 404, missing
    redirect = await api.client.get("/console")
    assert redirect.status_code == 308 and redirect.headers["location"] == "/console/"


async def test_sign_in_sets_an_httponly_strict_cookie(api: ApiHarness) -> None:
    client = browser(api)
    async with client:
        response = await client.post("/console/session", json={"token": api.tokens["operator"]})
        assert response.status_code == 200
        body = response.json()
        assert body["role"] == "operator" and body["name"] == "operator-1"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("anpr_session=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain http here; https requests get Secure
        assert api.tokens["operator"] not in cookie
        who = await client.get("/console/session")
        assert who.status_code == 200 and who.json()["csrf_token"] == body["csrf_token"]
        assert (await client.get("/v1/alerts")).status_code == 200
        signed_out = await client.delete(
            "/console/session", headers={"X-CSRF-Token": body["csrf_token"]}
        )
        assert signed_out.status_code == 204
        assert (await client.get("/v1/alerts")).status_code == 401


@pytest.mark.parametrize(
    ("token", "status"),
    [("integrator", 403), ("wrong", 401), ("", 422)],
    ids=["integrator", "bad-token", "empty"],
)
async def test_who_may_sign_in(api: ApiHarness, token: str, status: int) -> None:
    value = api.tokens.get(token, token)
    response = await api.client.post("/console/session", json={"token": value})
    assert response.status_code == status
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("role", ["operator", "supervisor", "admin", "auditor"])
async def test_every_role_but_integrator_signs_in(api: ApiHarness, role: str) -> None:
    async with signed_in(api, role) as (client, _):
        assert (await client.get("/console/session")).json()["role"] == role


async def test_cookie_writes_need_the_csrf_token(api: ApiHarness) -> None:
    hit = make_hit(plate="CSRF1")
    await api.publish_hits(hit)
    async with signed_in(api, "operator") as (client, csrf):
        url = f"/v1/hits/{hit['hit_id']}/acknowledge"
        body = {"outcome": "no_action"}
        refused = await client.post(url, json=body)
        assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
        wrong = await client.post(url, json=body, headers={"X-CSRF-Token": "x" * 43})
        assert wrong.status_code == 403
        assert (await client.get(f"/v1/hits/{hit['hit_id']}")).json()["status"] == "new"
        done = await client.post(url, json=body, headers={"X-CSRF-Token": csrf})
        assert done.status_code == 200
        assert done.json()["acknowledgement"]["by"] == "operator-1"


async def test_bearer_auth_is_unchanged_and_wins_over_a_cookie(api: ApiHarness) -> None:
    async with signed_in(api, "operator") as (client, _):
        # an admin-only route: the operator's cookie would be 403, the admin's bearer token wins
        response = await client.post(
            "/v1/tokens", json={"role": "operator", "name": "op-x"}, headers=api.auth("admin")
        )
        assert response.status_code == 201
        assert (
            await client.post("/v1/tokens", json={"role": "operator", "name": "y"})
        ).status_code == 403


async def test_the_stream_accepts_the_session_cookie(api: ApiHarness) -> None:
    async with signed_in(api, "operator") as (client, _):
        cookie = f"anpr_session={client.cookies['anpr_session']}"
    hit = make_hit(plate="COOKIE1")
    async with SseClient(api.app, "/v1/hits/stream", {"Cookie": cookie}) as stream:
        assert stream.status == 200
        await stream.next_event()
        await api.publish_hits(hit)
        assert (await stream.next_hit()).id == hit["hit_id"]
    async with SseClient(api.app, "/v1/hits/stream", {"Cookie": "anpr_session=forged"}) as stream:
        assert stream.status == 401


async def test_an_expired_session_is_refused(api: ApiHarness) -> None:
    async with signed_in(api, "operator") as (client, _):
        store = api.service.store
        store.db.execute("UPDATE console_sessions SET expires_at = 0")  # type: ignore[attr-defined]
        assert (await client.get("/v1/alerts")).status_code == 401
        assert (await client.get("/console/session")).status_code == 401


async def test_the_cookie_stream_resumes_by_last_event_id(api: ApiHarness) -> None:
    async with signed_in(api, "operator") as (client, _):
        cookie = f"anpr_session={client.cookies['anpr_session']}"
    first, missed = make_hit(plate="RESUME1"), make_hit(plate="RESUME2")
    await api.publish_hits(first, missed)
    headers = {"Cookie": cookie, "Last-Event-ID": first["hit_id"]}
    async with SseClient(api.app, "/v1/hits/stream", headers) as stream:
        assert (await stream.next_hit()).id == missed["hit_id"]


async def test_revoking_the_token_ends_its_sessions(api: ApiHarness) -> None:
    created = await api.client.post(
        "/v1/tokens", json={"role": "operator", "name": "leaver"}, headers=api.auth()
    )
    token = created.json()["token"]
    async with browser(api) as client:
        assert (await client.post("/console/session", json={"token": token})).status_code == 200
        assert (await client.get("/v1/alerts")).status_code == 200
        await api.service.registry_writer.revoke_token(hash_token(token))
        await api.until(lambda: hash_token(token) not in api.service.registry.tokens)
        assert (await client.get("/v1/alerts")).status_code == 401
        assert (await client.get("/console/session")).status_code == 401


async def test_a_session_survives_while_the_registry_is_loading(api: ApiHarness) -> None:
    async with signed_in(api, "operator") as (client, _):
        follower = api.service.registry_follower
        follower.caught_up.clear()
        try:
            response = await client.get("/v1/alerts")
            assert response.status_code == 503 and "Retry-After" in response.headers
        finally:
            follower.caught_up.set()
        assert (await client.get("/v1/alerts")).status_code == 200


async def test_sign_out_works_while_the_registry_is_loading(api: ApiHarness) -> None:
    """Sign-out answered 503 until the registry was replayed (it looked the token up, which
    ending a session does not need): an operator leaving a shared PC while the API restarted
    could not end their session. The CSRF token is still checked."""
    async with signed_in(api, "operator") as (client, csrf):
        cookie = client.cookies["anpr_session"]
        follower = api.service.registry_follower
        follower.caught_up.clear()
        try:
            refused = await client.delete("/console/session", headers={"X-CSRF-Token": "x" * 43})
            assert refused.status_code == 403, refused.text
            ended = await client.delete("/console/session", headers={"X-CSRF-Token": csrf})
            assert ended.status_code == 204, ended.text
        finally:
            follower.caught_up.set()
        assert "anpr_session" not in client.cookies
        client.cookies.set("anpr_session", cookie)  # a copy of the cookie kept elsewhere
        assert (await client.get("/console/session")).status_code == 401


async def test_a_database_away_is_a_503_for_cookie_requests_too(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard looks the session up before the route runs: a database that is away (pool
    exhausted, failover) answers 503 with Retry-After, as it does for a bearer token, not 500."""

    async def away(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("the database is unavailable: PoolTimeout")

    async with signed_in(api, "operator") as (client, csrf):
        monkeypatch.setattr(api.service.store, "get_session", away)
        for response in (
            await client.get("/v1/alerts"),
            await client.post(
                "/v1/hits/nope/acknowledge",
                json={"outcome": "no_action"},
                headers={"X-CSRF-Token": csrf},
            ),
        ):
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"] == "5"
            assert response.json()["detail"] == "the database is unavailable; try again"


@pytest.mark.parametrize(
    "headers",
    [{"X-Forwarded-Proto": "https"}, {"Forwarded": "for=10.0.0.1;proto=https"}],
    ids=["x-forwarded-proto", "forwarded"],
)
async def test_the_cookie_is_secure_behind_a_tls_terminating_proxy(
    api: ApiHarness, headers: dict[str, str]
) -> None:
    # The proxy speaks plain http to the API (and is not 127.0.0.1, so uvicorn leaves the
    # scheme alone): the browser still reached it over https.
    response = await api.client.post(
        "/console/session", json={"token": api.tokens["operator"]}, headers=headers
    )
    assert response.status_code == 200
    assert "Secure" in response.headers["set-cookie"]


def stored_sessions(api: ApiHarness) -> list[tuple[object, ...]]:
    db = api.service.store.db  # type: ignore[attr-defined]
    return list(db.execute("SELECT * FROM console_sessions").fetchall())


async def test_a_bootstrap_session_stores_nothing_to_test_guesses_of_its_token_against(
    api: ApiHarness,
) -> None:
    """`ANPR_ADMIN_TOKEN` is chosen by a person: its unsalted hash in the sessions table (or a
    backup of it) could be cracked offline. Nothing stored may be a function of it alone."""
    admin_hash = hash_token(ADMIN_TOKEN)
    async with browser(api) as client:
        response = await client.post("/console/session", json={"token": ADMIN_TOKEN})
        assert response.status_code == 200 and response.json()["name"] == "bootstrap-admin"
        assert (await client.get("/v1/tokens")).status_code == 200
        for row in stored_sessions(api):
            for value in row:
                assert admin_hash[:16] not in str(value)
                assert ADMIN_TOKEN not in str(value)
        await client.delete(
            "/console/session", headers={"X-CSRF-Token": response.json()["csrf_token"]}
        )


async def test_replacing_the_bootstrap_token_ends_its_sessions(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with browser(api) as client:
        assert (
            await client.post("/console/session", json={"token": ADMIN_TOKEN})
        ).status_code == 200
        assert (await client.get("/v1/tokens")).status_code == 200
        monkeypatch.setattr(api.service, "_admin_token", "another-admin-token-0123456789abcdef")
        assert (await client.get("/v1/tokens")).status_code == 401
        assert (await client.get("/console/session")).status_code == 401


async def test_unsetting_the_bootstrap_token_ends_its_sessions(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with browser(api) as client:
        assert (
            await client.post("/console/session", json={"token": ADMIN_TOKEN})
        ).status_code == 200
        monkeypatch.setattr(api.service, "_admin_token", None)
        assert (await client.get("/v1/tokens")).status_code == 401


async def test_a_bootstrap_session_is_not_a_registry_tokens_session(api: ApiHarness) -> None:
    """A session cookie opened by a registry admin never passes for the bootstrap admin."""
    async with signed_in(api, "admin") as (client, _):
        who = (await client.get("/console/session")).json()
        assert who["name"] != "bootstrap-admin"


async def test_a_bootstrap_session_of_an_earlier_version_is_ended_and_deleted(
    api: ApiHarness,
) -> None:
    """Sessions stored before (the plain hash of `ANPR_ADMIN_TOKEN`) are not honoured: the
    browser signs in again, and the row with the hash is deleted at its first use."""
    async with browser(api) as client:
        assert (
            await client.post("/console/session", json={"token": ADMIN_TOKEN})
        ).status_code == 200
        mine = session_hash(client.cookies["anpr_session"])
        db = api.service.store.db  # type: ignore[attr-defined]
        db.execute(
            "UPDATE console_sessions SET token_hash = ? WHERE session_hash = ?",
            (hash_token(ADMIN_TOKEN), mine),
        )
        assert (await client.get("/console/session")).status_code == 401
        assert [row for row in stored_sessions(api) if row[0] == mine] == []
