"""Issue 11: the black-box authorization matrix of the gateway and the API (contract section 2).

Every route in each app's OpenAPI document is crossed with no token, a bad token and a token of
each role. `EXPECTED` is the contract's table of who may call what; a route missing from it
fails the test, so a new route cannot escape the matrix. A caller that may call a route must not
get 401/403 (404/422 for the dummy ids and bodies are fine); one that may not gets 403, and a
missing or bad token 401."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from anpr.auth import Role
from anpr.bus.local import LocalBus
from anpr.registry import RegistryWriter
from anpr.settings import CommonSettings
from anpr.topics import Topics
from tests.support.gateway import running_gateway
from tests.unit.api_fixtures import running_api

PUBLIC = frozenset({"*"})
OPERATOR = frozenset({"operator", "supervisor", "admin"})
SUPERVISOR = frozenset({"supervisor", "admin"})
ADMIN = frozenset({"admin"})
AUDITOR = frozenset({"auditor", "admin"})
PUSHER = frozenset({"integrator", "admin"})
MANAGER = frozenset({"manager", "admin"})
INVESTIGATOR = frozenset({"investigator", "supervisor", "admin"})
# "search archived reads and hits by plate" (contract section 2): an investigator too.
HIT_SEARCH = frozenset({"operator", "supervisor", "admin", "investigator"})
# The console's sign-in routes authenticate by the token in their body or by the session cookie
# they set, never by `Authorization`: whoever calls, no 5xx (their rules are tested in
# tests/unit/test_api_console.py).
CONSOLE = frozenset({"console"})
ROLES = ("integrator", "operator", "supervisor", "admin", "auditor", "manager", "investigator")

# Contract section 2 (roles), 3 (gateway) and 4 (API), route by route.
EXPECTED: dict[str, dict[tuple[str, str], frozenset[str]]] = {
    "gateway": {
        ("GET", "/healthz"): PUBLIC,
        ("GET", "/readyz"): PUBLIC,
        ("GET", "/metrics"): PUBLIC,
        ("POST", "/v1/reads"): PUSHER,
        ("POST", "/v1/heartbeats"): PUSHER,
        ("POST", "/v1/ingest/{fmt}"): PUSHER,
    },
    "api": {
        ("GET", "/healthz"): PUBLIC,
        ("GET", "/readyz"): PUBLIC,
        ("GET", "/metrics"): PUBLIC,
        ("POST", "/v1/integrators"): ADMIN,
        ("POST", "/v1/integrators/{integrator_id}/token"): ADMIN,
        ("POST", "/v1/tokens"): ADMIN,
        ("GET", "/v1/tokens"): ADMIN,
        ("DELETE", "/v1/tokens/{token_id}"): ADMIN,
        ("POST", "/v1/cameras"): ADMIN,
        ("GET", "/v1/cameras"): OPERATOR,
        ("GET", "/v1/cameras/{camera_id}"): OPERATOR,
        ("PATCH", "/v1/cameras/{camera_id}"): ADMIN,
        ("DELETE", "/v1/cameras/{camera_id}"): ADMIN,
        ("GET", "/v1/cameras/{camera_id}/health"): OPERATOR,
        ("GET", "/v1/cameras/{camera_id}/commissioning"): OPERATOR,
        ("GET", "/v1/hits"): HIT_SEARCH,
        ("GET", "/v1/hits/counts"): OPERATOR,
        ("GET", "/v1/hits/stream"): OPERATOR,
        ("GET", "/v1/hits/{hit_id}"): OPERATOR,
        ("POST", "/v1/hits/{hit_id}/acknowledge"): OPERATOR,
        ("GET", "/v1/hotlists"): SUPERVISOR,
        ("GET", "/v1/hotlists/{list_id}"): SUPERVISOR,
        ("PUT", "/v1/hotlists/{list_id}"): SUPERVISOR,
        ("DELETE", "/v1/hotlists/{list_id}"): SUPERVISOR,
        ("PUT", "/v1/hotlists/{list_id}/entries"): SUPERVISOR,
        ("POST", "/v1/hotlists/{list_id}/entries"): SUPERVISOR,
        ("DELETE", "/v1/hotlists/{list_id}/entries/{entry_id}"): SUPERVISOR,
        ("GET", "/v1/audit"): AUDITOR,
        ("GET", "/v1/alerts"): OPERATOR,
        ("GET", "/v1/alerts/{alert_id}"): OPERATOR,
        ("POST", "/v1/alerts/{alert_id}/acknowledge"): OPERATOR,
        ("GET", "/v1/reports/hits"): SUPERVISOR,
        ("GET", "/v1/rollout"): MANAGER,
        ("GET", "/v1/reads"): INVESTIGATOR,
        ("GET", "/v1/reads/{read_id}"): INVESTIGATOR,
        ("GET", "/v1/formats"): ADMIN,
        ("GET", "/v1/formats/{name}"): ADMIN,
        ("PUT", "/v1/formats/{name}"): ADMIN,
        ("DELETE", "/v1/formats/{name}"): ADMIN,
        ("GET", "/v1/hotlists/{list_id}/webhooks"): ADMIN,
        ("GET", "/v1/hotlists/{list_id}/webhooks/{target_id}"): ADMIN,
        ("PUT", "/v1/hotlists/{list_id}/webhooks/{target_id}"): ADMIN,
        ("DELETE", "/v1/hotlists/{list_id}/webhooks/{target_id}"): ADMIN,
        ("GET", "/v1/notifications/targets"): ADMIN,
        ("GET", "/v1/notifications/deliveries"): ADMIN,
        ("GET", "/console/session"): CONSOLE,
        ("POST", "/console/session"): CONSOLE,
        ("DELETE", "/console/session"): CONSOLE,
    },
}


@dataclass
class Target:
    name: str
    app: Any
    tokens: dict[str, str]
    basic_user: str | None = None


async def status_of(app: Any, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
    """The status the app answers with; the request is dropped once the response starts (so
    streams end)."""
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    disconnect = asyncio.Event()
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and not started.done():
            started.set_result(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    task = asyncio.create_task(app(scope, receive, send))
    try:
        return await asyncio.wait_for(asyncio.shield(started), 5)
    finally:
        disconnect.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)


def _fill(path: str) -> str:
    return re.sub(r"\{fmt\}", "openalpr", re.sub(r"\{[a-z_]+\}", "x-missing", path))


def _operations(app: Any) -> list[tuple[str, str]]:
    spec = app.openapi()
    return sorted(
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


async def _check(target: Target) -> list[str]:
    expected = EXPECTED[target.name]
    failures: list[str] = []
    operations = _operations(target.app)
    for op in operations:
        if op not in expected:
            failures.append(f"{target.name} {op}: not in the contract table")
    for method, path in operations:
        allowed = expected.get((method, path))
        if allowed is None:
            continue
        url = _fill(path)
        body = b"{}" if method in {"POST", "PUT", "PATCH"} else b""
        callers: dict[str, dict[str, str]] = {
            "no token": {},
            "bad bearer": {"Authorization": "Bearer " + "b" * 43},
            "bad basic": {
                "Authorization": "Basic " + base64.b64encode(b"int-1:" + b"b" * 43).decode()
            },
        }
        for role in ROLES:
            callers[role] = {"Authorization": f"Bearer {target.tokens[role]}"}
        # HTTP Basic (user = integrator id, password = its token) is for cameras: the gateway
        # takes it like the integrator's bearer token, the API not at all (401).
        basic = base64.b64encode(f"int-1:{target.tokens['integrator']}".encode()).decode()
        callers["integrator basic"] = {"Authorization": f"Basic {basic}"}
        for who, headers in callers.items():
            headers = {**headers, "Content-Type": "application/json"}
            status = await status_of(target.app, method, url, headers, body)
            if who == "integrator basic" and allowed not in (PUBLIC, CONSOLE):
                who = "integrator" if target.name == "gateway" else "bad basic"
            if allowed is CONSOLE:
                ok = status < 500
            elif allowed is PUBLIC:
                ok = status not in (401, 403)
            elif who in ROLES:
                ok = status not in (401, 403) if who in allowed else status == 403
            else:
                ok = status == 401
            if not ok:
                failures.append(f"{target.name} {method} {path} as {who}: {status}")
    return failures


@pytest.fixture
async def gateway_target() -> AsyncIterator[Target]:
    bus = LocalBus(None, Topics.from_prefix("anpr.").specs(CommonSettings()))
    await bus.start()
    try:
        writer = RegistryWriter(bus, Topics.from_prefix("anpr.").registry)
        tokens = {
            role: await writer.create_token(Role(role), f"{role}-gw")
            for role in ROLES
            if role != "integrator"
        }
        async with running_gateway(bus) as gw:
            tokens["integrator"] = gw.token
            registry = gw.app.state.service.registry
            deadline = asyncio.get_running_loop().time() + 5
            while any(registry.principal(t) is None for t in tokens.values()):
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.02)
            yield Target("gateway", gw.app, tokens)
    finally:
        await bus.stop()


async def test_gateway_authorization_matrix(gateway_target: Target) -> None:
    assert await _check(gateway_target) == []


async def test_api_authorization_matrix() -> None:
    async with running_api() as api:
        assert await _check(Target("api", api.app, api.tokens)) == []


def test_every_table_entry_is_a_route() -> None:
    """The table holds no stale routes either (checked against the apps' OpenAPI)."""
    from anpr.bus.local import LocalBus as Bus
    from api.app import create_app as create_api
    from api.settings import ApiSettings
    from ingest.app import create_app as create_gateway
    from ingest.settings import GatewaySettings

    settings = CommonSettings()
    bus = Bus(None, Topics.from_prefix("anpr.").specs(settings))
    apps = {
        "gateway": create_gateway(GatewaySettings(), bus),
        "api": create_api(ApiSettings(), bus),
    }
    for name, app in apps.items():
        assert set(EXPECTED[name]) == set(_operations(app)), name
