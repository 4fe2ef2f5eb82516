"""`anpr run` composes the read archive: a read pushed to the gateway is found by an
investigator's search on the API, in embedded mode (SQLite, in-process bus)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from anpr.clock import ms_to_rfc3339, now_ms
from tests.support.ports import free_port


def poll(check: Callable[[], Any], what: str, log: Path, timeout_s: float = 40) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            result = check()
        except httpx.HTTPError:
            result = None
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached:\n{log.read_text()[-3000:]}")


@pytest.mark.timeout(120)
def test_a_pushed_read_is_found_by_an_investigator(tmp_path: Path) -> None:
    names = ("ingest", "api", "matcher", "archive")
    ports = {name: free_port() for name in names}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    env["ANPR_DATA_DIR"] = str(tmp_path / "data")
    env.update({f"ANPR_{n.upper()}_PORT": str(p) for n, p in ports.items()})
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "anpr", "run"], env=env, stdout=out, stderr=out
        )
    api = f"http://127.0.0.1:{ports['api']}"
    gateway = f"http://127.0.0.1:{ports['ingest']}"
    try:
        for name in names:
            poll(
                lambda n=name: (
                    httpx.get(f"http://127.0.0.1:{ports[n]}/readyz", timeout=1).status_code == 200
                ),
                f"{name} ready",
                log,
            )
        token = re.search(r"Development admin token.*\n\s+(\S+)", log.read_text())
        assert token, log.read_text()
        admin = {"Authorization": f"Bearer {token.group(1)}"}
        integ = httpx.post(
            f"{api}/v1/integrators", json={"integrator_id": "i1", "name": "one"}, headers=admin
        )
        assert integ.status_code == 201, integ.text
        camera = {"camera_id": "cam-e2e", "integrator_id": "i1", "name": "gate", "zones": ["z"]}
        assert httpx.post(f"{api}/v1/cameras", json=camera, headers=admin).status_code == 201
        inv = httpx.post(
            f"{api}/v1/tokens", json={"role": "investigator", "name": "det. A"}, headers=admin
        )
        investigator = {"Authorization": f"Bearer {inv.json()['token']}"}
        integrator = {"Authorization": f"Bearer {integ.json()['token']}"}
        read = {
            "read_id": "e2e-read-1",
            "camera_id": "cam-e2e",
            "captured_at": ms_to_rfc3339(now_ms() - 5000),
            "plate": "7-XYZ-321",
            "confidence": 0.88,
        }
        poll(
            lambda: (
                httpx.post(f"{gateway}/v1/reads", json=read, headers=integrator).status_code == 202
            ),
            "the gateway to accept the read",
            log,
        )

        def found() -> list[dict[str, Any]]:
            response = httpx.get(
                f"{api}/v1/reads",
                params={"plate": "7XYZ321", "reason": "e2e case 1"},
                headers=investigator,
            )
            assert response.status_code == 200, response.text
            items: list[dict[str, Any]] = response.json()["items"]
            return items

        (sighting,) = poll(found, "the read in the archive", log)
        assert sighting["read_id"] == "e2e-read-1"
        assert sighting["camera_id"] == "cam-e2e"
        assert sighting["plate"] == "7-XYZ-321"
        audit = httpx.get(f"{api}/v1/audit", headers=admin).json()["items"]
        assert any(e["action"] == "reads.search" and e["reason"] == "e2e case 1" for e in audit)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode in (0, -15), log.read_text()
