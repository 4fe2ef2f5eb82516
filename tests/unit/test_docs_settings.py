"""docs/configuration.md and the settings classes agree: every setting has a row with the
default the code has and, when the code caps it, that cap; every `ANPR_*` name the docs mention
is a setting or a variable something in the repository reads.

A cap the docs leave out is found by the operator as `invalid settings: ...` and exit status 2
at start-up, on the day they raise it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from api.archive.settings import ArchiveSettings
from api.settings import ApiSettings
from ingest.settings import GatewaySettings
from matcher.settings import MatcherSettings
from notify.settings import NotifySettings

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
CLASSES: tuple[type[BaseSettings], ...] = (
    GatewaySettings,
    MatcherSettings,
    ApiSettings,
    NotifySettings,
    ArchiveSettings,
)
# Read by the CLI, the scripts, the benchmarks or the tests, not by a settings class.
NOT_SETTINGS = {
    "ANPR_API_URL": "anpr_cli/report.py",
    "ANPR_TOKEN": "anpr_cli/report.py",
    "ANPR_KAFKA_CACHE": "deploy/kafka/kafka.sh",
    "ANPR_TEST_PG_PORT": "tests/support/postgres.py",
    "ANPR_TEST_KAFKA_PORT": "tests/support/kafka.py",
    "ANPR_BENCH_PG_PORT": "benchmarks/archive_pg.py",
    "ANPR_FAULTS_BUDGET_MS": "tests/faults/test_overload.py",
    "ANPR_X": "benchmarks/run.py",  # `--service-env ANPR_X=V`
}
ROW = re.compile(r"^\| `(ANPR_[A-Z0-9_]+)` \| ([^|]*) \|", re.M)


def _fields() -> dict[str, list[FieldInfo]]:
    fields: dict[str, list[FieldInfo]] = {}
    for settings in CLASSES:
        for name, info in settings.model_fields.items():
            fields.setdefault(f"ANPR_{name.upper()}", []).append(info)
    return fields


def _bound(info: FieldInfo, kind: str) -> float | None:
    """The field's `le` or `ge`, if it has one."""
    for meta in info.metadata:
        if hasattr(meta, kind):
            return float(getattr(meta, kind))
    return None


def _rows() -> list[tuple[str, str]]:
    return ROW.findall(DOC.read_text())


def test_every_setting_has_a_row_and_every_row_a_setting() -> None:
    fields = _fields()
    rows = {env for env, _ in _rows()}
    assert sorted(set(fields) - rows) == [], "settings without a row in docs/configuration.md"
    assert sorted(rows - set(fields) - set(NOT_SETTINGS)) == [], "rows of no setting"


def test_every_anpr_name_in_the_docs_is_read_somewhere() -> None:
    fields = _fields()
    for env, path in NOT_SETTINGS.items():
        assert env in (ROOT / path).read_text(), f"{env} is no longer read by {path}"
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    named = {
        env for page in pages for env in re.findall(r"ANPR_[A-Z0-9_]*[A-Z0-9]", page.read_text())
    }
    assert sorted(named - set(fields) - set(NOT_SETTINGS)) == []


@pytest.mark.parametrize(("env", "cell"), _rows(), ids=lambda v: v if v.startswith("ANPR") else "")
def test_each_row_gives_the_default_and_the_bounds_of_the_code(env: str, cell: str) -> None:
    stated = re.match(r"\s*`([^`]*)`", cell)
    for info in _fields().get(env, []):
        default = info.default
        if info.default_factory is None and default is not None and stated:
            if isinstance(default, bool):
                assert stated.group(1) == str(default).lower(), (env, cell)
            elif isinstance(default, int | float):
                assert float(stated.group(1)) == default, (env, cell)
            else:
                assert stated.group(1) == str(default), (env, cell)
        le, ge = _bound(info, "le"), _bound(info, "ge")
        upper = re.search(r"(?:–|≤ )(\d+)", cell)
        if le is not None and not env.endswith("_PORT"):
            assert upper, f"{env}: the code caps it at {le:g}, the row does not say so: {cell}"
        if upper:
            assert float(upper.group(1)) == le, (env, cell, le)
        lower = re.search(r"(\d+)–|≥ (\d+)", cell)
        if lower:
            assert float(lower.group(1) or lower.group(2)) == ge, (env, cell, ge)
