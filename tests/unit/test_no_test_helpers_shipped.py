"""No test helper ships in the packages: no module named for tests, none importing a test tool.

The packages are those `pyproject.toml` ships (`[tool.setuptools.packages.find] include`); test
factories and harnesses belong in `tests/support/`.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_TOOLS = {"pytest", "hypothesis", "atheris", "playwright", "tests"}
TEST_NAMES = {"testing", "tests", "conftest", "fixtures", "factories"}


def _shipped_modules() -> list[Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    roots = {p.rstrip("*") for p in patterns}
    return sorted(
        path for root in roots if (ROOT / root).is_dir() for path in (ROOT / root).rglob("*.py")
    )


MODULES = _shipped_modules()


def test_the_shipped_packages_are_found() -> None:
    assert {"anpr", "ingest", "matcher", "api", "notify"} <= {
        p.relative_to(ROOT).parts[0] for p in MODULES
    }


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_is_not_a_test_helper(path: Path) -> None:
    assert path.stem not in TEST_NAMES and not path.stem.startswith("test_")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.split(".")[0])
    assert not imported & TEST_TOOLS
