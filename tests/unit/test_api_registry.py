"""The API's operations endpoints, authentication and the registry routes (integrators, tokens,
cameras), on the in-memory bus."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from anpr.registry import CameraState
from tests.support.factories import unique
from tests.unit.api_fixtures import ApiHarness, running_api


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


# -- operations ------------------------------------------------------------------------------


async def test_healthz_readyz_metrics_need_no_auth(api: ApiHarness) -> None:
    alive = (await api.client.get("/healthz")).json()
    assert alive["status"] == "alive"
    assert {"api-hits", "api-registry", "api-retention", "event-loop-lag"} <= set(alive["tasks"])
    assert all(task["state"] == "running" for task in alive["tasks"].values())
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert {k: body[k] for k in ("status", "registry_loaded", "hotlists_loaded")} == {
        "status": "ready",
        "registry_loaded": True,
        "hotlists_loaded": True,
    }
    assert body["hits_caught_up"] is True
    assert {loop["state"] for loop in body["loops"].values()} == {"consuming"}
    metrics = await api.client.get("/metrics")
    assert metrics.status_code == 200
    assert "anpr_api_requests_total" in metrics.text
    assert 'route="/v1/tokens"' in metrics.text
    assert "anpr_api_ready 1.0" in metrics.text


async def test_openapi_lists_every_route_with_a_response_model(api: ApiHarness) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/v1/hits",
        "/v1/hits/stream",
        "/v1/hits/{hit_id}",
        "/v1/hits/{hit_id}/acknowledge",
        "/v1/cameras",
        "/v1/cameras/{camera_id}",
        "/v1/cameras/{camera_id}/health",
        "/v1/integrators",
        "/v1/tokens",
        "/v1/audit",
    ):
        assert path in paths, path
    for path, operations in paths.items():
        for method, operation in operations.items():
            ok = {c: r for c, r in operation["responses"].items() if c.startswith("2")}
            assert ok, (method, path)
            for code, response in ok.items():
                if code != "204":
                    assert response.get("content"), (method, path, code)


# -- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Bearer nope", "Bearer", "Basic aW50LTE6eA==", "Token abc"],
    ids=["missing", "unknown", "empty", "basic", "scheme"],
)
async def test_missing_or_bad_token_is_401(api: ApiHarness, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = await api.client.get("/v1/cameras", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["detail"]


async def test_integrator_tokens_may_do_nothing_on_the_api(api: ApiHarness) -> None:
    for method, path in [("GET", "/v1/cameras"), ("GET", "/v1/hits"), ("GET", "/v1/audit")]:
        response = await api.client.request(method, path, headers=api.auth("integrator"))
        assert response.status_code == 403, path


# -- integrators and tokens ------------------------------------------------------------------


async def test_create_integrator_then_conflict(api: ApiHarness) -> None:
    ident = unique("int")
    body = {"integrator_id": ident, "name": "Acme"}
    response = await api.client.post("/v1/integrators", json=body, headers=api.auth())
    assert response.status_code == 201
    created = response.json()
    assert created["integrator_id"] == ident
    assert len(created["token"]) >= 22
    assert ident in api.service.registry.integrators
    again = await api.client.post("/v1/integrators", json=body, headers=api.auth())
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "integrator_id"


@pytest.mark.parametrize("role", ["operator", "supervisor", "auditor", "integrator"])
async def test_registry_writes_are_admin_only(api: ApiHarness, role: str) -> None:
    headers = api.auth(role)
    for path, body in [
        ("/v1/integrators", {"integrator_id": unique("i"), "name": "x"}),
        ("/v1/tokens", {"role": "operator", "name": "x"}),
        ("/v1/cameras", {"camera_id": unique("c"), "integrator_id": "int-1", "name": "x"}),
    ]:
        response = await api.client.post(path, json=body, headers=headers)
        assert response.status_code == 403, (role, path)


async def test_create_integrator_validation_names_fields(api: ApiHarness) -> None:
    response = await api.client.post(
        "/v1/integrators", json={"integrator_id": "bad id!", "name": ""}, headers=api.auth()
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"integrator_id", "name"}
    broken = await api.client.post(
        "/v1/integrators",
        content=b"{not json",
        headers={**api.auth(), "Content-Type": "application/json"},
    )
    assert broken.status_code == 422


@pytest.mark.parametrize("role", ["operator", "supervisor", "admin", "auditor"])
async def test_created_token_works_at_once_with_its_role(api: ApiHarness, role: str) -> None:
    response = await api.client.post(
        "/v1/tokens", json={"role": role, "name": f"new-{role}"}, headers=api.auth()
    )
    assert response.status_code == 201
    body = response.json()
    assert body["role"] == role
    assert body["name"] == f"new-{role}"
    cameras = await api.client.get(
        "/v1/cameras", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert cameras.status_code == (403 if role == "auditor" else 200)


async def test_token_role_must_be_a_user_role(api: ApiHarness) -> None:
    response = await api.client.post(
        "/v1/tokens", json={"role": "integrator", "name": "x"}, headers=api.auth()
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "role"


# -- cameras -------------------------------------------------------------------------------------


async def test_camera_lifecycle_reads_its_own_writes(api: ApiHarness) -> None:
    camera_id = unique("cam")
    created = await api.register_camera(
        camera_id, zones=["north"], expected_reads_per_hour=120, timezone="Europe/Brussels"
    )
    assert created["camera_id"] == camera_id
    assert created["zones"] == ["north"]
    assert created["state"] == "live"
    assert created["health"]["status"] == "never_seen"
    got = await api.client.get(f"/v1/cameras/{camera_id}", headers=api.auth("operator"))
    assert got.status_code == 200
    assert got.json()["expected_reads_per_hour"] == 120
    listing = await api.client.get("/v1/cameras", headers=api.auth("supervisor"))
    assert camera_id in {c["camera_id"] for c in listing.json()["items"]}
    for item in listing.json()["items"]:
        assert set(item["health"]) >= {
            "status",
            "last_read_at",
            "last_heartbeat_at",
            "reads_last_5m",
            "reads_last_1h",
            "clock_skew_ms",
            "low_confidence_ratio",
            "rejected_last_1h",
            "duplicate_ratio",
        }

    patched = await api.client.patch(
        f"/v1/cameras/{camera_id}",
        json={"state": "commissioning", "location": {"lat": 50.8, "lon": 4.4}},
        headers=api.auth(),
    )
    assert patched.status_code == 200
    assert patched.json()["state"] == "commissioning"
    assert patched.json()["zones"] == ["north"]
    got = await api.client.get(f"/v1/cameras/{camera_id}", headers=api.auth())
    assert got.json()["location"] == {"lat": 50.8, "lon": 4.4}

    deleted = await api.client.delete(f"/v1/cameras/{camera_id}", headers=api.auth())
    assert deleted.status_code == 204
    gone = await api.client.get(f"/v1/cameras/{camera_id}", headers=api.auth())
    assert gone.status_code == 404


async def test_a_cameras_record_says_since_when_its_state_holds(api: ApiHarness) -> None:
    """The matcher judges a read test or live by its camera's state when it was received
    (`Camera.state_at`): each write keeps the state's start, a change of state sets it anew
    with the state before, and neither is part of the camera the API shows."""
    camera_id = unique("cam")
    created = await api.register_camera(camera_id, state="commissioning")
    registry = api.service.registry
    first = registry.cameras[camera_id]
    assert first.state_since is not None and first.state_before is None
    assert "state_since" not in created and "state_before" not in created

    renamed = await api.client.patch(
        f"/v1/cameras/{camera_id}", json={"name": "Renamed"}, headers=api.auth()
    )
    assert renamed.status_code == 200
    kept = registry.cameras[camera_id]
    assert (kept.state_since, kept.state_before) == (first.state_since, None)

    live = await api.client.patch(
        f"/v1/cameras/{camera_id}", json={"state": "live"}, headers=api.auth()
    )
    assert live.status_code == 200 and "state_since" not in live.json()
    changed = registry.cameras[camera_id]
    assert changed.state_since is not None and changed.state_since >= first.state_since
    assert changed.state_before is CameraState.COMMISSIONING
    assert changed.record["updated_at"] == changed.state_since
    assert changed.state_at(changed.state_since - 1) is CameraState.COMMISSIONING
    assert changed.state_at(changed.state_since) is CameraState.LIVE


async def test_camera_conflict_and_unknown_integrator(api: ApiHarness) -> None:
    camera_id = unique("cam")
    await api.register_camera(camera_id)
    again = await api.client.post(
        "/v1/cameras",
        json={"camera_id": camera_id, "integrator_id": "int-1", "name": "x"},
        headers=api.auth(),
    )
    assert again.status_code == 409
    unknown = await api.client.post(
        "/v1/cameras",
        json={"camera_id": unique("cam"), "integrator_id": "nobody", "name": "x"},
        headers=api.auth(),
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "integrator_id"


async def test_camera_validation_names_fields(api: ApiHarness) -> None:
    response = await api.client.post(
        "/v1/cameras",
        json={
            "camera_id": "ok-1",
            "integrator_id": "int-1",
            "name": "x",
            "timezone": "Mars/Olympus",
            "location": {"lat": 91, "lon": 0},
            "state": "broken",
        },
        headers=api.auth(),
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"timezone", "location.lat", "state"}


async def test_camera_patch_null_clears_an_optional_field(api: ApiHarness) -> None:
    """`PATCH` documents `null` as clearing an optional field; zones and external ids were
    refused (422: "must be a list") instead of cleared."""
    camera_id = unique("cam")
    await api.register_camera(camera_id)
    set_up = await api.client.patch(
        f"/v1/cameras/{camera_id}",
        json={
            "zones": ["north"],
            "external_ids": [f"vendor:{camera_id}"],
            "location": {"lat": 50.8, "lon": 4.4},
            "expected_reads_per_hour": 120.0,
            "timezone": "Europe/Brussels",
        },
        headers=api.auth(),
    )
    assert set_up.status_code == 200, set_up.text
    cleared = await api.client.patch(
        f"/v1/cameras/{camera_id}",
        json={
            "zones": None,
            "external_ids": None,
            "location": None,
            "expected_reads_per_hour": None,
            "timezone": None,
        },
        headers=api.auth(),
    )
    assert cleared.status_code == 200, cleared.text
    got = (await api.client.get(f"/v1/cameras/{camera_id}", headers=api.auth())).json()
    assert got["zones"] == [] and got["external_ids"] == []
    assert got.get("location") is None and got.get("expected_reads_per_hour") is None
    assert got["timezone"] == "UTC"
    no_state = await api.client.patch(
        f"/v1/cameras/{camera_id}", json={"state": None}, headers=api.auth()
    )
    assert no_state.status_code == 422
    assert [e["field"] for e in no_state.json()["errors"]] == ["state"]


async def test_camera_patch_errors(api: ApiHarness) -> None:
    camera_id = unique("cam")
    await api.register_camera(camera_id)
    missing = await api.client.patch("/v1/cameras/nope", json={"name": "x"}, headers=api.auth())
    assert missing.status_code == 404
    renamed = await api.client.patch(
        f"/v1/cameras/{camera_id}", json={"camera_id": "other"}, headers=api.auth()
    )
    assert renamed.status_code == 422
    assert renamed.json()["errors"][0]["field"] == "camera_id"
    cleared = await api.client.patch(
        f"/v1/cameras/{camera_id}",
        json={"name": None, "timezone": "Nowhere/X"},
        headers=api.auth(),
    )
    assert cleared.status_code == 422
    assert {e["field"] for e in cleared.json()["errors"]} == {"name", "timezone"}
    foreign = await api.client.patch(
        f"/v1/cameras/{camera_id}", json={"integrator_id": "nobody"}, headers=api.auth()
    )
    assert foreign.status_code == 422
    forbidden = await api.client.patch(
        f"/v1/cameras/{camera_id}", json={"name": "x"}, headers=api.auth("supervisor")
    )
    assert forbidden.status_code == 403
    # A rate is a number: true was taken as 1 read an hour, "3600" as 3,600.
    for rate in (True, "3600"):
        wrong = await api.client.patch(
            f"/v1/cameras/{camera_id}", json={"expected_reads_per_hour": rate}, headers=api.auth()
        )
        assert wrong.status_code == 422, rate
        assert [e["field"] for e in wrong.json()["errors"]] == ["expected_reads_per_hour"]
        made = await api.client.post(
            "/v1/cameras",
            json={
                "camera_id": unique("cam"),
                "integrator_id": "int-1",
                "name": "x",
                "expected_reads_per_hour": rate,
            },
            headers=api.auth(),
        )
        assert made.status_code == 422, rate
        assert [e["field"] for e in made.json()["errors"]] == ["expected_reads_per_hour"]


async def test_camera_reads_and_deletes_by_role(api: ApiHarness) -> None:
    camera_id = unique("cam")
    await api.register_camera(camera_id)
    for role, status in [("operator", 200), ("supervisor", 200), ("auditor", 403)]:
        response = await api.client.get(f"/v1/cameras/{camera_id}/health", headers=api.auth(role))
        assert response.status_code == status, role
    assert (await api.client.get("/v1/cameras/nope/health", headers=api.auth())).status_code == 404
    for role in ("operator", "supervisor", "auditor"):
        response = await api.client.delete(f"/v1/cameras/{camera_id}", headers=api.auth(role))
        assert response.status_code == 403, role
    assert (await api.client.delete("/v1/cameras/nope", headers=api.auth())).status_code == 404
    assert (await api.client.delete(f"/v1/cameras/{camera_id}")).status_code == 401


async def test_registry_changes_are_audited(api: ApiHarness) -> None:
    camera_id = unique("cam")
    await api.register_camera(camera_id)
    await api.client.patch(f"/v1/cameras/{camera_id}", json={"name": "y"}, headers=api.auth())
    await api.client.delete(f"/v1/cameras/{camera_id}", headers=api.auth())
    response = await api.client.get("/v1/audit?limit=500", headers=api.auth("auditor"))
    assert response.status_code == 200
    mine = [e for e in response.json()["items"] if e["target"] == camera_id]
    assert [e["action"] for e in mine] == ["camera.delete", "camera.update", "camera.create"]
    assert all(e["actor"] == "admin-1" and e["role"] == "admin" for e in mine)
    actions = {e["action"] for e in response.json()["items"]}
    assert {"token.create", "integrator.create"} <= actions
    assert not any(api.tokens["operator"] in str(e) for e in response.json()["items"]), (
        "a token must never reach the audit log"
    )


async def test_every_route_but_operations_needs_a_token(api: ApiHarness) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    # Signing in to the console is how a browser gets its session (api.console.routes).
    open_paths = {"/healthz", "/readyz", "/metrics", "/console/session"}
    checked = 0
    for path, operations in spec["paths"].items():
        if path in open_paths:
            continue
        url = path.replace("{", "").replace("}", "")
        for method in operations:
            response = await api.client.request(method.upper(), url)
            assert response.status_code == 401, (method, path)
            checked += 1
    assert checked >= 18


async def test_openapi_has_no_dangling_references(api: ApiHarness) -> None:
    import re

    spec = (await api.client.get("/openapi.json")).json()
    refs = set(re.findall(r"#/components/schemas/(\w+)", str(spec)))
    assert refs <= set(spec["components"]["schemas"])


async def test_metrics_cover_hits_streams_cameras_and_audit(api: ApiHarness) -> None:
    text = (await api.client.get("/metrics")).text
    for name in (
        "anpr_api_hits_stored_total",
        "anpr_api_stream_clients",
        "anpr_api_hits_streamed_total",
        "anpr_api_hit_delivery_seconds",
        "anpr_api_cameras",
        "anpr_api_camera_last_seen_age_seconds",
        "anpr_api_audit_entries_total",
        "anpr_api_request_seconds",
    ):
        assert f"# TYPE {name}" in text, name
    assert 'anpr_api_audit_entries_total{action="token.create"}' in text


async def test_not_ready_before_the_registry_is_loaded() -> None:
    import httpx

    from anpr.bus.local import LocalBus
    from api.app import create_app
    from tests.unit.api_fixtures import ADMIN_TOKEN, api_settings

    app = create_app(api_settings(), LocalBus(None, []))  # lifespan not run: nothing loaded
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        unknown = await client.get("/v1/cameras", headers={"Authorization": "Bearer x"})
        assert unknown.status_code == 503
        assert unknown.headers["retry-after"]
        admin = await client.get("/v1/cameras", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert admin.status_code == 200
        assert admin.json() == {"items": []}


async def test_ids_with_unsafe_characters_are_refused(api: ApiHarness) -> None:
    response = await api.client.post(
        "/v1/cameras",
        json={"camera_id": "cam 1/x", "integrator_id": "int-1", "name": "x"},
        headers=api.auth(),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "camera_id"


async def test_bus_failure_on_a_write_is_503_with_retry_after(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anpr.errors import BusUnavailable

    async def refuse(*args: object, **kwargs: object) -> None:
        raise BusUnavailable("kafka down")

    monkeypatch.setattr(api.bus, "publish", refuse)
    camera_id = unique("cam")
    response = await api.client.post(
        "/v1/cameras",
        json={"camera_id": camera_id, "integrator_id": "int-1", "name": "x"},
        headers=api.auth(),
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    hotlist = await api.client.put(
        f"/v1/hotlists/{unique('l')}",
        json={"name": "x", "category": "c", "priority": 1},
        headers=api.auth("supervisor"),
    )
    assert hotlist.status_code == 503
    monkeypatch.undo()
    assert camera_id not in api.service.registry.cameras


async def test_camera_list_matches_each_camera_and_is_written_off_the_loop(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.cameras import routes

    mine = [unique(f"list{n}") for n in range(3)]
    for camera_id in mine:
        await api.register_camera(camera_id, zones=["north"])
    threads: list[str] = []
    real = routes._camera_list_json

    def recorded(parts: Any) -> bytes:
        threads.append(threading.current_thread().name)
        return real(parts)

    monkeypatch.setattr(routes, "_camera_list_json", recorded)
    listing = await api.client.get("/v1/cameras", headers=api.auth("operator"))
    assert listing.status_code == 200
    assert listing.headers["content-type"] == "application/json"
    items = listing.json()["items"]
    assert [c["camera_id"] for c in items] == sorted(c["camera_id"] for c in items)
    listed = {c["camera_id"]: c for c in items}
    for camera_id in mine:  # never seen: nothing in them changes between the two calls
        one = await api.client.get(f"/v1/cameras/{camera_id}", headers=api.auth())
        assert one.json() == listed[camera_id]
    assert threads and threading.current_thread().name not in threads
