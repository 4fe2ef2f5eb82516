"""Issue 11, item 5: registry integrity.

Vendor ids are unique across cameras; token names are unique and audit entries name the token
id; tokens are listed, revoked and rotated through the API and `anpr admin`, and every gateway
refuses a revoked token within seconds; CLI writes reach the API's audit log."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from pydantic import SecretStr

from anpr.audit_wire import AuditRecord, publish_audit
from anpr.auth import hash_token, new_token
from anpr.bus.local import LocalBus
from anpr.errors import InvalidRecord
from anpr.registry import CameraSpec, RegistryView, camera_key, token_key
from anpr.topics import Topics
from anpr_cli import main
from api.app import create_app
from api.store.sqlite import SqliteStore
from tests.support.gateway import running_gateway
from tests.unit.api_fixtures import ADMIN_TOKEN, api_settings, running_api


def test_an_external_id_claimed_by_two_cameras_resolves_to_neither() -> None:
    view = RegistryView()
    for camera_id in ("cam-a", "cam-b"):
        spec = CameraSpec(
            camera_id=camera_id, integrator_id="i", name=camera_id, external_ids=["MAC-1"]
        )
        view.apply(camera_key(camera_id).encode(), orjson.dumps(spec.model_dump(mode="json")))
    assert view.camera_by_external_id("MAC-1") is None
    view.apply(camera_key("cam-b").encode(), None)
    camera = view.camera_by_external_id("MAC-1")
    assert camera is not None and camera.camera_id == "cam-a"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b'{"v": 1, "kind": "token", "name": "desk-3"}', id="no-role"),
        pytest.param(b'{"v": 1, "kind": "token", "role": "wizard"}', id="unknown-role"),
    ],
)
def test_a_malformed_token_record_is_refused_without_its_hash(value: bytes) -> None:
    """The error is logged and copied to the dead-letter topic: it says the kind, not the key
    (a token's hash is what the registry looks the token up by)."""
    digest = hash_token(new_token())
    view = RegistryView()
    with pytest.raises(InvalidRecord) as refused:
        view.apply(token_key(digest).encode(), value)
    assert digest[:8] not in str(refused.value)
    assert "token" in str(refused.value)
    assert view.tokens == {}


@pytest.mark.parametrize("kind", ["camera", "integrator", "token", "format"])
@pytest.mark.parametrize(
    "value", [b"[1]", b'"x"', b"1", b"null"], ids=["list", "str", "int", "null"]
)
def test_a_record_that_is_json_but_not_an_object_is_an_invalid_record(
    kind: str, value: bytes
) -> None:
    """Counted and dead-lettered as an invalid record, not raised as a failure of the process
    (an `AttributeError` from `.get` on a list paged ops as a handling failure)."""
    digest = hash_token(new_token())
    ident = digest if kind == "token" else "x-1"
    view = RegistryView()
    with pytest.raises(InvalidRecord) as refused:
        view.apply(f"{kind}/{ident}".encode(), value)
    assert digest[:8] not in str(refused.value)
    assert (view.cameras, view.integrators, view.tokens, view.formats) == ({}, {}, {}, {})


async def test_external_ids_are_unique_across_cameras() -> None:
    async with running_api() as api:
        await api.register_camera("cam-a", external_ids=["MAC-1"])
        dup = await api.client.post(
            "/v1/cameras",
            json={
                "camera_id": "cam-b",
                "integrator_id": "int-1",
                "name": "b",
                "external_ids": ["MAC-1"],
            },
            headers=api.auth(),
        )
        assert dup.status_code == 409
        assert dup.json()["errors"][0]["field"] == "external_ids"
        await api.register_camera("cam-b")
        hijack = await api.client.patch(
            "/v1/cameras/cam-b", json={"external_ids": ["MAC-1"]}, headers=api.auth()
        )
        assert hijack.status_code == 409
        same = await api.client.patch(
            "/v1/cameras/cam-a", json={"external_ids": ["MAC-1", "SN-9"]}, headers=api.auth()
        )
        assert same.status_code == 200, same.text


async def test_token_names_are_unique_and_audit_names_the_token_id() -> None:
    async with running_api() as api:
        dup = await api.client.post(
            "/v1/tokens", json={"role": "operator", "name": "operator-1"}, headers=api.auth()
        )
        assert dup.status_code == 409
        listed = (await api.client.get("/v1/tokens", headers=api.auth())).json()["items"]
        ids = {t["name"]: t["token_id"] for t in listed}
        assert "token" not in str(listed[0].keys() - {"token_id"})
        assert all(len(t["token_id"]) == 16 for t in listed)
        search = await api.client.get(
            "/v1/hits",
            params={"plate": "AB123", "reason": "case 42"},
            headers=api.auth("operator"),
        )
        assert search.status_code == 200
        audit = (await api.client.get("/v1/audit", headers=api.auth("auditor"))).json()["items"]
        (entry,) = [a for a in audit if a["action"] == "hits.search"]
        assert entry["detail"]["actor_token_id"] == ids["operator-1"]


async def test_a_token_name_differing_only_in_case_or_blanks_is_taken() -> None:
    """The audit log shows actors by name: `Operator-1` beside `operator-1` would read as one."""
    async with running_api() as api:
        for name in ("Operator-1", " operator-1 ", "OPERATOR-1"):
            dup = await api.client.post(
                "/v1/tokens", json={"role": "operator", "name": name}, headers=api.auth()
            )
            assert dup.status_code == 409, (name, dup.text)
            assert dup.json()["errors"][0]["field"] == "name"
        other = await api.client.post(
            "/v1/tokens", json={"role": "operator", "name": "operator-2"}, headers=api.auth()
        )
        assert other.status_code == 201, other.text


@pytest.mark.parametrize("name", ["bootstrap-admin", "Bootstrap-Admin", " bootstrap-admin"])
async def test_no_registry_token_takes_the_bootstrap_admins_name(name: str) -> None:
    """The audit log names the `ANPR_ADMIN_TOKEN` admin `bootstrap-admin` (its actor): a
    registry token of that name would pass for it there."""
    async with running_api() as api:
        refused = await api.client.post(
            "/v1/tokens", json={"role": "admin", "name": name}, headers=api.auth()
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "name"
        listed = (await api.client.get("/v1/tokens", headers=api.auth())).json()["items"]
        assert all(t["name"].strip().casefold() != "bootstrap-admin" for t in listed)


async def _wait_status(
    client_call: Callable[[], Awaitable[httpx.Response]], want: int, timeout_s: float = 5.0
) -> float:
    """Seconds until the call answers `want`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        response = await client_call()
        if response.status_code == want:
            return loop.time() - started
        assert loop.time() - started < timeout_s, response.text
        await asyncio.sleep(0.02)


async def test_revoked_and_rotated_tokens_are_refused_by_the_gateway_within_seconds() -> None:
    async with running_api() as api:
        await api.register_camera("cam-1")
        async with running_gateway(api.bus, register=False) as gw:
            old = api.tokens["integrator"]
            beat = {"camera_id": "cam-1", "sent_at": "2026-01-01T00:00:00Z"}

            def push(token: str) -> Callable[[], Awaitable[httpx.Response]]:
                return lambda: gw.client.post("/v1/heartbeats", json=beat, headers=gw.auth(token))

            await _wait_status(push(old), 202)
            rotated = await api.client.post("/v1/integrators/int-1/token", headers=api.auth())
            assert rotated.status_code == 201
            new = rotated.json()["token"]
            took = await _wait_status(push(old), 401)
            assert took < 2.0
            assert (await push(new)()).status_code == 202

            listed = (await api.client.get("/v1/tokens", headers=api.auth())).json()["items"]
            (integrator,) = [t for t in listed if t["role"] == "integrator"]
            gone = await api.client.delete(
                f"/v1/tokens/{integrator['token_id']}", headers=api.auth()
            )
            assert gone.status_code == 204
            assert await _wait_status(push(new), 401) < 2.0
            again = await api.client.delete(
                f"/v1/tokens/{integrator['token_id']}", headers=api.auth()
            )
            assert again.status_code == 404

            operator = api.tokens["operator"]
            op_id = next(t["token_id"] for t in listed if t["name"] == "operator-1")
            assert (
                await api.client.delete(f"/v1/tokens/{op_id}", headers=api.auth())
            ).status_code == 204
            hits = await api.client.get("/v1/hits", headers={"Authorization": f"Bearer {operator}"})
            assert hits.status_code == 401

            actions = [
                a["action"]
                for a in (await api.client.get("/v1/audit", headers=api.auth())).json()["items"]
            ]
            assert actions.count("token.revoke") == 2
            assert actions.count("token.rotate") == 1


async def test_audit_records_on_the_topic_reach_the_audit_log() -> None:
    async with running_api() as api:
        record = AuditRecord("camera.put", "cam-9", "cli:ops@host", detail={"zones": ["z"]})
        await publish_audit(api.bus, api.topics.audit, record)
        await publish_audit(api.bus, api.topics.audit, record)  # at least once: a twin
        items: list[dict[str, object]] = []

        async def fetch() -> None:
            nonlocal items
            response = await api.client.get("/v1/audit", headers=api.auth("auditor"))
            items = [a for a in response.json()["items"] if a["action"] == "camera.put"]

        deadline = asyncio.get_running_loop().time() + 5
        while len(items) < 2:
            assert asyncio.get_running_loop().time() < deadline
            await fetch()
            await asyncio.sleep(0.05)
        assert {i["actor"] for i in items} == {"cli:ops@host"}
        assert {i["detail"]["record_id"] for i in items} == {record.record_id}  # type: ignore[index]


@pytest.fixture
def cli_in_process() -> Iterator[None]:
    """`anpr_cli.main` sets the process umask and the root log handler: put them back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    umask = os.umask(0o022)
    os.umask(umask)
    yield
    os.umask(umask)
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_anpr_admin_writes_are_audited(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cli_in_process: None,
) -> None:
    monkeypatch.setenv("ANPR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ANPR_KAFKA_BOOTSTRAP", raising=False)
    assert await asyncio.to_thread(main, ["admin", "token", "auditor", "--name", "cli-made"]) == 0
    assert await asyncio.to_thread(main, ["admin", "token", "auditor", "--name", "cli-made"]) == 2
    assert await asyncio.to_thread(main, ["admin", "integrator", "int-7", "--name", "Seven"]) == 0
    assert await asyncio.to_thread(main, ["admin", "rotate-token", "int-7"]) == 0
    assert await asyncio.to_thread(main, ["admin", "tokens"]) == 0
    csv = tmp_path / "list.csv"
    csv.write_text("entry_id,plate\ne1,AB123\ne2,CD456\n")
    assert await asyncio.to_thread(main, ["hotlist", "load", "cli-list", str(csv)]) == 0
    listing = capsys.readouterr().out
    assert "cli-made" in listing and "int-7" in listing
    config = api_settings(data_dir=tmp_path, admin_token=SecretStr(ADMIN_TOKEN))
    bus = LocalBus(tmp_path / "bus.sqlite3", Topics.from_prefix("anpr.").specs(config))
    await bus.start()
    try:
        app = create_app(config, bus, store=SqliteStore(None))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
                actions: list[str] = []
                deadline = asyncio.get_running_loop().time() + 5
                while len(actions) < 5:
                    assert asyncio.get_running_loop().time() < deadline, actions
                    items = (await client.get("/v1/audit", headers=headers)).json()["items"]
                    actions = sorted(a["action"] for a in items)
                    await asyncio.sleep(0.05)
                assert actions == [
                    "hotlist.config",
                    "hotlist.replace",
                    "integrator.create",
                    "token.create",
                    "token.rotate",
                ]
                assert all(a["actor"].startswith("cli:") for a in items)
    finally:
        await bus.stop()


async def test_anpr_hotlist_load_of_a_covert_list_is_audited_as_covert(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cli_in_process: None,
) -> None:
    """An auditor is not cleared for covert: a CLI load of a covert list stays redacted after
    the list is deleted (the entry is marked, not only recognised by the list it names), and
    /metrics (no token) does not count it."""
    monkeypatch.setenv("ANPR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ANPR_KAFKA_BOOTSTRAP", raising=False)
    assert await asyncio.to_thread(main, ["admin", "token", "auditor", "--name", "aud"]) == 0
    auditor_token = capsys.readouterr().out.strip().splitlines()[-1]
    csv = tmp_path / "list.csv"
    csv.write_text("entry_id,plate\ne1,NJ123\n")
    load = ["hotlist", "load", "nightjar", str(csv), "--covert"]
    assert await asyncio.to_thread(main, load) == 0
    config = api_settings(data_dir=tmp_path, admin_token=SecretStr(ADMIN_TOKEN))
    bus = LocalBus(tmp_path / "bus.sqlite3", Topics.from_prefix("anpr.").specs(config))
    await bus.start()
    try:
        app = create_app(config, bus, store=SqliteStore(None))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
                auditor = {"Authorization": f"Bearer {auditor_token}"}
                deadline = asyncio.get_running_loop().time() + 5
                while True:
                    items = (await client.get("/v1/audit", headers=admin)).json()["items"]
                    if {"hotlist.config", "hotlist.replace"} <= {a["action"] for a in items}:
                        break
                    assert asyncio.get_running_loop().time() < deadline, items
                    await asyncio.sleep(0.05)
                gone = await client.delete("/v1/hotlists/nightjar", headers=admin)
                assert gone.status_code == 204, gone.text
                response = await client.get("/v1/audit", headers=auditor)
                assert response.status_code == 200, response.text
                seen = response.json()["items"]
                assert "nightjar" not in repr(seen).lower() and "NJ123" not in repr(seen)
                assert {e["target"] for e in seen if e["action"].startswith("hotlist.")} == {
                    "covert"
                }
                metrics = (await client.get("/metrics")).text
                assert 'anpr_api_audit_entries_total{action="hotlist.' not in metrics
    finally:
        await bus.stop()
