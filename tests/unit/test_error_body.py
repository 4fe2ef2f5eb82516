"""The one error body every service answers with (`anpr.http.error_body`), and the API and the
gateway both answering their errors in it."""

from __future__ import annotations

import httpx
import pytest

from anpr.bus.local import LocalBus
from anpr.http import error_body, field_error_body
from anpr.settings import CommonSettings
from anpr.topics import Topics
from ingest.app import create_app as create_gateway
from ingest.settings import GatewaySettings
from tests.unit.api_fixtures import running_api


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(error_body("gone"), {"detail": "gone", "errors": []}, id="no-fields"),
        pytest.param(
            error_body("bad", [{"field": "a", "message": "x"}, {"field": "b", "message": "y"}]),
            {
                "detail": "bad",
                "errors": [{"field": "a", "message": "x"}, {"field": "b", "message": "y"}],
            },
            id="several-fields",
        ),
        pytest.param(
            field_error_body("too large", "body"),
            {"detail": "too large", "errors": [{"field": "body", "message": "too large"}]},
            id="one-field-explained-by-the-detail",
        ),
    ],
)
def test_error_body(body: dict[str, object], expected: dict[str, object]) -> None:
    assert body == expected


def test_error_body_copies_the_errors_it_is_given() -> None:
    given = {"field": "a", "message": "x"}
    body = error_body("bad", [given])
    given["message"] = "changed"
    assert body["errors"] == [{"field": "a", "message": "x"}]


async def test_api_and_gateway_answer_in_the_same_shape() -> None:
    bus = LocalBus(None, Topics.from_prefix("anpr.").specs(CommonSettings()))
    gateway = create_gateway(GatewaySettings(), bus)
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        refused = await client.post("/v1/reads", content=b"{}")
    async with running_api() as api:
        invalid = await api.client.get("/v1/hits?limit=0", headers=api.auth("operator"))
    for response in (refused, invalid):
        body = response.json()
        assert set(body) == {"detail", "errors"}, body
        assert all(set(e) == {"field", "message"} for e in body["errors"]), body
    # Not started, the gateway has not loaded the registry yet: it refuses, naming why.
    assert refused.status_code == 503
    assert refused.json()["errors"][0]["field"] == "registry"
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "limit"
