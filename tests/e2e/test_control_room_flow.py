"""A camera and a control room, end to end through the real broker and the three processes:
register through the API, upload a hotlist, push reads to the gateway, see the hit in the query
and on an open SSE stream, acknowledge it, and find it all in the audit log."""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
import pytest

from anpr.clock import ms_to_rfc3339, now_ms
from tests.e2e.conftest import ADMIN, Deployment


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sse_events(
    client: httpx.AsyncClient, url: str, token: str, found: list[dict[str, object]], want: int
) -> None:
    """Collect the stream's `event: hit` events until `want` arrived."""
    async with client.stream("GET", url, headers=bearer(token), timeout=None) as response:
        assert response.status_code == 200
        event: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line.startswith(("event:", "id:", "data:")):
                name, _, value = line.partition(":")
                event[name] = value.strip()
            elif line == "" and "data" in event and event.get("event") != "hit":
                event = {}  # the alert and sighting events that come with each hit
            elif line == "" and "data" in event:
                found.append(
                    {
                        "id": event.get("id"),
                        "event": event.get("event"),
                        "data": orjson.loads(event["data"]),
                        "received_at": now_ms(),
                    }
                )
                event = {}
                if len(found) >= want:
                    return


@pytest.mark.timeout(180)
async def test_register_upload_push_stream_acknowledge_audit(deployment: Deployment) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        api, gw = deployment.api, deployment.gateway
        admin = bearer(ADMIN)
        integ = await http.post(
            f"{api}/v1/integrators",
            headers=admin,
            json={"integrator_id": "acme", "name": "Acme Integration"},
        )
        assert integ.status_code == 201, integ.text
        camera_token = integ.json()["token"]
        cam = await http.post(
            f"{api}/v1/cameras",
            headers=admin,
            json={
                "camera_id": "cam-e2e",
                "integrator_id": "acme",
                "name": "Ring road north",
                "zones": ["lez-city"],
                "location": {"lat": 50.85, "lon": 4.35},
            },
        )
        assert cam.status_code == 201, cam.text
        tokens = {}
        for role in ("operator", "supervisor", "auditor"):
            made = await http.post(
                f"{api}/v1/tokens", headers=admin, json={"role": role, "name": f"{role}-1"}
            )
            assert made.status_code == 201, made.text
            tokens[role] = made.json()["token"]

        sup = bearer(tokens["supervisor"])
        put = await http.put(
            f"{api}/v1/hotlists/stolen",
            headers=sup,
            json={
                "name": "Stolen vehicles",
                "category": "stolen",
                "priority": 1,
                "match": "ocr",
                "covert": False,
            },
        )
        assert put.status_code in (200, 201), put.text
        csv = (
            "entry_id,plate,country,zones,valid_from,valid_until,reason,action\n"
            "s1,1-ABC-123,BE,,,,stolen 2026-11-01,stop and check\n"
            "s2,XYZ-999,,lez-city,,,LEZ ban,observe\n"
        )
        upload = await http.put(
            f"{api}/v1/hotlists/stolen/entries",
            content=csv,
            headers={**sup, "Content-Type": "text/csv"},
        )
        assert upload.status_code == 200, upload.text
        assert upload.json()["entries"] == 2
        version = upload.json()["version"]

        # The matcher reports the version it applied; wait for it before pushing.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = (await http.get(f"{api}/v1/hotlists/stolen", headers=sup)).json()
            applied = [m["applied_version"] for m in status["matchers"]]
            if applied and all(v == version for v in applied):
                break
            await asyncio.sleep(0.3)
        else:
            pytest.fail(f"no matcher applied version {version}: {status}\n{deployment.logs()}")

        stream: list[dict[str, object]] = []
        listener = asyncio.create_task(
            sse_events(http, f"{api}/v1/hits/stream", tokens["operator"], stream, want=2)
        )
        await asyncio.sleep(0.5)

        reads = [
            {
                "read_id": "e2e-1",
                "camera_id": "cam-e2e",
                "plate": "1ABC 123",
                "country": "BE",
                "captured_at": ms_to_rfc3339(now_ms() - 800),
                "confidence": 0.91,
            },
            {
                "read_id": "e2e-2",
                "camera_id": "cam-e2e",
                "plate": "XYZ999",
                "captured_at": ms_to_rfc3339(now_ms() - 700),
            },
            {
                "read_id": "e2e-3",
                "camera_id": "cam-e2e",
                "plate": "NOHIT1",
                "captured_at": ms_to_rfc3339(now_ms() - 600),
            },
        ]
        deadline = time.monotonic() + 20
        while True:  # the gateway learns the new camera from the registry topic
            pushed = await http.post(f"{gw}/v1/reads", json=reads, headers=bearer(camera_token))
            if pushed.status_code == 202 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
        assert pushed.status_code == 202, pushed.text
        assert pushed.json()["accepted"] == 3

        await asyncio.wait_for(listener, 30)
        assert {e["data"]["read"]["read_id"] for e in stream} == {"e2e-1", "e2e-2"}  # type: ignore[index]
        assert all(
            e["event"] == "hit" and e["id"] == e["data"]["hit_id"]  # type: ignore[index]
            for e in stream
        )

        op = bearer(tokens["operator"])
        page = (await http.get(f"{api}/v1/hits?camera_id=cam-e2e", headers=op)).json()
        assert {h["read"]["read_id"] for h in page["items"]} == {"e2e-1", "e2e-2"}
        hit_id = next(h["hit_id"] for h in page["items"] if h["read"]["read_id"] == "e2e-1")
        no_reason = await http.get(f"{api}/v1/hits?plate=1ABC123", headers=op)
        assert no_reason.status_code == 422
        search = await http.get(f"{api}/v1/hits?plate=1ABC123&reason=case-42", headers=op)
        assert search.status_code == 200 and len(search.json()["items"]) == 1

        ack = await http.post(
            f"{api}/v1/hits/{hit_id}/acknowledge",
            headers=op,
            json={"outcome": "dispatched", "note": "unit 12 sent"},
        )
        assert ack.status_code == 200, ack.text
        again = await http.post(
            f"{api}/v1/hits/{hit_id}/acknowledge", headers=op, json={"outcome": "confirmed"}
        )
        assert again.status_code == 409

        audit = await http.get(f"{api}/v1/audit", headers=bearer(tokens["auditor"]))
        assert audit.status_code == 200
        actions = {(e["action"], e["actor"]) for e in audit.json()["items"]}
        reasons = {e["reason"] for e in audit.json()["items"]}
        assert any(a.startswith("hit") and "ack" in a for a, _ in actions), actions
        assert any("search" in a for a, _ in actions), actions
        assert any("hotlist" in a for a, _ in actions), actions
        assert any("camera" in a for a, _ in actions), actions
        assert "case-42" in reasons
        forbidden = await http.get(f"{api}/v1/audit", headers=op)
        assert forbidden.status_code == 403
