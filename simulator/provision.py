"""Setting a simulation up through the API with an admin token: an integrator, its cameras and
the demo hotlists, then waiting until the gateway knows the cameras and a matcher holds the
lists.

An integrator's token is shown only once, at creation, so it is kept (mode 0600) in
`<data dir>/simulate-integrator.json` for the next run. When the integrator exists but its
token is not on file, a fresh integrator id is registered and the cameras moved to it.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from simulator.fleet import Camera
from simulator.hotlists import ListPlan

TOKEN_FILE = "simulate-integrator.json"  # noqa: S105 - a file name
Say = Callable[[str], None]


class SetupError(Exception):
    """The simulation could not be set up (bad admin token, API down, ...)."""


def admin_token_from(env: dict[str, str], data_dir: Path) -> str | None:
    """`ANPR_ADMIN_TOKEN`, else the development token `anpr run` keeps in the data dir."""
    token = env.get("ANPR_ADMIN_TOKEN")
    if token:
        return token
    path = data_dir / "dev-admin-token"
    if path.is_file():
        return path.read_text().strip() or None
    return None


@dataclass(slots=True)
class Credentials:
    integrator_id: str
    token: str


def _load_tokens(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _save_token(path: Path, integrator_id: str, token: str) -> None:
    tokens = _load_tokens(path)
    tokens[integrator_id] = token
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(tokens, handle, indent=1)
    tmp.replace(path)


class AdminApi:
    def __init__(self, client: httpx.AsyncClient, base: str, admin_token: str) -> None:
        self.client = client
        self.base = base.rstrip("/")
        self.headers = {"Authorization": f"Bearer {admin_token}"}

    async def call(
        self,
        method: str,
        path: str,
        *,
        ok: Iterable[int] = (200, 201),
        json_body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        timeout_s: float = 30.0,
    ) -> httpx.Response:
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = await self.client.request(
                method,
                self.base + path,
                json=json_body,
                content=content,
                headers=headers,
                timeout=timeout_s,
            )
        except httpx.HTTPError as exc:
            raise SetupError(f"{method} {self.base}{path}: {exc!r}") from exc
        if response.status_code in (401, 403):
            raise SetupError(f"{method} {path}: {response.status_code}: is the admin token right?")
        if response.status_code not in set(ok):
            raise SetupError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response

    async def integrator(self, integrator_id: str, data_dir: Path) -> Credentials:
        path = data_dir / TOKEN_FILE
        body = {"integrator_id": integrator_id, "name": "Simulated cameras (anpr simulate)"}
        response = await self.call("POST", "/v1/integrators", json_body=body, ok=(201, 409))
        if response.status_code == 201:
            token = str(response.json()["token"])
            _save_token(path, integrator_id, token)
            return Credentials(integrator_id, token)
        known = _load_tokens(path).get(integrator_id)
        if known:
            return Credentials(integrator_id, known)
        fresh = f"{integrator_id}-{secrets.token_hex(3)}"
        return await self.integrator(fresh, data_dir)

    async def camera(self, camera: Camera, integrator_id: str) -> None:
        body = camera.registration()
        body["integrator_id"] = integrator_id
        response = await self.call("POST", "/v1/cameras", json_body=body, ok=(201, 409))
        if response.status_code == 409:
            patch = {k: v for k, v in body.items() if k != "camera_id"}
            await self.call("PATCH", f"/v1/cameras/{camera.camera_id}", json_body=patch)

    async def cleanup(
        self, *, camera_ids: list[str], list_ids: list[str], integrator_id: str | None
    ) -> dict[str, int]:
        """Undo a set-up (`anpr simulate --cleanup`): delete the cameras and hotlists, revoke
        the integrator's tokens (an integrator record cannot be deleted). Counts what went."""
        done = {"cameras": 0, "hotlists": 0, "tokens": 0}
        for camera_id in camera_ids:
            response = await self.call("DELETE", f"/v1/cameras/{camera_id}", ok=(204, 404))
            done["cameras"] += response.status_code == 204
        for list_id in list_ids:
            response = await self.call("DELETE", f"/v1/hotlists/{list_id}", ok=(204, 404))
            done["hotlists"] += response.status_code == 204
        if integrator_id is not None:
            tokens = (await self.call("GET", "/v1/tokens")).json()["items"]
            for token in tokens:
                if token["role"] == "integrator" and token["integrator_id"] == integrator_id:
                    path = f"/v1/tokens/{token['token_id']}"
                    response = await self.call("DELETE", path, ok=(204, 404))
                    done["tokens"] += response.status_code == 204
        return done

    async def hotlist(self, plan: ListPlan, csv_text: str) -> dict[str, Any]:
        """Create or reconfigure the list, then replace its entries; the API's answer + timing."""
        await self.call("PUT", f"/v1/hotlists/{plan.list_id}", json_body=plan.config())
        started = time.perf_counter()
        response = await self.call(
            "PUT",
            f"/v1/hotlists/{plan.list_id}/entries",
            content=csv_text.encode(),
            content_type="text/csv",
            timeout_s=600.0,
        )
        result: dict[str, Any] = response.json()
        result["upload_s"] = round(time.perf_counter() - started, 2)
        return result

    async def wait_applied(
        self, versions: dict[str, int], *, timeout_s: float, say: Say | None = None
    ) -> float | None:
        """Seconds until some matcher has applied each list at its version (None: timed out)."""
        started = time.perf_counter()
        last_said = 0.0
        while True:
            response = await self.call("GET", "/v1/hotlists")
            pending = set(versions)
            for item in response.json()["items"]:
                wanted = versions.get(item["list_id"])
                if wanted is None:
                    continue
                if any((m["applied_version"] or 0) >= wanted for m in item["matchers"]):
                    pending.discard(item["list_id"])
            elapsed = time.perf_counter() - started
            if not pending:
                return elapsed
            if elapsed > timeout_s:
                return None
            if say is not None and elapsed - last_said >= 5:
                last_said = elapsed
                say(f"  waiting for the matcher to apply {len(pending)} list(s)... {elapsed:.0f} s")
            await asyncio.sleep(0.5)


async def wait_gateway_knows(
    client: httpx.AsyncClient,
    gateway: str,
    creds: Credentials,
    cameras: list[Camera],
    *,
    timeout_s: float = 60.0,
) -> float:
    """Send each sending camera's first heartbeat until the gateway takes them all (the
    registry reaches the gateway through Kafka); returns the seconds it took."""
    url = gateway.rstrip("/") + "/v1/heartbeats"
    headers = {"Authorization": f"Bearer {creds.token}"}
    started = time.perf_counter()
    pending = [c for c in cameras if not c.silent]
    last = ""
    while pending:
        still: list[Camera] = []
        for cam in pending:
            body = {"camera_id": cam.camera_id, "sent_at": int(time.time() * 1000)}
            body["status"] = {"firmware": "sim-1.0", "temperature_c": 31}
            try:
                response = await client.post(url, json=body, headers=headers, timeout=10.0)
                last = f"{response.status_code} {response.text[:200]}"
                if response.status_code != 202:
                    still.append(cam)
            except httpx.HTTPError as exc:
                last = repr(exc)
                still.append(cam)
        pending = still
        if pending:
            if time.perf_counter() - started > timeout_s:
                raise SetupError(
                    f"the gateway at {gateway} does not take heartbeats for {len(pending)} "
                    f"camera(s) after {timeout_s:.0f} s (last answer: {last})"
                )
            await asyncio.sleep(0.5)
    return time.perf_counter() - started
