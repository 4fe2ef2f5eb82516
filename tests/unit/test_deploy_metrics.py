"""Every metric an alert rule or a Grafana dashboard uses is exported by the processes.

The three apps are built in-process on the in-memory bus, their lifespans run and `/metrics` is
scraped; the names they can export are collected from their `CollectorRegistry` objects, which
also list labelled metrics that have no sample yet. The names used are every `anpr_...`
identifier in the PromQL of deploy/prometheus/rules and deploy/grafana/dashboards. A renamed or
removed metric fails here, before a dashboard silently goes blank.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from anpr.bus.local import LocalBus
from anpr.settings import CommonSettings
from anpr.topics import Topics
from api.app import create_app as create_api
from api.archive.app import create_app as create_archive
from api.archive.settings import ArchiveSettings
from api.settings import ApiSettings
from ingest.app import create_app as create_gateway
from ingest.settings import GatewaySettings
from matcher.app import create_app as create_matcher
from matcher.settings import MatcherSettings
from notify.app import create_app as create_notify
from notify.settings import NotifySettings
from tests.support.wait import until

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
METRIC = re.compile(r"\banpr_[a-z0-9_]+")
TOKEN = "metrics-test-admin-token-0123456789abcdef"

# The sample names prometheus_client exposes for a metric family of each type.
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}


def rule_expressions() -> Iterator[tuple[str, str]]:
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                yield f"{path.name}: {rule.get('alert') or rule.get('record')}", rule["expr"]


def _strings(node: Any, keys: frozenset[str]) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and isinstance(value, str):
                yield value
            else:
                yield from _strings(value, keys)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, keys)


def dashboard_expressions() -> Iterator[tuple[str, str]]:
    """Panel targets (`expr`) and query variables (`query`, `definition`)."""
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for expr in _strings(board["panels"], frozenset({"expr"})):
            yield path.name, expr
        for expr in _strings(board["templating"], frozenset({"query", "definition"})):
            yield path.name, expr


def used_metrics() -> dict[str, set[str]]:
    """metric name -> where it is used."""
    used: dict[str, set[str]] = {}
    for where, expr in [*rule_expressions(), *dashboard_expressions()]:
        for name in METRIC.findall(expr):
            used.setdefault(name, set()).add(where)
    return used


def exposed_names(registry: CollectorRegistry) -> set[str]:
    return {
        family.name + suffix for family in registry.collect() for suffix in SUFFIXES[family.type]
    }


@pytest.fixture
async def apps(tmp_path: Path) -> AsyncIterator[dict[str, FastAPI]]:
    common: dict[str, Any] = {
        "kafka_bootstrap": None,
        "data_dir": tmp_path,
        "admin_token": SecretStr(TOKEN),
        "environment": "development",
    }
    bus = LocalBus(None, Topics.from_prefix("anpr.").specs(CommonSettings(**common)))
    await bus.start()
    built = {
        "gateway": create_gateway(GatewaySettings(**common), bus),
        "matcher": create_matcher(MatcherSettings(**common), bus),
        "api": create_api(ApiSettings(**common), bus),
        "notify": create_notify(NotifySettings(**common), bus),
        "archive": create_archive(ArchiveSettings(**common), bus),
    }
    try:
        async with AsyncExitStack() as stack:
            for app in built.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield built
    finally:
        await bus.stop()


async def test_every_metric_in_rules_and_dashboards_is_exported(apps: dict[str, FastAPI]) -> None:
    exported: set[str] = set()
    for name, app in apps.items():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/metrics")
        assert response.status_code == 200, name
        registry = app.state.service.metrics.registry
        assert isinstance(registry, CollectorRegistry), name
        names = exposed_names(registry)
        # What the endpoint printed is what the registry holds.
        families = {family.name for family in registry.collect()}
        printed = set(re.findall(r"^# TYPE (anpr_[a-z0-9_]+) ", response.text, re.M))
        assert printed, name
        assert {p.removesuffix("_total") for p in printed} <= families | names, name
        exported |= names
    used = used_metrics()
    assert len(used) >= 20, "the PromQL scan found suspiciously few metric names"
    missing = {name: sorted(where) for name, where in used.items() if name not in exported}
    assert missing == {}, f"used but not exported by any process: {missing}"


async def test_every_process_measures_its_event_loop(apps: dict[str, FastAPI]) -> None:
    """`AnprEventLoopBlocked` is rated over every process's lag histogram: notify and the
    archive exported the series but never timed their loop, so it stayed at 0 observations and
    the alert could not fire for them (0 / 0) while deliveries or archive writes waited."""
    timed: dict[str, bool] = {}

    def observed() -> bool:
        for name, app in apps.items():
            count = app.state.service.metrics.registry.get_sample_value(
                "anpr_event_loop_lag_seconds_count", {"process": app.state.service.runtime.process}
            )
            timed[name] = bool(count)
        return all(timed.values())

    with contextlib.suppress(AssertionError):
        await until(observed, timeout_s=3)
    assert timed == dict.fromkeys(apps, True)


def test_the_scan_sees_every_rule_and_dashboard() -> None:
    assert RULES, "no rule files"
    assert {p.stem for p in DASHBOARDS} == {
        "anpr-ingest",
        "anpr-matching",
        "anpr-cameras",
        "anpr-hotlists",
        "anpr-rollout",
    }
    alerts_without_metrics = [w for w, e in rule_expressions() if not METRIC.search(e)]
    assert alerts_without_metrics == [
        "anpr.rules.yml: AnprTargetDown",
        "anpr.rules.yml: AnprComponentAbsent",
        "anpr.rules.yml: AnprOptionalComponentGone",
        # Reads the recording rules anpr:cameras_live*:count, whose own expressions are scanned.
        "anpr.rules.yml: AnprManyCamerasDegraded",
    ]
