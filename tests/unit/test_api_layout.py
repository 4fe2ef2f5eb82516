"""The API's layout holds (docs/architecture.md, "Inside the API and the gateway"): routers and
models live in feature folders, and only the shared modules stay at the top of `api/`.

A new top-level module is a decision (is it shared by every feature?), so it is named here."""

from __future__ import annotations

import ast
from pathlib import Path

import api

ROOT = Path(api.__file__).parent
SHARED = {
    "__init__",
    "app",
    "changes",
    "deps",
    "errors",
    "fields",
    "guard",
    "metrics",
    "query",
    "registry_writes",
    "responses",
    "service",
    "settings",
}


def _defines_router(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "APIRouter"
        for node in ast.walk(tree)
    )


def test_only_shared_modules_stay_at_the_top() -> None:
    top = {path.stem for path in ROOT.glob("*.py")}
    assert top == SHARED, f"new: {sorted(top - SHARED)}, gone: {sorted(SHARED - top)}"
    assert not (ROOT / "schemas").exists(), "models live in their feature's schemas.py"


def test_every_router_is_in_a_feature_folder() -> None:
    routers = [p.relative_to(ROOT) for p in ROOT.rglob("*.py") if _defines_router(p)]
    assert routers, "no router found: the check itself is broken"
    for path in routers:
        assert len(path.parts) == 2, f"api/{path} is not in a feature folder"
