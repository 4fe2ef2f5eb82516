"""deploy/grafana/: the dashboards are well-formed, use the datasource variable, and every query
is valid PromQL (checked by promtool, from `make tools`; the tests fail without it). Which
metrics they use is checked against the processes in test_deploy_metrics.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
# What Grafana substitutes before a query reaches Prometheus.
GRAFANA_VARIABLES = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h"}
VARIABLE = re.compile(r"\$\{?(\w+)\}?")


def board(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def targets(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
    ]


def substitute(expr: str, variables: dict[str, str]) -> str:
    return VARIABLE.sub(lambda m: variables[m.group(1)], expr)


def variables_of(dashboard: dict[str, Any]) -> dict[str, str]:
    values = {v["name"]: ".*" for v in dashboard["templating"]["list"]}
    for v in dashboard["templating"]["list"]:
        if v["type"] == "constant":
            values[v["name"]] = v["query"]
    return {**values, **GRAFANA_VARIABLES}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_is_well_formed(path: Path) -> None:
    dashboard = board(path)
    assert dashboard["uid"] == path.stem
    assert dashboard["title"].startswith("ANPR / ")
    assert "anpr" in dashboard["tags"]
    assert dashboard.get("id") is None, "provisioned dashboards carry no database id"
    names = [v["name"] for v in dashboard["templating"]["list"]]
    assert names[0] == "datasource"
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    boxes = []
    for panel in panels(dashboard):
        pos = panel["gridPos"]
        assert pos["x"] >= 0
        assert pos["w"] > 0
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        boxes.append((panel["title"], pos))
        if panel["type"] not in {"row", "text"}:
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"], panel["title"]
    for (a, p), (b, q) in combinations(boxes, 2):
        apart = (
            p["x"] + p["w"] <= q["x"]
            or q["x"] + q["w"] <= p["x"]
            or p["y"] + p["h"] <= q["y"]
            or q["y"] + q["h"] <= p["y"]
        )
        assert apart, f"panels {a!r} and {b!r} overlap"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_queries_use_only_defined_variables(path: Path) -> None:
    dashboard = board(path)
    known = variables_of(dashboard)
    for title, expr in targets(dashboard):
        for name in VARIABLE.findall(expr):
            assert name in known, f"{title}: ${name} is not a variable of the dashboard"


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not on PATH: run `make tools`", pytrace=False)
    rules = []
    for path in DASHBOARDS:
        dashboard = board(path)
        known = variables_of(dashboard)
        for i, (_, expr) in enumerate(targets(dashboard)):
            record = f"grafana:{path.stem.replace('-', '_')}:q{i}"
            rules.append({"record": record, "expr": substitute(expr, known)})
    assert len(rules) > 40
    (tmp_path / "queries.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]})
    )
    result = subprocess.run(
        [promtool, "check", "rules", str(tmp_path / "queries.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_provisioning_matches_the_compose_mounts() -> None:
    (datasource,) = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    (provider,) = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "anpr.yml").read_text()
    )["providers"]
    compose = yaml.safe_load((ROOT / "deploy" / "compose" / "compose.yaml").read_text())
    mounts = dict(
        m.split(":")[:2] for m in compose["services"]["grafana"]["volumes"] if m.startswith(".")
    )
    assert mounts["../grafana/dashboards"] == provider["options"]["path"]
    assert mounts["../grafana/provisioning"] == "/etc/grafana/provisioning"
    assert "prometheus" in compose["services"]
