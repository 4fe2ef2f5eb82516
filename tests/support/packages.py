"""What `pyproject.toml` ships: the packaging tests (Dockerfile, import-linter contracts) compare
the other files against it."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = frozenset({"benchmarks", "tests"})


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def declared_packages() -> set[str]:
    """The top-level packages the wheel ships: the checkout's packages that `packages.find`'s
    includes match, as setuptools matches them (fnmatch on the dotted name)."""
    include: list[str] = pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    found = {
        d.name
        for d in ROOT.iterdir()
        if (d / "__init__.py").is_file() and any(fnmatchcase(d.name, p) for p in include)
    }
    assert found, include
    return found
