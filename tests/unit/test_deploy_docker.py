"""The Dockerfile and deploy/compose/: no Docker engine runs the tests, so these check the files
against what the code and the other deploy files expect (ports, commands, settings, scrape
targets, mounts). `docker compose -f deploy/compose/compose.yaml config` validates the compose
file where the compose plugin is installed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from api.archive.settings import ArchiveSettings
from api.settings import ApiSettings
from ingest.settings import GatewaySettings
from matcher.settings import MatcherSettings
from tests.support.packages import NOT_SHIPPED, declared_packages, pyproject

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "deploy" / "compose"
ROLES = {"ingest": 8080, "matcher": 9102, "api": 8000}
JOBS = {"ingest": "anpr-gateway", "matcher": "anpr-matcher", "api": "anpr-api"}


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) per instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, args = line.partition(" ")
            out.append((instruction.upper(), args.strip()))
    return out


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())
    return data


def anpr_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("command", [None])[0] in ROLES
    }


def test_dockerfile_is_a_slim_multi_stage_non_root_image() -> None:
    instructions = dockerfile()
    froms = [args for op, args in instructions if op == "FROM"]
    assert len(froms) == 2
    assert froms[0].endswith(" AS build")
    base = next(args for op, args in instructions if op == "ARG" and "PYTHON_IMAGE" in args)
    assert base.startswith("PYTHON_IMAGE=python:3.11-slim")
    (user,) = [args for op, args in instructions if op == "USER"]
    assert user.split(":")[0] not in {"0", "root"}
    (expose,) = [args for op, args in instructions if op == "EXPOSE"]
    assert set(expose.split()) == {"8080", "8000", "9102", "9103", "9104"}
    assert ("ENTRYPOINT", '["anpr"]') in instructions
    assert not any(op == "HEALTHCHECK" for op, _ in instructions)
    env = " ".join(args for op, args in instructions if op == "ENV")
    assert "ANPR_HOST=0.0.0.0" in env


def test_the_image_ships_exactly_the_packages_pyproject_declares() -> None:
    packages = declared_packages()
    # The build stage copies each package and the two files the wheel is built from, no more.
    copies = [args.split() for op, args in dockerfile() if op == "COPY" and "--from" not in args]
    sources = {source for *from_, _dest in copies for source in from_}
    files = {"pyproject.toml", pyproject()["project"]["readme"]}
    assert sources == packages | files
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*")] == "*"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert allowed == packages | files


def test_the_entry_point_and_the_simulator_are_shipped_and_benchmarks_are_not() -> None:
    """`anpr` and `anpr simulate` run from the image's package set; the benchmark harness and
    the tests stay in the checkout (import-linter checks that nothing shipped imports them)."""
    packages = declared_packages()
    (target,) = pyproject()["project"]["scripts"].values()
    assert target.partition(".")[0].partition(":")[0] in packages
    assert "simulator" in packages
    assert not packages & NOT_SHIPPED


def test_compose_runs_every_role_against_the_compose_kafka() -> None:
    services = compose()["services"]
    assert services["kafka"]["image"] == "apache/kafka:4.1.1"
    assert "broker,controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    roles = [s["command"][0] for s in anpr_services().values()]
    assert sorted(roles) == ["api", "api", "ingest", "ingest", "matcher", "matcher"]
    known = {
        f"ANPR_{name.upper()}"
        for cls in (GatewaySettings, MatcherSettings, ApiSettings)
        for name in cls.model_fields
    }
    for name, service in anpr_services().items():
        env = service["environment"]
        assert set(env) <= known, (name, set(env) - known)
        assert env["ANPR_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["ANPR_HOST"] == "0.0.0.0"  # noqa: S104 - containers listen on every interface
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy"
        if service["command"] == ["api"]:
            assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert f":{ROLES[service['command'][0]]}/readyz" in " ".join(service["healthcheck"]["test"])


def test_matchers_share_a_group_with_distinct_ids() -> None:
    matchers = [s["environment"] for s in anpr_services().values() if s["command"] == ["matcher"]]
    assert len(matchers) == 2
    assert len({m["ANPR_MATCHER_GROUP"] for m in matchers}) == 1
    assert len({m["ANPR_MATCHER_ID"] for m in matchers}) == 2


def test_prometheus_scrapes_every_compose_process() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: {t for sc in job["static_configs"] for t in sc["targets"]}
        for job in config["scrape_configs"]
    }
    expected: dict[str, set[str]] = {}
    for name, service in anpr_services().items():
        role = service["command"][0]
        expected.setdefault(JOBS[role], set()).add(f"{name}:{ROLES[role]}")
    assert {job: targets[job] for job in expected} == expected


def test_nginx_balances_over_the_gateways() -> None:
    conf = (COMPOSE_DIR / "nginx.conf").read_text()
    servers = set(re.findall(r"^\s*server\s+([\w.-]+:\d+)", conf, re.M))
    gateways = {f"{n}:8080" for n, s in anpr_services().items() if s["command"] == ["ingest"]}
    assert servers == gateways
    lb = compose()["services"]["gateway-lb"]
    assert lb["ports"] == ["8080:8080"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in lb["volumes"]


def test_mounted_files_exist() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE_DIR / source).exists(), (name, source)


def test_the_api_replicas_and_the_archive_share_the_compose_postgres() -> None:
    services = compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    users = [s for s in services.values() if s.get("command") in (["api"], ["archive"])]
    assert sorted(s["command"][0] for s in users) == ["api", "api", "archive"]
    urls = {s["environment"]["ANPR_DATABASE_URL"] for s in users}
    assert len(urls) == 1
    (url,) = urls
    assert url.startswith("postgresql://anpr_app:") and url.endswith("@postgres:5432/anpr")
    known = {f"ANPR_{name.upper()}" for name in ArchiveSettings.model_fields}
    archive = services["archive"]
    assert set(archive["environment"]) <= known
    assert ":9104/readyz" in " ".join(archive["healthcheck"]["test"])
