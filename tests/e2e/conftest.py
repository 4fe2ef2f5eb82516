"""End-to-end fixtures: the real broker (shared with the integration tests) and the three
processes started as a deployment would start them, `python -m anpr ingest|matcher|api`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port

ADMIN = "e2e-admin-" + "k" * 40


@dataclass
class Deployment:
    gateway: str
    api: str
    matcher: str
    data_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name} ---\n{p.read_text()[-3000:]}" for p in self.data_dir.glob("*.log")
        )


def start(command: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "anpr", command], env=env, stdout=out, stderr=out
        )


def wait_ready(
    url: str, proc: subprocess.Popen[bytes], deployment: Deployment, timeout_s: float = 60
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{url} exited early:\n{deployment.logs()}", pytrace=False)
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} not ready within {timeout_s} s:\n{deployment.logs()}", pytrace=False)


@pytest.fixture
def deployment(kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> Iterator[Deployment]:
    ports = {
        "ingest": free_port(),
        "api": free_port(),
        "matcher": free_port(),
        "archive": free_port(),
    }
    env = {
        **os.environ,
        "ANPR_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "ANPR_TOPIC_PREFIX": topic_prefix,
        "ANPR_ADMIN_TOKEN": ADMIN,
        "ANPR_DATA_DIR": str(tmp_path),
        "ANPR_INGEST_PORT": str(ports["ingest"]),
        "ANPR_API_PORT": str(ports["api"]),
        "ANPR_MATCHER_PORT": str(ports["matcher"]),
        "ANPR_ARCHIVE_PORT": str(ports["archive"]),
        "ANPR_TOPIC_PARTITIONS": "2",
        "ANPR_MATCHER_STATUS_INTERVAL_S": "1",
    }
    dep = Deployment(
        gateway=f"http://127.0.0.1:{ports['ingest']}",
        api=f"http://127.0.0.1:{ports['api']}",
        matcher=f"http://127.0.0.1:{ports['matcher']}",
        data_dir=tmp_path,
    )
    try:
        for command, url in (("api", dep.api), ("ingest", dep.gateway), ("matcher", dep.matcher)):
            proc = start(command, env, tmp_path / f"{command}.log")
            dep.processes.append(proc)
            wait_ready(url, proc, dep)
        yield dep
    finally:
        for proc in dep.processes:
            proc.terminate()
        for proc in dep.processes:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
