"""Issue 11, item 10: a newcomer's first hour, from outside.

`--help` of each service lists its settings; `anpr convert --help` lists the formats and
`anpr convert` exits 1 without a read; `make help` shows the configured ports; the start-up
banner is logged once and names the three ports; `anpr simulate --cleanup` leaves nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.embedded import ADMIN, embedded_run

ROOT = Path(__file__).parents[2]
VENDOR = ROOT / "tests" / "fixtures" / "vendor"


def anpr(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "anpr", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


@pytest.mark.parametrize(
    ("command", "settings"),
    [
        ("run", ["ANPR_INGEST_PORT", "ANPR_API_PORT", "ANPR_MATCHER_PORT", "ANPR_LOG_FORMAT"]),
        ("ingest", ["ANPR_INGEST_PORT", "ANPR_MAX_BODY_BYTES", "ANPR_RATE_LIMIT_PER_S"]),
        ("matcher", ["ANPR_MATCHER_PORT", "ANPR_MATCH_BUDGET_MS"]),
        ("api", ["ANPR_API_PORT", "ANPR_AUDIT_RETENTION_DAYS", "ANPR_API_MAX_BODY_BYTES"]),
    ],
)
def test_service_help_lists_settings_with_defaults(command: str, settings: list[str]) -> None:
    out = anpr(command, "--help").stdout
    for name in settings:
        assert re.search(rf"^\s+{name}\s+\S", out, re.MULTILINE), (name, out)
    assert re.search(r"ANPR_HOST\s+127\.0\.0\.1", out)


def test_convert_help_lists_formats_and_no_read_is_exit_1() -> None:
    out = anpr("convert", "--help").stdout
    for fmt in ("axis", "genetec", "hikvision", "openalpr", "platerecognizer"):
        assert fmt in out
    heartbeat = anpr("convert", "openalpr", str(VENDOR / "openalpr_agent_heartbeat.json"))
    assert heartbeat.stdout == ""
    assert heartbeat.returncode == 1
    read = anpr("convert", "openalpr", str(VENDOR / "openalpr_alprd_results_v1.json"))
    assert read.returncode == 0 and read.stdout.count("\n") == 1


def test_make_help_prints_the_configured_ports() -> None:
    out = subprocess.run(
        ["make", "-s", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ANPR_API_PORT": "9555", "ANPR_INGEST_PORT": "9556"},
        check=True,
    ).stdout
    run = next(line for line in out.splitlines() if line.strip().startswith("run "))
    assert ":9556" in run and ":9555" in run and ":9102" in run
    assert "$$" not in out and "{" not in out


@pytest.mark.timeout(240)
def test_banner_once_and_simulate_cleanup(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as run:
        output = run.output()
        banners = [line for line in output.splitlines() if "listening:" in line]
        assert len(banners) == 1, output
        for name in ("ingest", "api", "matcher"):
            assert f":{run.ports[name]}" in banners[0]
        assert "Uvicorn running on" not in output
        sim = anpr(
            "simulate",
            "--gateway", run.url("ingest"), "--api", run.url("api"), "--admin-token", ADMIN,
            "--cameras", "3", "--silent", "0", "--rate", "5", "--duration", "1",
            "--hotlist-entries", "100", "--drain", "0", "--no-watch", "--quiet", "--cleanup",
            ANPR_DATA_DIR=str(tmp_path / "data"),
        )  # fmt: skip
        assert sim.returncode in (0, 1), sim.stderr
        headers = {"Authorization": f"Bearer {ADMIN}"}
        api = run.url("api")
        assert httpx.get(f"{api}/v1/cameras", headers=headers).json()["items"] == []
        assert httpx.get(f"{api}/v1/hotlists", headers=headers).json()["items"] == []
        tokens = httpx.get(f"{api}/v1/tokens", headers=headers).json()["items"]
        assert [t for t in tokens if t["role"] == "integrator"] == []
