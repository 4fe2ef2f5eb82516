"""`/v1/formats` on the API and `POST /v1/ingest/{name}` on a gateway sharing its bus: a mapping
registered by an administrator is taken by the gateway with no restart, as a built-in format."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from anpr.registry import CameraSpec, RegistryWriter
from tests.support.gateway import read_topic, running_gateway, values
from tests.support.wait import until
from tests.unit.api_fixtures import ApiHarness, running_api

ACME_YAML = """
description: ACME LPR box, HTTP push
body: json
reads: $.detections[*]
fields:
  plate: plate
  captured_at: time
  confidence: score
  country: nation
camera: [$.serial]
time: {format: strftime, pattern: "%d.%m.%Y %H:%M:%S"}
confidence_scale: "0-100"
country_code: numeric
success: {status: 200, content_type: application/json, body: '{"result":"ok"}'}
"""


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


async def put(api: ApiHarness, name: str, body: str | dict[str, Any], role: str = "admin") -> Any:
    if isinstance(body, dict):
        return await api.client.put(f"/v1/formats/{name}", json=body, headers=api.auth(role))
    headers = {**api.auth(role), "Content-Type": "application/yaml"}
    return await api.client.put(f"/v1/formats/{name}", content=body.encode(), headers=headers)


async def test_put_yaml_then_get_list_delete(api: ApiHarness) -> None:
    created = await put(api, "acme", ACME_YAML)
    assert created.status_code == 201, created.text
    assert created.json()["mapping"]["time"] == {
        "format": "strftime",
        "pattern": "%d.%m.%Y %H:%M:%S",
        "zone": "camera",  # the default, filled in
    }
    assert created.json()["ingest_path"] == "/v1/ingest/acme"
    again = await put(api, "acme", yaml.safe_load(ACME_YAML))  # the same as JSON: a replacement
    assert again.status_code == 200
    listed = (await api.client.get("/v1/formats", headers=api.auth())).json()
    assert [f["name"] for f in listed["items"]] == ["acme"]
    assert "genetec" in listed["builtin"]
    got = await api.client.get("/v1/formats/acme", headers=api.auth())
    assert got.json()["mapping"]["country_code"] == "numeric"
    gone = await api.client.delete("/v1/formats/acme", headers=api.auth())
    assert gone.status_code == 204
    assert (await api.client.get("/v1/formats/acme", headers=api.auth())).status_code == 404
    audit = (await api.client.get("/v1/audit", headers=api.auth("auditor"))).json()["items"]
    assert {"format.put", "format.delete"} <= {a["action"] for a in audit}


REFUSED = {
    "built-in name": ("genetec", ACME_YAML, "name"),
    "strftime without pattern": (
        "acme2", ACME_YAML.replace('time: {format: strftime, pattern: "%d.%m.%Y %H:%M:%S"}',
                                   "time: {format: strftime}"), "time.pattern"),
    "bad JSONPath": ("acme3", ACME_YAML.replace("$.detections[*]", "$.detections[("), "reads"),
    "not YAML": ("acme4", "body: [json\n", "body"),
    "no plate": ("acme5", ACME_YAML.replace("  plate: plate\n", ""), "fields.plate"),
}  # fmt: skip


@pytest.mark.parametrize("name, body, field", REFUSED.values(), ids=REFUSED.keys())
async def test_bad_mappings_are_422_with_the_field(
    api: ApiHarness, name: str, body: str, field: str
) -> None:
    response = await put(api, name, body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert name not in api.service.registry.formats


@pytest.mark.parametrize("role", ["operator", "supervisor", "auditor", "manager", "integrator"])
async def test_only_admins_manage_formats(api: ApiHarness, role: str) -> None:
    assert (await put(api, "acme", ACME_YAML, role)).status_code == 403
    assert (await api.client.get("/v1/formats", headers=api.auth(role))).status_code == 403


async def test_gateway_takes_a_registered_mapping_without_restart(api: ApiHarness) -> None:
    """The API publishes the mapping; a gateway already running on the same bus learns it."""
    writer = RegistryWriter(api.bus, api.topics.registry)
    await writer.put_camera(
        CameraSpec(
            camera_id="acme-cam",
            integrator_id="int-1",
            name="ACME",
            timezone="Europe/Brussels",
            external_ids=["acme:SN-42"],
        )
    )
    async with running_gateway(api.bus, register=False) as gw:
        gw.token = api.tokens["integrator"]
        local = datetime.now(ZoneInfo("Europe/Brussels")).replace(microsecond=0) - timedelta(
            minutes=1
        )
        payload = {
            "serial": "SN-42",
            "detections": [
                {
                    "plate": "1-ABC-123",
                    "time": local.strftime("%d.%m.%Y %H:%M:%S"),
                    "score": 87,
                    "nation": 56,
                },
                {"plate": "2-XYZ-999", "time": "yesterday"},
            ],
        }
        unknown = await gw.client.post("/v1/ingest/acme", json=payload, headers=gw.auth())
        assert unknown.status_code == 404
        assert (await put(api, "acme", ACME_YAML)).status_code in (200, 201)
        service = gw.app.state.service
        await until(lambda: "acme" in service.registry.formats)
        # An integrator is not told which mappings the administrators registered.
        other = await gw.client.post("/v1/ingest/acme2", json=payload, headers=gw.auth())
        assert other.status_code == 404
        assert "genetec" in other.text
        assert "acme" not in other.text.replace("'acme2'", "")
        response = await gw.client.post("/v1/ingest/acme", json=payload, headers=gw.auth())
        assert response.status_code == 200, response.text
        assert response.json() == {"result": "ok"}
        reads = [
            r
            for r in values(await read_topic(gw.bus, gw.topics.reads, timeout_s=1.0))
            if r["camera_id"] == "acme-cam"
        ]
        assert [
            (r["plate_norm"], r["captured_at_ms"], r["confidence"], r["country"]) for r in reads
        ] == [("1ABC123", int(local.timestamp() * 1000), 0.87, "BE")]
        builtin = await gw.client.post("/v1/ingest/genetec", content=b"{}", headers=gw.auth())
        assert builtin.status_code == 422  # the built-in adapter answered, not a mapping
        await api.client.delete("/v1/formats/acme", headers=api.auth())
        await until(lambda: "acme" not in service.registry.formats)
        gone = await gw.client.post("/v1/ingest/acme", json=payload, headers=gw.auth())
        assert gone.status_code == 404
