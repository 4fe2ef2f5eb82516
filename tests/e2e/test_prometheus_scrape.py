"""A real Prometheus scrapes the three processes with deploy/prometheus/prometheus.yml (targets
replaced by this test's processes, 1 s scrape interval) and loads the alert rules: every
target is up, the rules evaluate without error, and reads pushed through the gateway show up
in `anpr_gateway_reads_accepted_total` (and are matched by the matcher).

The `prometheus` binary comes from Debian's package (`make tools`); without it this test fails.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from anpr.clock import ms_to_rfc3339, now_ms
from tests.e2e.conftest import ADMIN, Deployment, free_port

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy" / "prometheus"
READS = 3
DEADLINE_S = 45


def prometheus_config(deployment: Deployment) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml with this deployment's processes as targets."""
    config: dict[str, Any] = yaml.safe_load((PROM / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    targets = {
        "anpr-gateway": deployment.gateway,
        "anpr-matcher": deployment.matcher,
        "anpr-api": deployment.api,
    }
    jobs = []
    for job in config["scrape_configs"]:
        if job["job_name"] in targets:
            job["static_configs"] = [{"targets": [urlsplit(targets[job["job_name"]]).netloc]}]
            jobs.append(job)
    assert {j["job_name"] for j in jobs} == set(targets)
    config["scrape_configs"] = jobs
    return config


@pytest.fixture
def prometheus(deployment: Deployment, tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not on PATH: run `make tools`", pytrace=False)
    home = tmp_path / "prometheus"
    home.mkdir()
    shutil.copytree(PROM / "rules", home / "rules")
    (home / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config(deployment)))
    port = free_port()
    log = (home / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: httpx.get(f"{url}/-/ready", timeout=1).status_code == 200,
            "Prometheus ready",
            lambda: (home / "prometheus.log").read_text()[-3000:],
            proc=proc,
        )
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def wait_for(
    check: Callable[[], bool],
    what: str,
    details: Callable[[], str],
    *,
    proc: subprocess.Popen[bytes] | None = None,
    timeout_s: float = DEADLINE_S,
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"exited while waiting for {what}:\n{details()}", pytrace=False)
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}:\n{details()}", pytrace=False)


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5)
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def scalar(prometheus: str, promql: str) -> float:
    result = query(prometheus, promql)
    return float(result[0]["value"][1]) if result else 0.0


def register_camera(deployment: Deployment) -> tuple[str, str]:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    integ = httpx.post(
        f"{deployment.api}/v1/integrators",
        headers=admin,
        json={"integrator_id": "prom-int", "name": "Prometheus e2e"},
        timeout=10,
    )
    assert integ.status_code == 201, integ.text
    cam = httpx.post(
        f"{deployment.api}/v1/cameras",
        headers=admin,
        json={"camera_id": "prom-cam", "integrator_id": "prom-int", "name": "Scraped", "zones": []},
        timeout=10,
    )
    assert cam.status_code == 201, cam.text
    return "prom-int", integ.json()["token"]


@pytest.mark.timeout(150)
def test_prometheus_scrapes_all_processes_and_sees_reads(
    deployment: Deployment, prometheus: str
) -> None:
    started = time.monotonic()

    def details() -> str:
        targets = httpx.get(f"{prometheus}/api/v1/targets", timeout=5).text
        return f"targets: {targets[:2000]}\n{deployment.logs()}"

    def all_up() -> bool:
        active = httpx.get(f"{prometheus}/api/v1/targets", timeout=5).json()["data"]
        healths = {t["labels"]["job"]: t["health"] for t in active["activeTargets"]}
        return healths == {"anpr-gateway": "up", "anpr-matcher": "up", "anpr-api": "up"}

    wait_for(all_up, "every target up", details)
    assert scalar(prometheus, "sum(anpr_gateway_reads_accepted_total)") == 0

    integrator, token = register_camera(deployment)
    reads = [
        {
            "read_id": f"prom-{i}",
            "camera_id": "prom-cam",
            "plate": f"PROM{i:03d}",
            "captured_at": ms_to_rfc3339(now_ms() - 1000),
        }
        for i in range(READS)
    ]

    def pushed() -> bool:
        # The gateway learns of the new camera through the registry topic within moments.
        response = httpx.post(
            f"{deployment.gateway}/v1/reads", json=reads, auth=(integrator, token), timeout=10
        )
        if response.status_code == 202:
            assert response.json()["accepted"] == READS, response.text
            return True
        assert response.status_code in (401, 403, 422), response.text
        return False

    wait_for(pushed, "the gateway to accept reads for the new camera", details)

    wait_for(
        lambda: scalar(prometheus, "sum(anpr_gateway_reads_accepted_total)") >= READS,
        "anpr_gateway_reads_accepted_total to count the reads",
        details,
    )
    wait_for(
        lambda: scalar(prometheus, "sum(anpr_matcher_reads_matched_total)") >= READS,
        "anpr_matcher_reads_matched_total to count the reads",
        details,
    )
    # The API saw the camera report: it is no longer never_seen.
    wait_for(
        lambda: scalar(prometheus, 'sum(anpr_api_cameras{status=~"online|degraded"})') >= 1,
        "anpr_api_cameras to count the camera as reporting",
        details,
    )

    rules = httpx.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
    loaded = {rule["name"]: rule for group in rules for rule in group["rules"]}
    assert "AnprNoReads" in loaded and "AnprHotlistVersionMismatch" in loaded
    broken = {
        name: rule.get("lastError") for name, rule in loaded.items() if rule["health"] == "err"
    }
    assert broken == {}
    assert time.monotonic() - started < 60
