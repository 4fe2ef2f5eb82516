"""The OpenAPI documents of the API and the gateway equal the snapshots kept next to this test.

A refactoring (moving modules, thinning routes) must not change the HTTP contract, and the
generated document is the contract as clients see it: paths, parameters, models and component
names. A change that is meant (a new endpoint, a new field) updates the snapshot in the same
commit: `ANPR_WRITE_OPENAPI_SNAPSHOT=1 .venv/bin/pytest tests/unit/test_openapi_snapshot.py`,
then review the diff of `tests/unit/snapshots/` like any other change of the contract.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from anpr.bus.local import LocalBus
from anpr.settings import CommonSettings
from anpr.topics import Topics
from api.app import create_app as create_api
from api.settings import ApiSettings
from ingest.app import create_app as create_gateway
from ingest.settings import GatewaySettings

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _document(name: str, data_dir: Path) -> dict[str, Any]:
    bus = LocalBus(None, Topics.from_prefix("anpr.").specs(CommonSettings()))
    if name == "api":
        return create_api(ApiSettings(data_dir=data_dir), bus).openapi()
    return create_gateway(GatewaySettings(data_dir=data_dir), bus).openapi()


def _differences(path: str, kept: object, made: object) -> list[str]:
    """Where two JSON values differ, as paths (the first few are enough to find the change)."""
    if isinstance(kept, dict) and isinstance(made, dict):
        out: list[str] = []
        for key in sorted(set(kept) | set(made), key=str):
            if key not in made:
                out.append(f"{path}/{key}: removed")
            elif key not in kept:
                out.append(f"{path}/{key}: added")
            else:
                out.extend(_differences(f"{path}/{key}", kept[key], made[key]))
        if not out and list(kept) != list(made):
            out.append(f"{path}: same keys in another order")
        return out
    if isinstance(kept, list) and isinstance(made, list) and len(kept) == len(made):
        return [
            d
            for i, (a, b) in enumerate(zip(kept, made, strict=True))
            for d in _differences(f"{path}/{i}", a, b)
        ]
    return [] if kept == made else [f"{path}: {kept!r} != {made!r}"]


@pytest.mark.parametrize("name", ["api", "gateway"])
def test_openapi_equals_the_snapshot(name: str, tmp_path: Path) -> None:
    made = _document(name, tmp_path)
    snapshot = SNAPSHOTS / f"{name}.openapi.json"
    if os.environ.get("ANPR_WRITE_OPENAPI_SNAPSHOT") == "1":
        snapshot.write_text(json.dumps(made, indent=1) + "\n")
    kept = json.loads(snapshot.read_text())
    # JSON text, not dicts: the order of paths and properties is part of what clients see.
    assert json.dumps(made, indent=1) == json.dumps(kept, indent=1), (
        f"{name} OpenAPI differs from {snapshot.name} (if meant, see the module docstring): "
        + "; ".join(_differences("", kept, made)[:10])
    )


def test_a_changed_document_is_reported_by_path() -> None:
    kept = {"paths": {"/a": {"get": {"summary": "A"}}, "/b": {}}}
    made = {"paths": {"/a": {"get": {"summary": "B"}}, "/c": {}}}
    assert _differences("", kept, made) == [
        "/paths//a/get/summary: 'A' != 'B'",
        "/paths//b: removed",
        "/paths//c: added",
    ]


@pytest.mark.parametrize("name", ["api", "gateway"])
def test_every_json_answer_declares_its_model(name: str, tmp_path: Path) -> None:
    """A 2xx documented as `{"type": "string"}` makes generated clients expect a string where
    the route answers an object (FastAPI's fallback for a response class that is not its own
    JSONResponse)."""
    strings = [
        (method, path, status)
        for path, item in _document(name, tmp_path)["paths"].items()
        for method, operation in item.items()
        for status, answer in operation["responses"].items()
        if status.startswith("2")
        and answer.get("content", {}).get("application/json", {}).get("schema")
        == {"type": "string"}
    ]
    assert not strings, f"{name}: JSON answers documented as a string: {strings}"
