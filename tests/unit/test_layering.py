"""The layering contracts `make lint` checks with import-linter (pyproject.toml
`[tool.importlinter]`): they hold, and they cover every package, so a package added to the wheel
cannot sit outside them unnoticed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.packages import NOT_SHIPPED, ROOT, declared_packages, pyproject

KERNEL = "anpr"
COMPOSITION_ROOT = "anpr_cli"
SIMULATOR = "simulator"


def importlinter() -> dict[str, Any]:
    config: dict[str, Any] = pyproject()["tool"]["importlinter"]
    return config


def contract(kind: str, *, source: str | None = None) -> dict[str, Any]:
    (found,) = [
        c
        for c in importlinter()["contracts"]
        if c["type"] == kind and (source is None or c.get("source_modules") == [source])
    ]
    return found


def services() -> set[str]:
    return declared_packages() - {KERNEL, COMPOSITION_ROOT, SIMULATOR}


def test_the_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(
        [str(lint_imports), "--no-logo", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_graph_holds_every_package_shipped_or_not() -> None:
    assert set(importlinter()["root_packages"]) == declared_packages() | NOT_SHIPPED


def test_every_service_is_independent_of_the_others() -> None:
    assert services() == {"ingest", "matcher", "api", "notify"}
    assert set(contract("independence")["modules"]) == services()


def test_the_kernel_may_import_no_other_package() -> None:
    kernel = contract("forbidden", source=KERNEL)
    assert set(kernel["forbidden_modules"]) == (declared_packages() | NOT_SHIPPED) - {KERNEL}
    assert kernel["ignore_imports"] == [f"{KERNEL}.__main__ -> {COMPOSITION_ROOT}"]


def test_no_shipped_package_may_import_the_benchmarks_or_the_tests() -> None:
    (shipped,) = [
        c
        for c in importlinter()["contracts"]
        if c["type"] == "forbidden" and set(c["forbidden_modules"]) == NOT_SHIPPED
    ]
    assert set(shipped["source_modules"]) == declared_packages()
