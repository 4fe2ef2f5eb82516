"""The push routes taken straight to their handlers (`ingest.direct.GatewayApp`): the same
answers, headers and metrics as through FastAPI's stack, which they no longer cross."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from anpr.loopmetrics import LoopCounter
from tests.conftest import MakeRead
from tests.support.gateway import GatewayHarness, gateway_on_local_bus


@pytest.fixture
async def gw() -> AsyncIterator[GatewayHarness]:
    async with gateway_on_local_bus() as harness:
        yield harness


def counted(counter: LoopCounter, route: str, status: str) -> float:
    for metric in counter.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels == {
                "route": route,
                "status": status,
            }:
                return sample.value
    return 0.0


async def test_push_routes_skip_fastapis_stack_and_other_routes_do_not(
    gw: GatewayHarness, make_read: MakeRead
) -> None:
    through_stack: list[str] = []
    stack: ASGIApp = gw.app.middleware_stack or gw.app.build_middleware_stack()

    async def spy(scope: Scope, receive: Receive, send: Send) -> None:
        through_stack.append(scope["path"])
        await stack(scope, receive, send)

    gw.app.middleware_stack = spy
    assert (await gw.client.post("/v1/reads", json=make_read(), headers=gw.auth())).is_success
    assert (await gw.client.get("/healthz")).status_code == 200
    assert through_stack == ["/healthz"]


async def test_a_direct_request_is_observed_as_through_the_stack(
    gw: GatewayHarness, make_read: MakeRead
) -> None:
    requests = gw.app.state.service.metrics.requests
    before = counted(requests, "/v1/reads", "202")
    response = await gw.client.post(
        "/v1/reads", json=make_read(), headers={**gw.auth(), "X-Request-ID": "req-42"}
    )
    assert response.status_code == 202
    assert response.headers["x-request-id"] == "req-42"
    assert counted(requests, "/v1/reads", "202") == before + 1


async def test_refusals_keep_their_status_body_and_headers(gw: GatewayHarness) -> None:
    response = await gw.client.post("/v1/reads", json={}, headers={"Authorization": "Bearer x"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"] == [
        {"field": "authorization", "message": "missing or invalid credentials"}
    ]
    unknown = await gw.client.post("/v1/ingest/no-such-format", content=b"{}", headers=gw.auth())
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["field"] == "format"
    assert counted(gw.app.state.service.metrics.requests, "/v1/ingest/{fmt}", "404") == 1


async def test_an_unexpected_error_is_a_500_in_the_error_body_and_reaches_the_server(
    gw: GatewayHarness, make_read: MakeRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(gw.app.state.service.pipeline, "ingest", broken)
    with pytest.raises(RuntimeError, match="boom"):
        await gw.client.post("/v1/reads", json=make_read(), headers=gw.auth())
    transport = httpx.ASGITransport(app=gw.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.post("/v1/reads", json=make_read(), headers=gw.auth())
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error", "errors": []}
