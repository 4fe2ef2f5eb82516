"""A camera's view: no request it can send makes the gateway answer 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anpr.bus.local import LocalBus
from anpr.settings import CommonSettings
from anpr.topics import Topics
from tests.support.gateway import GatewayHarness, running_gateway

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
read_like = st.fixed_dictionaries(
    {"camera_id": st.sampled_from(["cam-1", "cam-2", "ghost", "", "cam 1"]) | json_values},
    optional={
        "read_id": st.text(max_size=140) | json_values,
        "captured_at": st.integers() | st.text(max_size=40) | json_values,
        "plate": st.text(max_size=30) | json_values,
        "country": st.text(max_size=4) | json_values,
        "confidence": st.floats() | json_values,
        "candidates": st.lists(
            st.dictionaries(st.sampled_from(["plate", "confidence"]), json_values), max_size=12
        )
        | json_values,
        "direction": json_values,
        "lane": json_values,
        "vehicle": json_values,
        "images": json_values,
        "location": json_values,
    },
)


def dumps(value: object) -> bytes:
    # The json module, not orjson: it also writes big integers and NaN, as a sloppy client may.
    return json.dumps(value).encode()


bodies = (
    st.binary(max_size=300)
    | json_values.map(dumps)
    | read_like.map(dumps)
    | st.lists(read_like, max_size=5).map(dumps)
    | st.lists(read_like, max_size=5).map(lambda rs: b"\n".join(dumps(r) for r in rs))
)
content_types = st.sampled_from([
    None, "application/json", "application/x-ndjson", "text/plain", "multipart/form-data",
    "application/json; charset=latin-1", "application/xml", "garbage/\x00",
])  # fmt: skip


@pytest.fixture(scope="module")
async def gw() -> AsyncIterator[GatewayHarness]:
    bus = LocalBus(None, Topics.from_prefix("anpr.").specs(CommonSettings()))
    await bus.start()
    async with running_gateway(bus, rate_limit_burst=1e9, rate_limit_per_s=1e9) as harness:
        yield harness
    await bus.stop()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(
        [
            "/v1/reads",
            "/v1/heartbeats",
            "/v1/ingest/hikvision",
            "/v1/ingest/openalpr",
            "/v1/ingest/axis",
            "/v1/ingest/genetec",
            "/v1/ingest/platerecognizer?camera_id=cam-1",
            "/v1/ingest/nope",
        ]
    ),
    body=bodies,
    content_type=content_types,
)
async def test_every_body_is_answered_below_500(
    gw: GatewayHarness, path: str, body: bytes, content_type: str | None
) -> None:
    headers = gw.auth()
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await gw.client.post(path, content=body, headers=headers)
    assert response.status_code < 500, response.text
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        body_json = response.json()
        assert body_json.get("errors") or body_json.get("rejected") is not None


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(header=st.text(max_size=80))
async def test_every_authorization_header_is_answered_4xx(gw: GatewayHarness, header: str) -> None:
    try:
        response = await gw.client.post(
            "/v1/reads", content=b"{}", headers={"Authorization": header}
        )
    except UnicodeEncodeError:
        return  # not a header a client can send
    assert response.status_code in (401, 422, 400)
