"""docs/operations.md names every metric the five processes export, and each row of its metric
tables gives the type and the label names the code registers.

The metrics are read from the registries of the apps themselves (no network, nothing started),
so a metric added without its row, or a label renamed, fails here rather than in a dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

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

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
ROW = re.compile(r"^\| `(anpr_[a-z0-9_]+)` \| (\w+) \|([^|]*)\|", re.M)


def _families(registry: CollectorRegistry) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """(name as exposed, type, label names) of each family, those without a series yet too."""
    for collector in list(
        registry._collector_to_names
    ):  # prometheus_client has no public list of collectors
        for family in collector.collect():
            labels = getattr(collector, "_labelnames", None)
            if labels is None:
                labels = getattr(family, "_labelnames", ())
            name = family.name + ("_total" if family.type == "counter" else "")
            yield name, family.type, tuple(labels)


@pytest.fixture(scope="module")
def exported() -> dict[str, tuple[str, tuple[str, ...]]]:
    bus = LocalBus(None, Topics.from_prefix("anpr.").specs(CommonSettings()))
    apps: list[Any] = [
        create_api(ApiSettings(), bus),
        create_gateway(GatewaySettings(), bus),
        create_matcher(MatcherSettings(), bus),
        create_notify(NotifySettings(), bus),
        create_archive(ArchiveSettings(), bus),
    ]
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for app in apps:
        for name, kind, labels in _families(app.state.service.runtime.registry):
            if name.startswith("anpr_"):
                found[name] = (kind, labels)
    assert len(found) > 60, sorted(found)
    return found


def test_every_exported_metric_is_in_the_operations_doc(
    exported: dict[str, tuple[str, tuple[str, ...]]],
) -> None:
    named = set(re.findall(r"`(anpr_[a-z0-9_]+)", DOC.read_text()))
    missing = sorted(set(exported) - named)
    assert not missing, f"metrics exported but not in docs/operations.md: {missing}"


def test_every_metric_row_has_the_type_and_labels_of_the_code(
    exported: dict[str, tuple[str, tuple[str, ...]]],
) -> None:
    wrong = []
    rows = ROW.findall(DOC.read_text())
    assert len(rows) > 60
    for name, kind, labels_cell in rows:
        # Label names are the backticked words outside parentheses (values are inside).
        labels = re.findall(r"`([a-z_]+)`", re.sub(r"\([^)]*\)", "", labels_cell))
        if name not in exported:
            wrong.append(f"{name}: not exported by any process")
            continue
        code_kind, code_labels = exported[name]
        if kind != code_kind or sorted(labels) != sorted(code_labels):
            wrong.append(f"{name}: doc {kind} {labels}, code {code_kind} {list(code_labels)}")
    assert not wrong, "\n".join(wrong)
