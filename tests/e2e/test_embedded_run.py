"""The README's run command in its embedded mode: one process, no Kafka, both ports up, and the
development admin token it prints works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port


@pytest.mark.timeout(90)
def test_anpr_run_serves_gateway_and_api_without_kafka(tmp_path: Path) -> None:
    ports = {
        "ingest": free_port(),
        "api": free_port(),
        "matcher": free_port(),
        "archive": free_port(),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    env.update(
        {
            "ANPR_DATA_DIR": str(tmp_path / "data"),
            "ANPR_INGEST_PORT": str(ports["ingest"]),
            "ANPR_API_PORT": str(ports["api"]),
            "ANPR_MATCHER_PORT": str(ports["matcher"]),
            "ANPR_NOTIFY_PORT": str(free_port()),
            "ANPR_ARCHIVE_PORT": str(ports["archive"]),
        }
    )
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "anpr", "run"], env=env, stdout=out, stderr=out
        )
    try:
        urls = [f"http://127.0.0.1:{ports[p]}/readyz" for p in ("ingest", "api")]
        deadline = time.monotonic() + 60
        ready: set[str] = set()
        while time.monotonic() < deadline and len(ready) < len(urls):
            assert proc.poll() is None, log.read_text()
            for url in urls:
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        ready.add(url)
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        assert len(ready) == len(urls), log.read_text()
        match = re.search(r"Development admin token.*\n\s+(\S+)", log.read_text())
        assert match, log.read_text()
        cameras = httpx.get(
            f"http://127.0.0.1:{ports['api']}/v1/cameras",
            headers={"Authorization": f"Bearer {match.group(1)}"},
        )
        assert cameras.status_code == 200
        assert (tmp_path / "data" / "bus.sqlite3").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode in (0, -15), log.read_text()
