"""Bad input gets a 4xx naming the field, never a 500, and the good items of the same request
are kept: cases found by fuzzing every route of the API and the gateway (2026-12-02), each of
which answered 500 (or lost the good items) before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from anpr.clock import ms_to_rfc3339, now_ms
from tests.support.factories import submitted_read
from tests.support.gateway import GatewayHarness, gateway_on_local_bus
from tests.support.wait import until_async
from tests.unit.api_fixtures import ApiHarness, running_api


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


@pytest.fixture(scope="module")
async def gateway() -> AsyncIterator[GatewayHarness]:
    async with gateway_on_local_bus() as harness:
        yield harness


def _fields(response: Any) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    "mapping",
    [b"x: " + b"1" * 5000, b"description: 2026-13-45", b"description: !!bool maybe"],
    ids=["5000-digit-int", "month-13", "bad-bool-tag"],
)
async def test_a_yaml_value_pyyaml_cannot_build_is_a_422_on_the_body(
    api: ApiHarness, mapping: bytes
) -> None:
    for content_type in ("application/yaml", "text/plain"):
        headers = {**api.auth(), "Content-Type": content_type}
        response = await api.client.put("/v1/formats/x", content=mapping, headers=headers)
        assert response.status_code == 422, response.text
        assert _fields(response) == ["body"]


@pytest.mark.parametrize(
    ("plate", "field"),
    [
        ("'$.a.`split(,, -1, x)`'", "fields.plate"),
        ("'$.a.`sub(/(/, x)`'", "fields.plate"),
        ("'$.d[?(@.p =~ \"(\")].p'", "fields.plate"),
    ],
    ids=["split-arguments", "sub-pattern", "filter-pattern"],
)
async def test_a_path_that_would_fail_at_every_read_is_refused_when_put(
    api: ApiHarness, plate: str, field: str
) -> None:
    mapping = f"body: json\nreads: $.d[*]\nfields: {{captured_at: t, plate: {plate}}}\n"
    headers = {**api.auth(), "Content-Type": "application/yaml"}
    response = await api.client.put("/v1/formats/x", content=mapping.encode(), headers=headers)
    assert response.status_code == 422, response.text
    assert _fields(response) == [field]


@pytest.mark.parametrize("content_type", ["text/plain; charset=€", "text/plain\r\nX-A: b"])
async def test_a_success_content_type_that_cannot_be_sent_is_refused(
    api: ApiHarness, content_type: str
) -> None:
    mapping = {
        "body": "json",
        "fields": {"plate": "p", "captured_at": "t"},
        "success": {"content_type": content_type},
    }
    response = await api.client.put("/v1/formats/x", json=mapping, headers=api.auth())
    assert response.status_code == 422, response.text
    assert _fields(response) == ["success.content_type"]


async def _hotlist(api: ApiHarness, list_id: str) -> None:
    config = {"name": list_id, "category": "c", "priority": 2}
    response = await api.client.put(f"/v1/hotlists/{list_id}", json=config, headers=api.auth())
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize("field", ["reason", "action", "zones"])
async def test_an_entry_holding_a_lone_surrogate_is_rejected_alone(
    api: ApiHarness, field: str
) -> None:
    await _hotlist(api, f"sur-{field}")
    value = '["\\ud800"]' if field == "zones" else '"\\ud800"'
    body = (
        '[{"entry_id":"good","plate":"1ABC123"},'
        f'{{"entry_id":"bad","plate":"2XYZ999","{field}":{value}}}]'
    )
    response = await api.client.post(
        f"/v1/hotlists/sur-{field}/entries",
        content=body.encode(),
        headers={**api.auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["entries"] == 1
    assert [(r["line"], [e["field"] for e in r["errors"]]) for r in result["rejected"]] == [
        (2, [field])
    ]


@pytest.mark.parametrize("column", ["valid_from", "priority"])
async def test_a_csv_cell_of_thousands_of_digits_is_rejected_alone(
    api: ApiHarness, column: str
) -> None:
    await _hotlist(api, f"digits-{column}")
    csv = f"entry_id,plate,{column}\ngood,1ABC123,\nbad,2XYZ999,{'9' * 5000}\n"
    response = await api.client.put(
        f"/v1/hotlists/digits-{column}/entries",
        content=csv.encode(),
        headers={**api.auth(), "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["entries"] == 1
    assert [e["field"] for r in response.json()["rejected"] for e in r["errors"]] == [column]


async def test_a_tiny_expected_rate_does_not_break_camera_listings_or_metrics(
    api: ApiHarness,
) -> None:
    camera = {"camera_id": "tiny", "integrator_id": "int-1", "name": "t"}
    created = await api.client.post(
        "/v1/cameras", json={**camera, "expected_reads_per_hour": 1e-303}, headers=api.auth()
    )
    assert created.status_code == 201, created.text
    at = now_ms()
    beat = {"v": 1, "camera_id": "tiny", "integrator_id": "int-1", "sent_at": ms_to_rfc3339(at)}
    await api.publish(api.topics.heartbeats, "tiny", {**beat, "sent_at_ms": at, "received_at": at})

    async def seen() -> bool:
        answer = await api.client.get("/v1/cameras/tiny/health", headers=api.auth())
        return answer.status_code == 200 and answer.json()["last_heartbeat_at"] is not None

    await until_async(seen)
    for path in ("/v1/cameras", "/v1/cameras/tiny/health", "/v1/rollout"):
        assert (await api.client.get(path, headers=api.auth())).status_code == 200, path
    assert (await api.client.get("/metrics")).status_code == 200


@pytest.mark.parametrize("value", [b"Infinity", b"1e309", b"-1"])
async def test_an_expected_rate_that_is_no_number_of_reads_is_a_422(
    api: ApiHarness, value: bytes
) -> None:
    body = b'{"camera_id":"inf","integrator_id":"int-1","name":"t","expected_reads_per_hour":'
    response = await api.client.post(
        "/v1/cameras",
        content=body + value + b"}",
        headers={**api.auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert _fields(response) == ["expected_reads_per_hour"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"role":"operator","name":' + b"1" * 5000 + b"}", 400),
        (b"[" * 5000 + b"]" * 5000, 400),
        (b'{"a": ', 422),
    ],
    ids=["5000-digit-int", "nested-5000", "truncated"],
)
async def test_a_body_the_parser_gives_up_on_names_the_body(
    api: ApiHarness, body: bytes, status: int
) -> None:
    response = await api.client.post(
        "/v1/tokens", content=body, headers={**api.auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert _fields(response) == ["body"]


def _read_bytes(**extra: Any) -> bytes:
    return orjson.dumps({**submitted_read(), **extra})


async def test_a_read_with_a_huge_integer_in_a_large_body_is_rejected_alone(
    gateway: GatewayHarness,
) -> None:
    goods = [_read_bytes(pad="x" * 1200) for _ in range(900)]
    bad = _read_bytes()[:-1] + b',"confidence":' + b"9" * 400 + b"}"
    body = b"[" + b",".join([*goods, bad]) + b"]"
    assert len(body) > 1024 * 1024
    response = await gateway.client.post(
        "/v1/reads", content=body, headers={**gateway.auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 900
    assert [e["field"] for r in response.json()["rejected"] for e in r["errors"]] == ["confidence"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [(b',"confidence":1e309', "confidence"), (b',"vehicle":{"make":"\\ud800"}', "body")],
    ids=["1e309", "lone-surrogate"],
)
async def test_a_read_orjson_refuses_in_a_small_array_is_rejected_alone(
    gateway: GatewayHarness, extra: bytes, field: str
) -> None:
    body = b"[" + _read_bytes() + b"," + _read_bytes()[:-1] + extra + b"}]"
    response = await gateway.client.post(
        "/v1/reads", content=body, headers={**gateway.auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1
    assert [e["field"] for r in response.json()["rejected"] for e in r["errors"]] == [field]


async def test_a_heartbeat_status_nested_too_deep_is_a_422_on_status(
    gateway: GatewayHarness,
) -> None:
    sent = ms_to_rfc3339(now_ms()).encode()
    nested = b'{"a":' * 1000 + b"1" + b"}" * 1000
    body = b'{"camera_id":"cam-1","sent_at":"' + sent + b'","status":' + nested + b"}"
    response = await gateway.client.post(
        "/v1/heartbeats",
        content=body,
        headers={**gateway.auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert _fields(response) == ["status"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [(b',"lane":1e309', "lane"), (b',"vehicle":{"make":"\\ud800"}', "body")],
    ids=["1e309", "lone-surrogate"],
)
@pytest.mark.parametrize("form", ["object", "ndjson"])
async def test_a_read_orjson_refuses_alone_or_on_a_line_names_its_field(
    gateway: GatewayHarness, extra: bytes, field: str, form: str
) -> None:
    """Outside an array such a read was a 400 `the body is not valid JSON` (one object) or a
    `line N is not valid JSON` (NDJSON): valid JSON, and the field at fault not named."""
    odd = _read_bytes()[:-1] + extra + b"}"
    body = odd if form == "object" else _read_bytes() + b"\n" + odd + b"\n"
    media = "application/json" if form == "object" else "application/x-ndjson"
    response = await gateway.client.post(
        "/v1/reads", content=body, headers={**gateway.auth(), "Content-Type": media}
    )
    assert response.status_code in (202, 422), response.text
    assert response.json()["accepted"] == (0 if form == "object" else 1)
    assert [e["field"] for r in response.json()["rejected"] for e in r["errors"]] == [field]
