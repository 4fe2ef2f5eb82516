"""deploy/prometheus/: the scrape configurations and alert rules pass promtool, and every alert
has a runbook, a summary and unit tests that see it both fire and stay quiet.

promtool comes from Debian's `prometheus` package (`make tools`, which `make test` runs first).
Without it these tests FAIL: they are never skipped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy" / "prometheus"
RULES = sorted((PROM / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROM / "tests").glob("*.test.yml"))
RUNBOOK = "https://github.com/anpr-hitstream/anpr/blob/main/docs/operations.md#"
JOBS = {"anpr-gateway", "anpr-matcher", "anpr-api", "anpr-notify", "anpr-archive"}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not on PATH: run `make tools` (deploy/prometheus/ensure-promtool.sh "
            "installs Debian's prometheus package)",
            pytrace=False,
        )
    return path


def run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"{result.args}:\n{result.stdout}\n{result.stderr}"


def alerts() -> Iterator[dict[str, Any]]:
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    yield rule


def test_the_files_exist() -> None:
    assert RULES, "no rule files in deploy/prometheus/rules/"
    assert RULE_TESTS, "no rule tests in deploy/prometheus/tests/"


def test_compose_config_is_valid(promtool: str) -> None:
    assert_ok(run(promtool, "check", "config", PROM / "prometheus.yml"))


def test_kubernetes_config_is_valid_apart_from_discovery(promtool: str, tmp_path: Path) -> None:
    """Debian's Prometheus is built without Kubernetes discovery, so the discovery block is
    swapped for an empty static one; relabelling, rule files and the rest are still checked."""
    config = yaml.safe_load((PROM / "prometheus.k8s.yml").read_text())
    for job in config["scrape_configs"]:
        if "kubernetes_sd_configs" in job:
            assert job["kubernetes_sd_configs"][0]["role"] == "pod"
            del job["kubernetes_sd_configs"]
            job["static_configs"] = [{"targets": []}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    shutil.copytree(PROM / "rules", tmp_path / "rules")
    assert_ok(run(promtool, "check", "config", tmp_path / "prometheus.yml"))


def test_both_configs_scrape_the_same_jobs() -> None:
    compose = yaml.safe_load((PROM / "prometheus.yml").read_text())
    assert {j["job_name"] for j in compose["scrape_configs"]} >= JOBS
    k8s = yaml.safe_load((PROM / "prometheus.k8s.yml").read_text())
    relabels = [r for j in k8s["scrape_configs"] for r in j.get("relabel_configs", [])]
    job_rule = next(r for r in relabels if r.get("target_label") == "job")
    assert job_rule["replacement"] == "anpr-$1"
    component_keep = next(
        r
        for r in relabels
        if r.get("action") == "keep"
        and r["source_labels"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_component"]
    )
    assert {f"anpr-{c}" for c in component_keep["regex"].split("|")} == JOBS


def test_rules_are_valid(promtool: str) -> None:
    assert_ok(run(promtool, "check", "rules", *RULES))


def test_rule_unit_tests_pass(promtool: str) -> None:
    assert_ok(run(promtool, "test", "rules", *RULE_TESTS))


@pytest.mark.parametrize("rule", list(alerts()), ids=lambda r: r["alert"])
def test_every_alert_is_documented(rule: dict[str, Any]) -> None:
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    assert annotations["description"].strip()
    assert annotations["runbook_url"].startswith(RUNBOOK)
    anchor = annotations["runbook_url"].removeprefix(RUNBOOK)
    assert anchor and anchor == anchor.lower() and " " not in anchor
    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert rule["labels"]["component"]


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        spec = yaml.safe_load(path.read_text())
        for case in spec["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert names - firing == set(), "alerts never seen firing in deploy/prometheus/tests/"
    assert names - quiet == set(), "alerts never seen staying quiet in deploy/prometheus/tests/"
    assert (firing | quiet) - names == set(), "tests of alerts that do not exist"


def test_every_runbook_link_has_its_anchor_in_the_operations_doc() -> None:
    root = Path(__file__).resolve().parents[2]
    rules = (root / "deploy/prometheus/rules/anpr.rules.yml").read_text()
    anchors = set(re.findall(r"operations\.md#([a-z0-9-]+)", rules))
    doc = (root / "docs/operations.md").read_text()
    assert anchors
    missing = [a for a in sorted(anchors) if f'<a id="{a}"></a>' not in doc]
    assert not missing, f"runbook anchors missing from docs/operations.md: {missing}"
